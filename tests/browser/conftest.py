"""Browser tests: the real server (`p2p serve`) in a subprocess, driven through Debian's Chromium.

Each test module gets its own server and instance folder (module scope): a fresh database, so the one-time
setup link printed at start is still unused, and modules cannot disturb each other. The one exception is the
`site` that test_accessibility.py and test_html_valid.py share (package scope, a server of its own): both check
every kind of page, so each page state is reached once, and the HTML axe saw is the HTML vnu checks. Those two
modules run one after the other, after every other browser test, so that site's pages (some poll the server)
never run beside another module's browser tests.

They are marked `page_checks`, and tests/run.sh runs them in order in one of the two xdist workers (see
pytest_xdist_make_scheduler in tests/conftest.py), beside the other tests. No browser test times anything: those
that wait for a live change on several screens wait a few polls (test_board.py's LIVE_MS).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BrowserProblems
from .server import LiveServer

HERE = Path(__file__).resolve().parent
# Debian's build of Chromium's headless shell, the lighter browser Playwright runs headless by default: the full
# `chromium` (with its own user-interface renderers per window) took a third more CPU and a quarter more time.
CHROMIUM = Path("/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


SHARED_SITE_MODULES = ("test_accessibility.py", "test_html_valid.py")   # in this order, after every other


def _shared_site_place(item) -> int:
    path = Path(item.path).resolve()
    if path.parent == HERE and path.name in SHARED_SITE_MODULES:
        return 1 + SHARED_SITE_MODULES.index(path.name)
    return 0


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    # Before the other hooks: the markers, for `-m browser` and `-m page_checks` (tests/conftest.py keeps the page
    # checks together in one xdist worker).
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if _shared_site_place(item):
                item.add_marker(pytest.mark.page_checks)
    yield
    # After them (pytest's own reordering by fixture included): the two modules that share `site`, last.
    items.sort(key=_shared_site_place)   # stable: the order within each part stays as it was


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright's own browser download is not available (nor needed) here."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium-headless-shell package")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("instance")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def base_url(live_server) -> str:
    return live_server.url


@pytest.fixture(scope="module")
def browser_context_args(base_url) -> dict:
    # pytest-playwright's own version is session-scoped and reads a session-wide base_url; ours follows the
    # module's server. Every context gets the server as base URL, so page.goto("/join") works.
    return {"base_url": base_url}


@pytest.fixture(scope="package")
def site(browser, tmp_path_factory):
    """A server of its own with people and groups in it (see pagetypes.Site), shared by test_accessibility.py and
    test_html_valid.py (see above); closed after the last browser test, so an xdist worker that goes on with
    tests without a browser has no pages polling beside them. Its contexts are made with bypass_csp=True, which axe's script and the
    larger-text style need; the HTML vnu checks is what the server sent, which the policy does not change (and
    for pages htmx changed, the DOM htmx made: the flows in test_flows.py check that nothing breaks the policy)."""
    from .pagetypes import Site

    server = LiveServer(tmp_path_factory.mktemp("site-instance")).start()
    site = Site(server, browser, base_url=server.url, bypass_csp=True)
    yield site
    site.close()
    server.stop()


@pytest.fixture(scope="module")
def demo(live_server):
    """`p2p demo --empty` on the module's server: a facilitator, participants, and the demo group's join code."""
    return live_server.demo()


@pytest.fixture
def join(demo, new_context, problems):
    """Join the demo group as a new participant, in a new browser context watched for problems (see
    people.join_demo_group); `join(viewport=PHONE, ...)` passes browser context options."""
    from .people import join_demo_group

    def join(**context_args):
        return join_demo_group(problems.watch(new_context(**context_args)).new_page(), demo)
    return join


@pytest.fixture
def problems():
    """Watch contexts with `problems.watch(context)`: any CSP violation or script error fails the test."""
    watcher = BrowserProblems()
    yield watcher
    assert not watcher.seen, "the browser reported problems:\n" + "\n".join(watcher.seen)
