"""Every kind of page passes axe with no violations, fits a 360 px phone, and still fits with twice the text.

axe runs with its default rule set (WCAG 2.x A and AA plus best practices). Its script is added to the page,
which the app's Content-Security-Policy would refuse: these contexts are made with bypass_csp=True, as is
the style that doubles the text size. The flows in test_flows.py run with the policy in force.

The site is shared with test_html_valid.py (see conftest.py): the first visit to each kind of page, here, keeps
its HTML for the Nu checker.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from .helpers import PHONE, double_the_text, overflowing
from .pagetypes import PAGE_IDS, PAGE_KINDS

AXE = Axe()


@pytest.mark.parametrize("kind", PAGE_KINDS, ids=PAGE_IDS)
def test_axe_finds_no_violations_and_it_fits_a_360px_phone_also_with_twice_the_text(site, kind):
    """One visit each: axe on the desktop page, then the same page state on a 360 px phone (the layout follows the
    viewport, as on a phone turned or a window narrowed), then with twice the text."""
    page, _ = site.visit(kind)
    results = AXE.run(page)
    assert results.violations_count == 0, f"{kind.id} ({page.url}):\n{results.generate_report()}"
    page.set_viewport_size(PHONE)
    assert not (problem := overflowing(page)), f"{kind.id} at 360 px: {problem}"
    double_the_text(page)
    assert not (problem := overflowing(page)), f"{kind.id} at 360 px with twice the text: {problem}"
