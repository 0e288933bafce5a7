"""Running a session in the browser: a facilitator and two participants, each in their own browser context.

The facilitator chooses the group's session on the run page (with the Mini Knowledge, which the participants never
see) and opens a discussion board there with a prompt of their own: a participant finds it on the group page and
adds a thought from their phone, which arrives live on the facilitator's screen; closed, it says so on the phone.
Then the facilitator moves the group to the boundaries session of the Peer Support Training course. One participant adds an
anonymous thought to a scenario's discussion board; the other, typing all the while, sees it arrive live without a
name and keeps their words and focus, and the next one added at the end of the list, once on every screen. A timer
started by the facilitator counts down on both participants' screens and on the projector, and says "Time is up".
Every page is watched for CSP violations and script errors.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from .helpers import log_in
from .pagetypes import BOUNDARIES_SESSION, LIBRARY

MINI_KNOWLEDGE = "This Mini Knowledge provides helpful underpinning knowledge"
SESSION_1 = LIBRARY.programme("p2p").module("module-1").session("session-1").title
THOUGHT = "It can feel like friendship, and that is where it blurs"
SECOND_THOUGHT = "Saying what the role is, kindly, at the start"
BOARD_PROMPT = "What would help you feel safe to speak here?"
BOARD_THOUGHT = "Knowing it stays in the room"


def test_a_scenario_discussion_and_a_timer_in_the_room(demo, new_context, problems):
    def person(account):
        page = problems.watch(new_context(viewport={"width": 360, "height": 800})).new_page()
        log_in(page, account.name, account.password)
        return page

    alex_account, sam_account = demo.participants[:2]
    fran, alex, sam = person(demo.facilitator), person(alex_account), person(sam_account)
    fran.set_viewport_size({"width": 1280, "height": 800})
    fran.get_by_role("link", name=demo.group_name).click()
    group = urlsplit(fran.url).path

    # Module 1, Session 1: the run page has the board and the Mini Knowledge; participants see only "Now:".
    fran.get_by_role("link", name="Run a session").click()
    expect(fran.get_by_role("heading", level=1)).to_have_text("Run a session")
    fran.get_by_role("button", name=re.compile("^Start with the first session")).click()
    fran.get_by_label("Or choose a session").select_option(label=SESSION_1)
    fran.get_by_role("button", name="Make this the current session").click()
    expect(fran.get_by_role("heading", name=f"Now: {SESSION_1}")).to_be_visible()
    expect(fran.get_by_text(MINI_KNOWLEDGE)).to_be_visible()
    expect(fran.get_by_role("link", name="Open the code of behaviour board")).to_be_visible()
    for page in (alex, sam):
        page.goto("/")
        page.get_by_role("link", name=SESSION_1).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(SESSION_1)
        expect(page.get_by_text("This is the session your group is in now.")).to_be_visible()
        assert MINI_KNOWLEDGE not in page.evaluate("document.body.innerText")
        page.goto(group + "/run")
        expect(page.get_by_role("heading", level=1)).to_have_text("This page isn't here")

    # A discussion board of the facilitator's own in Session 1: Alex adds a thought from the phone, and it arrives
    # on the facilitator's screen; closing it tells Alex's screen too.
    fran.get_by_label("A question or prompt for the group").fill(BOARD_PROMPT)
    fran.get_by_role("button", name="Open the board").click()
    expect(fran.get_by_role("heading", level=1)).to_have_text(BOARD_PROMPT)
    alex.goto(group)
    alex.get_by_role("link", name=BOARD_PROMPT).click()
    expect(alex.get_by_role("heading", level=1)).to_have_text(BOARD_PROMPT)
    alex.get_by_label("Your thought", exact=True).fill(BOARD_THOUGHT)
    alex.get_by_role("button", name="Add my thought").click()
    expect(alex.get_by_role("status").filter(has_text="Added. Everyone in the group can see it now.")).to_be_visible()
    expect(fran.get_by_text(BOARD_THOUGHT, exact=True)).to_be_visible(timeout=8000)
    fran.get_by_role("button", name="Close the board").click()
    expect(fran.get_by_text("The board is closed. Everyone can still read it.")).to_be_visible()
    expect(alex.get_by_text("This board is closed: nothing more can be added.", exact=False)).to_be_visible(
        timeout=8000)
    expect(alex.get_by_text(BOARD_THOUGHT, exact=True)).to_be_visible()
    alex.goto(group)   # no longer among the boards open now
    expect(alex.get_by_role("heading", level=1)).to_have_text(demo.group_name)
    expect(alex.get_by_role("link", name=BOARD_PROMPT)).to_have_count(0)

    # Later in the course: the boundaries session, with a discussion board per scenario.
    fran.goto(group + "/edit")
    fran.get_by_role("radio", name=re.compile("^Peer Support Training")).check()
    fran.get_by_role("button", name="Save").click()
    fran.get_by_role("link", name="Run a session").click()
    fran.get_by_label("Or choose a session").select_option(label=BOUNDARIES_SESSION.title)
    fran.get_by_role("button", name="Make this the current session").click()
    expect(fran.get_by_role("heading", name=f"Now: {BOUNDARIES_SESSION.title}")).to_be_visible()
    fran.get_by_role("link", name="Scenario 1", exact=True).click()
    expect(fran.get_by_role("heading", level=1)).to_have_text("Scenario 1")
    for page in (alex, sam):
        page.goto("/")
        page.get_by_role("link", name=BOUNDARIES_SESSION.title).click()
        page.get_by_role("link", name="Discuss Scenario 1 with the group").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Scenario 1")

    # Sam is typing while Alex adds an anonymous thought: it arrives on Sam's screen and the facilitator's, with
    # no name, and screen readers hear it; Sam's words and focus stay where they were.
    box = sam.get_by_label("Your thought on Scenario 1")
    box.fill("Half a thought")
    box.focus()
    alex.get_by_label("Your thought on Scenario 1").fill(THOUGHT)
    alex.get_by_label(re.compile("^Don’t show my name")).check()
    alex.get_by_role("button", name="Add my thought").click()
    expect(alex.get_by_role("status").filter(has_text="Added, without your name.")).to_be_visible()
    expect(alex.get_by_text("Yours, without your name")).to_be_visible()
    for page in (sam, fran):
        expect(page.get_by_text(THOUGHT, exact=True)).to_be_visible(timeout=8000)
        expect(page.get_by_text("Someone in the group")).to_be_visible()
        assert alex_account.name not in page.evaluate("document.body.innerText")
        assert alex_account.name not in page.content()
    expect(sam.locator("#thought-announce")).to_have_text(f"New thought: {THOUGHT}")
    expect(sam.locator("#thought-announce")).to_have_attribute("aria-live", "polite")
    expect(box).to_have_value("Half a thought")
    expect(box).to_be_focused()
    # A second thought is added at the end of each list, once: Alex's own screen has it from its answer too.
    alex.get_by_label("Your thought on Scenario 1").fill(SECOND_THOUGHT)
    alex.get_by_role("button", name="Add my thought").click()
    for page in (alex, sam, fran):
        expect(page.get_by_role("listitem").filter(has_text=SECOND_THOUGHT)).to_have_count(1, timeout=8000)
        expect(page.locator("#thought-items > li")).to_have_count(2)
        expect(page.locator("#thought-items > li").last).to_contain_text(SECOND_THOUGHT)
    expect(sam.locator("#thought-announce")).to_have_text(f"New thought: {SECOND_THOUGHT}")
    expect(box).to_have_value("Half a thought")
    expect(box).to_be_focused()

    # The timer: started from the run page, counting down on both participants' screens and the projector.
    projector = fran.context.new_page()
    projector.goto(group + "/board/projector")
    fran.goto(group + "/run")
    fran.get_by_label("What is it for? (optional)").fill("Take a moment to reflect")
    fran.get_by_label("Minutes").fill("0.1")   # six seconds
    fran.get_by_role("button", name="Start the timer").click()
    expect(fran.get_by_text("The timer is running: 6 seconds.")).to_be_visible()
    for page in (alex, sam, projector):
        expect(page.locator("#group-timer")).to_contain_text("Take a moment to reflect", timeout=3000)
        expect(page.get_by_role("timer")).to_have_text(re.compile(r"^0:0\d left$"))
        expect(page.locator("#timer-announce")).to_have_text("A timer has started: 6 seconds.")
    for page in (alex, sam, projector):
        expect(page.get_by_role("timer")).to_have_text("Time is up", timeout=9000)
        expect(page.locator("#timer-announce")).to_have_text("Time is up.")
    expect(box).to_have_value("Half a thought")
    expect(box).to_be_focused()

    # The facilitator hides the thought: it leaves Sam's screen; Alex still sees it, marked.
    fran.goto(urlsplit(sam.url).path)
    fran.get_by_role("listitem").filter(has_text=THOUGHT).get_by_role("button", name="Hide from the group").click()
    expect(fran.get_by_role("button", name="Show it again")).to_be_visible()
    expect(sam.get_by_text(THOUGHT, exact=True)).to_have_count(0, timeout=8000)
    expect(alex.get_by_text("hidden from the group by the facilitator (you still see it)")).to_be_visible(timeout=8000)
    expect(box).to_have_value("Half a thought")
