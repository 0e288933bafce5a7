"""Browser tests: the real server (`p2p serve`) in a subprocess, driven through Debian's Chromium.

Each test module gets its own server and instance folder (module scope): a fresh database, so the one-time
setup link printed at start is still unused, and modules cannot disturb each other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BrowserProblems
from .server import LiveServer

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright's own browser download is not available (nor needed) here."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
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


@pytest.fixture(scope="module")
def site(live_server, browser, browser_context_args, request):
    """The module's server with people and groups in it (see pagetypes.Site). A test module can set
    SITE_CONTEXT_ARGS, for example bypass_csp=True, which axe and the larger-text style need."""
    from .pagetypes import Site

    extra = getattr(request.module, "SITE_CONTEXT_ARGS", {})
    site = Site(live_server, browser, **browser_context_args, **extra)
    yield site
    site.close()


@pytest.fixture(scope="module")
def demo(live_server):
    """`p2p demo` on the module's server: a facilitator, participants, and the demo group's join code."""
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
