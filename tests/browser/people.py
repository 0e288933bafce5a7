"""A participant of the demo group, as the workbook tests meet them: joined through the invite link, with the
recovery code they were shown once (and wrote down), and able to open session pages or log in on another device.

The `join` fixture in conftest.py makes one; each test that joins gets a new person, so tests share no answers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from .helpers import log_in
from .pagetypes import LIBRARY
from .server import PASSWORD, Demo

RECOVERY_CODE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$")   # four groups of four, as on the "keep safe" card
NAMES = (f"Participant {n}" for n in itertools.count(1))


@dataclass
class Participant:
    page: Page
    name: str
    group: str              # the demo group's address, like /groups/1
    recovery_code: str      # as shown on the card, like ABCD-EFGH-JKMN-PQRS

    def open(self, module: str, session: str, page: Page | None = None) -> Page:
        """Open a session page (in this person's page, or another page of theirs) and check it is the one."""
        page = page or self.page
        page.goto(f"{self.group}/modules/{module}/sessions/{session}")
        title = LIBRARY.programme("p2p").module(module).session(session).title
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        return page

    def log_in_elsewhere(self, context: BrowserContext) -> Page:
        """The same person on another device (another browser context)."""
        page = context.new_page()
        log_in(page, self.name, PASSWORD)
        return page


def join_demo_group(page: Page, demo: Demo, name: str | None = None) -> Participant:
    """Join the demo group as a new participant: the join link, a name and a password, and the group's board (or
    its page, while nobody has opened the board); then My workbook, which shows the recovery code first, once (read
    off the card, as a person writes it down: "I have written it down"); then the group's page."""
    name = name or next(NAMES)
    page.goto(f"/join/{demo.join_code}")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join the group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"^(Our code of behaviour|{re.escape(demo.group_name)})$"))
    group = urlsplit(page.url).path.removesuffix("/board")
    page.get_by_role("link", name="My workbook").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery code")
    code = page.get_by_text(RECOVERY_CODE)
    expect(code).to_be_visible()
    recovery_code = code.inner_text()
    page.get_by_role("button", name="I have written it down").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My workbook")
    page.goto(group)
    expect(page.get_by_role("heading", level=1)).to_have_text(demo.group_name)
    return Participant(page, name, group, recovery_code)
