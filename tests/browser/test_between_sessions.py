"""Between sessions, in two browsers: the facilitator records the date agreed to finish the reflection and the
follow-up conversation with its next step; the participant sees the same words on their home page. Then the
"Support" link, reached with the keyboard alone, on the login page and on a signed-in page. And what a host shows
with `p2p demo`: this module's demo group is the filled one (sample workbooks, a board in the respond phase, two
between-sessions records of its own), which the other tests here share without minding it.

These contexts run with the app's Content-Security-Policy in force; any policy violation or script error fails
the test.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from .helpers import PHONE, log_in, overflowing, tab_to

NEXT_STEP = "Come to the first evening of Module 1, and bring <b>the</b> workbook if you like."


@pytest.fixture(scope="module")
def demo(live_server):
    """`p2p demo` as a host runs it: the demo group with its sample work in it."""
    return live_server.demo(filled=True)


def h1(page: Page):
    return page.get_by_role("heading", level=1)


def long_date(day) -> str:
    return day.strftime("%-d %B %Y")


def test_the_facilitator_records_and_the_participant_sees_it_at_home(demo, join, new_context, problems):
    participant = join(viewport=PHONE, is_mobile=True, has_touch=True)
    staff = problems.watch(new_context()).new_page()
    log_in(staff, demo.facilitator.name, demo.facilitator.password)
    staff.get_by_role("link", name=demo.group_name).click()

    # Nothing recorded yet: the participant's home says nothing about it.
    participant.page.goto("/")
    expect(participant.page.get_by_role("heading", name="Between sessions")).to_have_count(0)

    members = staff.get_by_role("region", name=re.compile(r"^People in this group"))
    row = members.get_by_role("listitem").filter(has_text=participant.name)
    expect(row).to_contain_text("Nothing recorded between sessions yet")
    staff.get_by_role("link", name=f"Between sessions with {participant.name}").click()
    expect(h1(staff)).to_have_text(f"Between sessions with {participant.name}")
    expect(staff.get_by_text(f"{participant.name} sees what you record here, word for word")).to_be_visible()

    # A slip first: a conversation dated tomorrow. A calm message by the field; what was typed stays.
    today = datetime.now(ZoneInfo("Europe/London")).date()
    finish, talked = today + timedelta(days=21), today - timedelta(days=2)
    staff.get_by_label("Date agreed to finish the reflection (optional)").fill(finish.isoformat())
    staff.get_by_label("Date you talked (optional)").fill((today + timedelta(days=1)).isoformat())
    staff.get_by_label("Next step agreed (optional)").fill(NEXT_STEP)
    staff.get_by_role("button", name="Save", exact=True).click()
    talked_field = staff.get_by_label("Date you talked (optional)")
    expect(talked_field).to_have_attribute("aria-invalid", "true")
    expect(talked_field).to_have_accessible_description(re.compile("That date is still to come"))
    expect(staff.get_by_label("Next step agreed (optional)")).to_have_value(NEXT_STEP)
    expect(staff.get_by_label("Date agreed to finish the reflection (optional)")).to_have_value(finish.isoformat())

    talked_field.fill(talked.isoformat())
    expect(staff.get_by_label(f"Who talked with {participant.name}")).to_have_value(re.compile(r"^\d+$"))
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(staff.get_by_role("status")).to_contain_text(
        f"Saved. {participant.name} sees this on their home page and the group page.")
    preview = staff.get_by_role("region", name=f"What {participant.name} sees now")
    expect(preview).to_contain_text(f"You agreed to finish your reflection by {long_date(finish)}.")

    # The participant, on their phone, sees the same words at home and on the group page, HTML shown as text.
    for where in ("/", participant.group):
        page = participant.page
        page.goto(where)
        expect(page.get_by_text(f"You agreed to finish your reflection by {long_date(finish)}.")).to_be_visible()
        talked_line = page.get_by_role("listitem").filter(has_text=re.compile("^You talked with"))
        expect(talked_line).to_have_text(
            f"You talked with {demo.facilitator.name} on {long_date(talked)}. Next step: {NEXT_STEP}")
        expect(page.get_by_text(f"Recorded by {demo.facilitator.name} on")).to_be_visible()
        assert not (problem := overflowing(page)), f"{where} at 360 px: {problem}"

    # And the facilitator's list of people says it in one line.
    staff.get_by_role("link", name=demo.group_name).first.click()
    expect(row).to_contain_text(f"Reflection by {long_date(finish)} · talked on {long_date(talked)}")


def test_the_support_link_by_keyboard_signed_out_and_signed_in(demo, new_context, problems):
    page = problems.watch(new_context()).new_page()
    page.goto("/login")
    support = page.get_by_role("navigation", name="Main").get_by_role("link", name="Support")
    tab_to(page, support, most=30)
    page.keyboard.press("Enter")
    expect(h1(page)).to_have_text("Support")
    expect(page.get_by_text("Your facilitator.")).to_be_visible()
    expect(page.get_by_text("Only facilitators see this.")).to_have_count(0)

    log_in(page, demo.facilitator.name, demo.facilitator.password)
    page.get_by_role("link", name=demo.group_name).click()
    expect(h1(page)).to_have_text(demo.group_name)
    tab_to(page, support, most=30)
    page.keyboard.press("Enter")
    expect(h1(page)).to_have_text("Support")
    # A facilitator also reads how to put the host's own helplines here.
    expect(page.get_by_text("Only facilitators see this.")).to_be_visible()
    expect(page.get_by_role("heading", name="Putting your own support details here")).to_be_visible()


def test_a_demo_participant_finds_sample_answers_and_the_board_in_the_respond_phase(demo, new_context, problems):
    alex = demo.participants[0]
    page = problems.watch(new_context(viewport=PHONE, is_mobile=True, has_touch=True)).new_page()
    log_in(page, alex.name, alex.password)
    page.get_by_role("link", name=demo.group_name).click()
    expect(page.get_by_text("This is the demo group")).to_be_visible()
    expect(page.get_by_text(f"Recorded by {demo.facilitator.name} on")).to_be_visible()

    # Their workbook has answers in it, opened with their own key.
    page.goto(page.url + "/modules/preparing/sessions/personal-stocktake")
    expect(page.get_by_role("textbox", name="What have you discovered from completing this personal stocktake?")
           ).to_have_value(re.compile("it's a snapshot, not a score"))
    assert not (problem := overflowing(page)), f"the stocktake at 360 px: {problem}"

    # The code of behaviour: version 1 agreed, and the group responding again in a re-affirm round.
    page.go_back()
    page.get_by_role("link", name="Our code of behaviour").click()
    expect(page.get_by_role("heading", name=re.compile("^Now: "))).to_have_text("Now: Re-affirm our code")
    merged = page.locator("li.proposal").filter(has_text="Listen without interrupting, and let each person finish")
    expect(merged.get_by_text("Proposed by 2 people")).to_be_visible()
    mine = page.get_by_role("group", name="Your response to: What is shared in the room stays in the room")
    expect(mine.get_by_role("button", name="Still agree", exact=True)).to_have_attribute("aria-pressed", "true")
    assert not (problem := overflowing(page)), f"the board at 360 px: {problem}"
