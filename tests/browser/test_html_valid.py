"""Every kind of page is valid HTML by the Nu HTML checker (vnu), errors only.

The HTML checked is what the server sent (the document response), not the browser's re-serialised DOM, so
markup mistakes that a browser silently repairs are still caught. vnu refuses loopback URLs, so each page is
saved to a file, and all the files go to one `java -jar vnu.jar` run: each JVM start costs seconds.

The pages come from the site test_accessibility.py visits just before (see conftest.py): the HTML of each kind's
first visit there, so each page state is reached once for both checks. Run alone, this module visits them itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict

import pytest

from .pagetypes import PAGE_IDS, PAGE_KINDS
from .server import PROJECT_ROOT

VNU_JAR = PROJECT_ROOT / ".cache" / "vnu" / "vnu.jar"
# vnu --format gnu: "file:/tmp/…/07-login.html":12.5-12.40: error: Message.
VNU_LINE = re.compile(r'^"?file:(?P<path>[^"]+?)"?:(?P<line>\d+)\.(?P<column>\d+)(?:-[\d.]+)?: (?P<kind>[a-z ]+): (?P<message>.*)$')


@pytest.fixture(scope="module")
def vnu_errors(request, tmp_path_factory, browser_name) -> dict[str, list[str]]:
    """Visit every kind of page once, then check them all in one vnu run: page id -> its errors. (With
    browser_name, the tests have the same parameters as test_accessibility.py's, so the same `site` serves both.)"""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.skip(f"the Nu HTML checker needs java and {VNU_JAR.relative_to(PROJECT_ROOT)}; `make test` installs both")
    site = request.getfixturevalue("site")   # only now: no server and browser pages when the checker is missing
    folder = tmp_path_factory.mktemp("html")
    files, sources = {}, {}
    pages = site.html_of_every_kind()
    for number, kind in enumerate(PAGE_KINDS):
        html = pages[kind.id]
        path = folder / f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', kind.id)}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path)] = kind.id
        sources[kind.id] = html.splitlines()
    done = subprocess.run([java, "-jar", str(VNU_JAR), "--errors-only", "--format", "gnu", *files],
                          capture_output=True, text=True, timeout=300)
    errors: dict[str, list[str]] = defaultdict(list)
    for line in (done.stdout + done.stderr).splitlines():
        if not line.strip():
            continue
        match = VNU_LINE.match(line)
        if match is None or match["path"] not in files:
            errors["(vnu)"].append(line)
            continue
        page_id, number = files[match["path"]], int(match["line"])
        source = sources[page_id][number - 1].strip() if 0 < number <= len(sources[page_id]) else ""
        errors[page_id].append(f"line {number}: {match['kind']}: {match['message']}\n    {source[:200]}")
    if done.returncode not in (0, 1) or (done.returncode == 1 and not errors):
        errors["(vnu)"].append(f"vnu exited with {done.returncode}")
    return errors


def test_the_checker_ran_cleanly(vnu_errors):
    if problems := vnu_errors.get("(vnu)"):
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("page_id", PAGE_IDS)
def test_page_is_valid_html(vnu_errors, page_id):
    if errors := vnu_errors.get(page_id):
        pytest.fail(f"{page_id}: {len(errors)} error(s) from vnu:\n" + "\n".join(errors), pytrace=False)
