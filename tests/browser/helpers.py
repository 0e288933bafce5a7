"""What the browser tests do again and again: log in, measure width, enlarge text, watch for browser problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import BrowserContext, Locator, Page, expect

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# app.css sets the root size to 112.5 % of the browser's; doubling the text means 225 %.
DOUBLE_TEXT = "html { font-size: 225% !important; }"


def log_in(page: Page, name: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")


def tab_to(page: Page, locator: Locator, most: int = 80) -> None:
    """Press Tab until `locator` has focus (at most `most` times); it must show a focus ring when it does."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            assert focus_is_visible(locator), f"{locator} has focus but shows no focus ring"
            return
    raise AssertionError(f"{locator} was not reached with {most} presses of Tab")


def overflowing(page: Page) -> str:
    """'' when the page fits its viewport's width; otherwise how far it sticks out and the culprits."""
    return page.evaluate("""() => {
        const width = window.innerWidth, extra = document.documentElement.scrollWidth - width;
        if (extra <= 0) return "";
        const culprits = [...document.querySelectorAll("body *")]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .filter(el => !el.closest(".table-wrap"))
            .slice(0, 8)
            .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                       + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "")
                       + " (right edge " + Math.round(el.getBoundingClientRect().right) + " px)");
        return `${extra} px wider than the ${width} px viewport: ${culprits.join(", ")}`;
    }""")


def double_the_text(page: Page) -> None:
    """Twice the app's text size, as a person who enlarges text would. The app's CSP forbids inline styles,
    so this works only in a context made with bypass_csp=True; the check below makes sure it took effect."""
    before = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.add_style_tag(content=DOUBLE_TEXT)
    after = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after >= 2 * before - 0.5, f"the larger text did not apply ({before} px → {after} px)"


def heading(page: Page, name: str | re.Pattern, level: int | None = None):
    return page.get_by_role("heading", name=name, level=level) if level else page.get_by_role("heading", name=name)


def focus_is_visible(locator: Locator) -> bool:
    """The focused element draws the app's focus ring (an outline), so a keyboard user can see where they are."""
    return locator.evaluate("""el => el === document.activeElement && el.matches(":focus-visible")
        && getComputedStyle(el).outlineStyle !== "none" && parseFloat(getComputedStyle(el).outlineWidth) >= 2""")


class BrowserProblems:
    """Collects what the browser complains about: CSP violations, script errors, failed htmx requests."""

    def __init__(self):
        self.seen: list[str] = []
        self.tolerated: tuple[str, ...] = ()
        self.expected: list[str] = []   # what was let through by tolerating(): a test can check it happened

    @contextmanager
    def tolerating(self, *expected: str) -> Iterator[None]:
        """Console errors containing one of these strings are expected inside the block (htmx logs
        "htmx:sendError" and "htmx:afterRequest" for each request that finds no server, or no network)."""
        before = self.tolerated
        self.tolerated = (*before, *expected)
        try:
            yield
        finally:
            self.tolerated = before

    def watch(self, context: BrowserContext) -> BrowserContext:
        def on_console(message):
            # Expected answers in these tests (a 404 page, a 401 to an autosave after logging out, a refused
            # connection while the server is stopped): Chromium logs each as "Failed to load resource".
            if message.type != "error" or "Failed to load resource" in message.text:
                return
            if any(expected in message.text for expected in self.tolerated):
                self.expected.append(message.text)
            else:
                self.seen.append(f"console: {message.text}")
        context.on("console", on_console)
        context.on("weberror", lambda error: self.seen.append(f"script error: {error.error}"))
        return context
