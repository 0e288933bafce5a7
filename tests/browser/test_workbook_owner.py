"""The workbook belongs to its owner: they see their progress quietly, print it (on paper it hides the site's
header and leaves blank lines to write on), read their recovery story as one piece, download it as Markdown and
JSON, choose one answer at a time to mark "to discuss" or to share with their facilitator, delete the workbook or
the whole account, and bring back an earlier workbook with the recovery code they were given when they joined. A
fresh workbook started in the middle of a board round: the board says they respond again from the next round (their
response from before still counts), and in the next round they do, by keyboard.

Several people, each in their own browser context: participants who join the demo group through its invite
link (a new person per test, so tests share no answers), and the demo group's facilitator. The app's
Content-Security-Policy is in force: a policy violation or a script error fails the test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

from .exercises import (
    STORY_QUESTION,
    STORY_TEXT,
    choose_in_panel,
    open_share_panel,
    share_panel,
    status_of,
    textbox,
    wait_until_saved,
)
from .helpers import PHONE, log_in, overflowing, tab_to
from .pagetypes import LIBRARY
from .people import Participant
from .server import PASSWORD

P2P = LIBRARY.programme("p2p")
SESSION_1 = P2P.module("module-1").session("session-1")
STORY_SESSION = P2P.module("preparing").session("personal-recovery-story")
# Module 1, Session 1: four free-text questions.
POSITIVE = "What feels positive about undertaking P2P?"
CHALLENGING = "Is there anything that feels challenging?"
SAFE = ("To feel safe undertaking the programme, what needs to be in place for you? "
        "What behaviours help you feel safe?")
DEMONSTRATE = ("To contribute to others in the group feeling safe, what can you bring from your journey so far? "
               "What behaviours can you demonstrate that will help others feel safe?")
POSITIVE_TEXT = "Learning alongside people who get it.\nAnd being trusted with their stories."
CHALLENGING_TEXT = "Speaking up in a big group."
SAFE_TEXT = "Being listened to, without advice."
# Two more answers of the recovery story, written after the first and in reverse order: the story reads in
# the order of its sections all the same.
TURNING_POINT = ("The turning point When were you aware something was changing, and that you wanted to move "
                 "forward?")
TURNING_POINT_TEXT = "The morning I went back to the allotment."
MATTERS = "Introduction to you What matters to you?"
MATTERS_TEXT = "My children, my friends, and growing things."
SHARED_WITH_YOU = "Shared with you"
MARKDOWN_LINK, JSON_LINK = "Download it as a text document (Markdown)", "Download it as data (JSON)"
EARLIER_LINK = "Bring back my earlier workbook with its recovery code"
WRONG_LOGIN = "That name and password don't match. Please check them and try again."


def h1(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def write(page: Page, answers: dict[str, str]) -> None:
    """Type into these text answers (by their names) and wait for "Saved" under each."""
    fields = [textbox(page, name) for name in answers]
    for field, text in zip(fields, answers.values()):
        field.fill(text)
    wait_until_saved(fields)


def open_my_workbook(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My workbook").click()
    expect(h1(page)).to_have_text("My workbook")


def progress_of(page: Page, session_title: str) -> Locator:
    """A session's line on the overview: its link, then how far the person has got (quietly)."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=session_title, exact=True))


def shared_by(staff: Page, person: Participant) -> Locator:
    """On the group page, as a facilitator: the answers this person shared, under "Shared with you"."""
    return staff.get_by_role("region", name=SHARED_WITH_YOU).get_by_role("article").filter(
        has_text=f"Shared by {person.name} on ")


def facilitator_page(new_context, problems, demo) -> Page:
    staff = problems.watch(new_context()).new_page()
    log_in(staff, demo.facilitator.name, demo.facilitator.password)
    return staff


def blank_lines_under(page: Page, exercise_title: str) -> Locator:
    """In the print view: the ruled space left under an exercise that has no answer yet."""
    exercise = page.locator(".print-exercise").filter(has=page.get_by_role("heading", name=exercise_title, exact=True))
    expect(exercise).to_have_count(1)
    return exercise.locator(".blank-lines")


# ---------------------------------------------------------------------------------------------------


def test_quiet_progress_the_print_view_on_screen_and_on_paper_and_the_story_as_one_piece(join):
    person = join()
    page = person.open("module-1", "session-1")
    write(page, {POSITIVE: POSITIVE_TEXT})
    page = person.open("preparing", "personal-recovery-story")
    write(page, {TURNING_POINT: TURNING_POINT_TEXT, MATTERS: MATTERS_TEXT, STORY_QUESTION: STORY_TEXT})

    # -- My workbook: each session's progress, said quietly; nothing is marked "incomplete". ----------------
    open_my_workbook(page)
    expect(progress_of(page, SESSION_1.title)).to_contain_text("· 1 of 4 questions written")
    expect(progress_of(page, STORY_SESSION.title)).to_contain_text(re.compile(r"· 3 of \d+ questions written"))
    session_2 = P2P.module("module-1").session("session-2")
    expect(progress_of(page, session_2.title)).to_contain_text(re.compile(r"· \d+ questions\s*$"))
    expect(page.get_by_text(re.compile(r"incomplete|not started|\b0 of \d", re.IGNORECASE))).to_have_count(0)
    # The session's link leads to its page, where the answer is.
    progress_of(page, SESSION_1.title).get_by_role("link").click()
    expect(h1(page)).to_have_text(SESSION_1.title)
    expect(textbox(page, POSITIVE)).to_have_value(POSITIVE_TEXT)
    page.go_back()
    expect(h1(page)).to_have_text("My workbook")

    # -- The print view: questions with answers, blank lines to write on where there is none yet. -----------
    page.get_by_role("link", name="Print my whole workbook").click()
    expect(h1(page)).to_have_text(f"Workbook of {person.name}")
    for heading in (P2P.module("preparing").title, P2P.module("module-1").title, SESSION_1.title, POSITIVE, SAFE):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    answer = page.get_by_text(POSITIVE_TEXT.splitlines()[0])
    expect(answer).to_be_visible()
    assert answer.inner_text() == POSITIVE_TEXT, "the answer is printed as written, line break and all"
    blank = blank_lines_under(page, SAFE)
    expect(blank).to_be_visible()
    expect(blank).to_have_text("Not answered")   # what a screen reader says of the empty lines
    assert blank.bounding_box()["height"] >= 80, "room for a few lines of handwriting"
    expect(blank_lines_under(page, POSITIVE)).to_have_count(0)
    # The recovery story's questions are printed, each with its answer or its blank lines.
    expect(page.get_by_text("Who are you?", exact=True)).to_be_visible()   # under its part's heading
    expect(page.get_by_text(STORY_TEXT, exact=True)).to_be_visible()

    # On paper: no site header, navigation, footer or Print button; the answers and blank lines stay.
    site_parts = [page.get_by_role("banner", include_hidden=True), page.get_by_role("contentinfo", include_hidden=True),
                  page.get_by_role("navigation", name="Main", include_hidden=True),
                  page.get_by_role("button", name="Print", exact=True, include_hidden=True)]
    for part in site_parts:
        expect(part).to_be_visible()
    page.emulate_media(media="print")
    for part in site_parts:
        expect(part).to_have_count(1)
        expect(part).to_be_hidden()
    expect(h1(page)).to_be_visible()
    expect(answer).to_be_visible()
    expect(page.get_by_text(STORY_TEXT, exact=True)).to_be_visible()
    expect(blank).to_be_visible()
    page.emulate_media(media="screen")

    # One module on its own: the overview's "Print this module" under Preparing for Peer 2 Peer.
    open_my_workbook(page)
    preparing = page.get_by_role("region", name=P2P.module("preparing").title)
    preparing.get_by_role("link", name="Print this module").click()
    assert parse_qs(urlsplit(page.url).query) == {"module": ["p2p/preparing"]}, page.url
    expect(h1(page)).to_have_text(f"Workbook of {person.name}")
    expect(page.get_by_role("heading", name=STORY_SESSION.title)).to_be_visible()
    expect(page.get_by_text(STORY_TEXT, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=P2P.module("module-1").title)).to_have_count(0)
    expect(page.get_by_text(POSITIVE_TEXT.splitlines()[0])).to_have_count(0)

    # -- The recovery story as one piece: the person's words, in the order of the sections, no questions. ----
    open_my_workbook(page)
    progress_of(page, STORY_SESSION.title).get_by_role("link", name="Read my story as one piece").click()
    expect(h1(page)).to_have_text("Personal recovery story")
    story = page.get_by_role("article")
    sections = [section.title for section in STORY_SESSION.block("recovery-story").sections]
    expect(story.get_by_role("heading", level=2)).to_have_text(sections)
    text = story.inner_text()
    order = [text.find(words) for words in (STORY_TEXT, MATTERS_TEXT, TURNING_POINT_TEXT)]
    assert -1 not in order and order == sorted(order), f"the story is not in the order of its sections:\n{text}"
    for question in ("Who are you?", "What matters to you?", "When were you aware something was changing"):
        expect(page.get_by_text(question)).to_have_count(0)
    expect(story.get_by_text("Nothing written here yet.")).to_have_count(len(sections) - 2)
    print_story = page.get_by_role("button", name="Print my story")
    expect(print_story).to_be_visible()
    page.emulate_media(media="print")   # on paper: the story alone, without the way back or the button
    expect(page.get_by_role("main").get_by_role("link", name="My workbook", include_hidden=True)).to_be_hidden()
    expect(print_story).to_be_hidden()
    expect(story.get_by_text(TURNING_POINT_TEXT)).to_be_visible()


def test_the_workbook_downloads_as_markdown_and_as_json(join):
    person = join()
    page = person.open("module-1", "session-1")
    write(page, {POSITIVE: POSITIVE_TEXT, CHALLENGING: CHALLENGING_TEXT})
    open_my_workbook(page)

    with page.expect_download() as download:
        page.get_by_role("link", name=MARKDOWN_LINK).click()
    assert re.fullmatch(r"my-workbook-\d{4}-\d\d-\d\d\.md", download.value.suggested_filename), \
        download.value.suggested_filename
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith(f"# Workbook of {person.name}\n"), markdown[:200]
    # Each answer under its question, every line of it quoted; an unanswered question says so.
    assert f"#### {POSITIVE}\n\n> Learning alongside people who get it.\n> And being trusted with their stories.\n" \
        in markdown, markdown
    assert f"#### {CHALLENGING}\n\n> {CHALLENGING_TEXT}\n" in markdown
    assert f"#### {SAFE}\n\n_(not answered)_\n" in markdown
    assert f"### {SESSION_1.title}\n" in markdown

    with page.expect_download() as download:
        page.get_by_role("link", name=JSON_LINK).click()
    assert re.fullmatch(r"my-workbook-\d{4}-\d\d-\d\d\.json", download.value.suggested_filename)
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["name"] == person.name
    session = next(s for m in data["modules"] for s in m["sessions"] if s["session"] == SESSION_1.title)
    answers = {exercise["exercise"]: [a["answer"] for a in exercise["answers"]] for exercise in session["exercises"]}
    assert answers[POSITIVE] == [POSITIVE_TEXT]
    assert answers[CHALLENGING] == [CHALLENGING_TEXT]
    assert answers[SAFE] == []
    # Still on the overview: a download does not leave the page.
    expect(h1(page)).to_have_text("My workbook")


def test_marking_to_discuss_and_sharing_one_answer_with_the_facilitator(join, demo, new_context, problems):
    person = join()
    page = person.open("module-1", "session-1")
    write(page, {POSITIVE: POSITIVE_TEXT, CHALLENGING: CHALLENGING_TEXT, SAFE: SAFE_TEXT})
    page.evaluate("window.notReloaded = true")   # gone if the page were loaded again

    # -- Mark one answer to discuss: the panel changes in place, and focus stays with it. ------------------
    panel = share_panel(textbox(page, CHALLENGING))
    open_share_panel(panel)
    choose_in_panel(panel, "Mark to discuss with my facilitator")
    expect(panel).to_contain_text("Marked to discuss: it is on your list, which only you see.")
    take_off = panel.get_by_role("button", name="Take it off my list")
    expect(take_off).to_be_focused()
    expect(take_off).to_be_in_viewport()
    # What a screen reader says with the focused button: what just happened.
    expect(take_off).to_have_accessible_description("Marked to discuss: it is on your list, which only you see.")
    assert page.evaluate("window.notReloaded === true"), "the page was loaded again"
    assert page.evaluate("scrollY") > 0, "the page jumped back to the top"

    panel.get_by_role("link", name="your list").click()
    expect(h1(page)).to_have_text("To discuss")
    item = page.get_by_role("heading", name=CHALLENGING, level=2)
    expect(item).to_be_visible()
    expect(page.get_by_text(CHALLENGING_TEXT, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_have_count(1)
    page.get_by_role("link", name="Go to the question").click()
    expect(h1(page)).to_have_text(SESSION_1.title)
    page.evaluate("window.notReloaded = true")

    # -- Share another answer with the facilitators, with the keyboard this time. --------------------------
    panel = share_panel(textbox(page, SAFE))
    open_share_panel(panel)
    choose_in_panel(panel, "Share this answer with my facilitators", keyboard=True)
    expect(panel).to_contain_text(re.compile(r"Shared with your facilitators on \d{1,2} [A-Z][a-z]+ at \d\d:\d\d, "
                                             r"as it was then\."))
    latest = panel.get_by_role("button", name="Share the latest version")
    expect(latest).to_be_focused()
    expect(latest).to_have_accessible_description(re.compile(r"^Shared with your facilitators on .*as it was then\.$"))
    expect(panel.get_by_role("button", name="Stop sharing")).to_be_visible()

    # An answer not written yet has nothing to share: said in the panel, and not again on a later page.
    unwritten = share_panel(textbox(page, DEMONSTRATE))
    open_share_panel(unwritten)
    choose_in_panel(unwritten, "Share this answer with my facilitators")
    expect(unwritten.get_by_text("There is nothing written here yet to share.")).to_be_visible()
    share_it = unwritten.get_by_role("button", name="Share this answer with my facilitators")
    expect(share_it).to_be_focused()
    expect(share_it).to_have_accessible_description(re.compile(r"There is nothing written here yet to share\.$"))

    # The facilitator, on the group page: that one answer, labelled with who shared it, and nothing else of theirs.
    staff = facilitator_page(new_context, problems, demo)
    staff.goto(person.group)
    shared = shared_by(staff, person)
    expect(shared).to_have_count(1)
    expect(shared.get_by_role("heading", name=SAFE)).to_be_visible()
    expect(shared).to_contain_text(SAFE_TEXT)
    for private in (POSITIVE_TEXT.splitlines()[0], CHALLENGING_TEXT):
        expect(staff.get_by_text(private)).to_have_count(0)

    # -- The participant changes the answer: the facilitator still reads the version that was shared. ------
    field = textbox(page, SAFE)
    field.fill("Being listened to, and a quiet place to go.")
    expect(status_of(field)).to_have_text("Saved")
    staff.reload()
    expect(shared).to_contain_text(SAFE_TEXT)
    expect(staff.get_by_text("a quiet place to go")).to_have_count(0)

    choose_in_panel(panel, "Share the latest version")
    expect(panel.get_by_role("button", name="Share the latest version")).to_be_focused()
    staff.reload()
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text("Being listened to, and a quiet place to go.")
    expect(staff.get_by_text(SAFE_TEXT, exact=True)).to_have_count(0)

    # -- Stop sharing: gone from the facilitator's page. ----------------------------------------------------
    choose_in_panel(panel, "Stop sharing")
    share_again = panel.get_by_role("button", name="Share this answer with my facilitators")
    expect(share_again).to_be_focused()
    expect(panel.get_by_text("Shared with your facilitators")).to_have_count(0)
    staff.reload()
    expect(shared).to_have_count(0)
    expect(staff.get_by_text("a quiet place to go")).to_have_count(0)

    # Still marked to discuss, after a reload too; taking it off the list empties the list.
    assert page.evaluate("window.notReloaded === true"), "the page was loaded again"
    page.reload()
    panel = share_panel(textbox(page, CHALLENGING))
    expect(panel.get_by_text("Marked to discuss")).to_be_visible()   # open by itself: something is chosen here
    choose_in_panel(panel, "Take it off my list")
    expect(panel.get_by_role("button", name="Mark to discuss with my facilitator")).to_be_focused()
    page.goto("/workbook/to-discuss")
    expect(page.get_by_text("Nothing is marked yet.")).to_be_visible()
    expect(page.get_by_text("There is nothing written here yet to share.")).to_have_count(0)


def test_deleting_the_workbook_then_the_account(join, demo, new_context, problems):
    person = join()
    page = person.open("module-1", "session-1")
    write(page, {POSITIVE: POSITIVE_TEXT, SAFE: SAFE_TEXT})
    panel = share_panel(textbox(page, SAFE))
    open_share_panel(panel)
    choose_in_panel(panel, "Share this answer with my facilitators")
    expect(panel.get_by_role("button", name="Stop sharing")).to_be_visible()
    staff = facilitator_page(new_context, problems, demo)
    staff.goto(person.group)
    expect(shared_by(staff, person)).to_have_count(1)

    # -- The workbook: a confirm page first ("Keep it" changes nothing), then gone. ------------------------
    open_my_workbook(page)
    page.get_by_role("link", name="Delete my workbook").click()
    expect(h1(page)).to_have_text("Delete my workbook?")
    expect(page.get_by_text("This cannot be undone.", exact=False)).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    expect(h1(page)).to_have_text("My workbook")
    expect(progress_of(page, SESSION_1.title)).to_contain_text("2 of 4 questions written")

    page.get_by_role("link", name="Delete my workbook").click()
    page.get_by_role("button", name="Delete my workbook").click()
    expect(h1(page)).to_have_text("My workbook")
    expect(page.get_by_role("status")).to_have_text(
        "Your workbook has been deleted. Your account and groups are as they were.")
    expect(progress_of(page, SESSION_1.title)).to_contain_text("· 4 questions")

    page = person.open("module-1", "session-1")
    for question in (POSITIVE, CHALLENGING, SAFE):
        expect(textbox(page, question)).to_have_value("")
    expect(share_panel(textbox(page, SAFE)).get_by_text("Shared with your facilitators")).to_have_count(0)
    staff.reload()
    expect(shared_by(staff, person)).to_have_count(0)   # the shared copy went with the workbook

    # The account still works: log out, log in, write again.
    page.get_by_role("button", name="Log out").click()
    log_in(page, person.name, PASSWORD)
    page = person.open("module-1", "session-1")
    write(page, {CHALLENGING: CHALLENGING_TEXT})
    page.reload()
    expect(textbox(page, CHALLENGING)).to_have_value(CHALLENGING_TEXT)

    # -- The account: the password confirms it; a wrong one is said kindly, and nothing happens. -----------
    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Delete my account").click()
    expect(h1(page)).to_have_text("Delete my account?")
    password = page.get_by_label("Your password, to confirm")
    password.fill("not my password at all")
    page.get_by_role("button", name="Delete my account").click()
    expect(h1(page)).to_have_text("Delete my account?")
    expect(password).to_have_accessible_description("That is not your password. Please try again.")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()

    # Logged out, on the welcome page; the group no longer lists them; their name and password open nothing.
    expect(h1(page)).to_have_text("Welcome to Peer 2 Peer")
    expect(page.get_by_role("status")).to_have_text("Your account and everything in it have been deleted. Take care.")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()
    staff.reload()
    expect(staff.get_by_role("region", name=re.compile(r"^People in this group"))).not_to_contain_text(person.name)
    page.goto("/login")
    page.get_by_label("Your name").fill(person.name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(h1(page)).to_have_text("Log in")
    expect(page.get_by_role("alert")).to_have_text(WRONG_LOGIN)


def test_a_sole_facilitator_is_asked_to_add_a_co_facilitator_before_deleting_their_account(demo, new_context,
                                                                                           problems):
    staff = facilitator_page(new_context, problems, demo)
    staff.get_by_role("link", name="Account").click()
    staff.get_by_role("link", name="Delete my account").click()
    expect(h1(staff)).to_have_text("Delete my account?")
    expect(staff.get_by_text(f"You are the only facilitator of {demo.group_name}.")).to_be_visible()
    expect(staff.get_by_text("Please add a co-facilitator there first")).to_be_visible()
    expect(staff.get_by_label("Your password, to confirm")).to_have_count(0)
    expect(staff.get_by_role("button", name="Delete my account")).to_have_count(0)
    staff.get_by_role("link", name=demo.group_name).click()
    expect(h1(staff)).to_have_text(demo.group_name)
    expect(staff.get_by_role("region", name="Co-facilitators")).to_be_visible()


def test_a_fresh_workbook_after_a_reset_and_the_earlier_one_brought_back_with_the_recovery_code(
        join, demo, new_context, problems):
    person = join()
    page = person.open("module-1", "session-1")
    write(page, {POSITIVE: POSITIVE_TEXT, CHALLENGING: CHALLENGING_TEXT})

    # The facilitator makes a reset code, after reading what it does to the workbook.
    staff = facilitator_page(new_context, problems, demo)
    staff.goto(person.group)
    staff.get_by_role("link", name=f"Give {person.name} a reset code", exact=True).click()
    expect(staff.get_by_text(f"About {person.name}’s workbook.")).to_be_visible()
    staff.get_by_role("button", name=f"Make a reset code for {person.name}").click()
    expect(h1(staff)).to_have_text(f"Reset code for {person.name}")
    code = staff.get_by_text(re.compile(r"^The code is ")).inner_text()
    reset_code = re.sub(r"[^A-Z0-9]", "", code.removeprefix("The code is "))

    # The participant, on another device, without the recovery code: a fresh, empty workbook.
    device = problems.watch(new_context()).new_page()
    device.goto("/login")
    device.get_by_role("link", name="use it here").click()
    expect(h1(device)).to_have_text("Choose a new password")
    device.get_by_label("Your name").fill(person.name)
    device.get_by_label("Reset code").fill(reset_code)
    device.get_by_role("checkbox", name=re.compile(r"^I don’t have my recovery code\.")).check()
    device.get_by_label("New password").fill(PASSWORD)
    device.get_by_label("Type the password again").fill(PASSWORD)
    device.get_by_role("button", name="Set my new password").click()
    expect(h1(device)).to_have_text("Your recovery code")
    expect(device.get_by_role("status")).to_have_text("Your new password is set. You have a fresh, empty workbook.")
    device.get_by_role("button", name="I have written it down").click()
    person.page.reload()   # the reset logged them out everywhere else
    expect(h1(person.page)).to_have_text("Log in")

    # The old answers are out of view; one question is answered again in the fresh workbook.
    page = person.open("module-1", "session-1", device)
    expect(textbox(page, POSITIVE)).to_have_value("")
    expect(textbox(page, CHALLENGING)).to_have_value("")
    write(page, {CHALLENGING: "Written again after the reset."})
    open_my_workbook(page)
    expect(progress_of(page, SESSION_1.title)).to_contain_text("· 1 of 4 questions written")

    # -- "Bring back my earlier workbook", with the recovery code from the day they joined. ----------------
    page.get_by_role("link", name=EARLIER_LINK).click()
    expect(h1(page)).to_have_text("Bring back my earlier workbook")
    field = page.get_by_label("Your earlier recovery code")
    field.fill("ABCD-EFGH-JKMN-PQRS")
    page.get_by_role("button", name="Open it").click()
    expect(h1(page)).to_have_text("Bring back my earlier workbook")
    expect(field).to_have_accessible_description(re.compile(
        r"That code doesn't open an earlier workbook\. Please check it and try again\.$"))

    field.fill(person.recovery_code)
    page.get_by_role("button", name="Open it").click()
    expect(h1(page)).to_have_text("My workbook")
    expect(page.get_by_role("status")).to_have_text("Your earlier workbook is back (2 answers and snapshots).")
    expect(page.get_by_role("link", name=EARLIER_LINK)).to_have_count(0)
    expect(progress_of(page, SESSION_1.title)).to_contain_text("· 2 of 4 questions written")
    # Both answers to the question answered twice are kept: the newer on the page, the earlier one listed apart.
    earlier = page.get_by_role("region", name="Earlier answers")
    expect(earlier).to_contain_text(CHALLENGING_TEXT)

    page = person.open("module-1", "session-1", device)
    expect(textbox(page, POSITIVE)).to_have_value(POSITIVE_TEXT)
    expect(textbox(page, CHALLENGING)).to_have_value("Written again after the reset.")

    # Nothing more to bring back: the page sends the person to their workbook.
    page.goto("/workbook/earlier")
    expect(h1(page)).to_have_text("My workbook")


# -- A fresh workbook in the middle of a board round ----------------------------------------------------------

RESPOND_NEXT_ROUND = ("You set a new password with a fresh workbook during this round, so the board can no longer "
                      "tell which responses were yours before. They still count. You can respond again from the "
                      "next round.")
LISTEN, PHONES = "Listen without judging", "Phones on silent"
TALLY = re.compile(r"^Agree \d+ · Unsure \d+ · Object \d+$")


def board_item(page: Page, text: str) -> Locator:
    """One behaviour on the board, by its exact wording."""
    return page.locator("#board-list li.proposal").filter(
        has=page.locator(".proposal__text").get_by_text(text, exact=True))


def response_choices(page: Page, text: str | re.Pattern = re.compile(r"^Your response to: ")) -> Locator:
    """The choices offered on one behaviour (its group of buttons), or on any."""
    return page.get_by_role("group", name=f"Your response to: {text}" if isinstance(text, str) else text)


def staff_does(staff: Page, button: str) -> None:
    """The facilitator presses one of her controls on the board; the board comes back with the change (in place)."""
    with staff.expect_response(lambda r: r.request.method == "POST" and "/board" in r.url):
        staff.get_by_role("button", name=button, exact=True).click()
    expect(h1(staff)).to_have_text("Our code of behaviour")


def test_after_a_fresh_workbook_mid_round_the_board_says_respond_next_round_and_the_next_round_takes_keyboard_responses(
        join, demo, new_context, problems):
    # A response cancels a poll already on its way (hx-sync, see test_board.py), and htmx logs it as two console
    # errors: those are let through, nothing else.
    with problems.tolerating("htmx:sendAbort", "htmx:afterRequest"):
        staff = facilitator_page(new_context, problems, demo)
        person = join(viewport=PHONE)
        phone = person.page
        board = f"{person.group}/board"
        staff.goto(board)
        for text in (LISTEN, PHONES):
            staff.get_by_label("A behaviour that helps you feel safe").fill(text)
            staff.get_by_role("button", name="Propose").click()
            expect(staff.get_by_role("region", name="Propose a behaviour").get_by_role("status")).to_have_text(
                "Sent. Add another whenever you like.")
        staff_does(staff, "Move to: Respond")

        # The participant responds on her phone, with a tap.
        phone.get_by_role("link", name="Our code of behaviour").click()
        expect(phone.get_by_role("heading", name=re.compile("^Now: "))).to_have_text("Now: Respond to each behaviour")
        with phone.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/respond")):
            response_choices(phone, LISTEN).get_by_role("button", name="Agree", exact=True).click()
        expect(response_choices(phone, LISTEN).get_by_role("button", name="Agree", exact=True)).to_have_attribute(
            "aria-pressed", "true")
        phone.get_by_role("button", name="Log out").click()
        expect(h1(phone)).to_have_text("Welcome to Peer 2 Peer")

        # She has forgotten her password, and her recovery code is at home: her facilitator gives her a reset code,
        # and she starts a fresh workbook, on her phone, as the login page says.
        staff.goto(person.group)
        staff.get_by_role("link", name=f"Give {person.name} a reset code", exact=True).click()
        staff.get_by_role("button", name=f"Make a reset code for {person.name}").click()
        expect(h1(staff)).to_have_text(f"Reset code for {person.name}")
        code = staff.get_by_text(re.compile(r"^The code is ")).inner_text()
        phone.goto("/login")
        phone.get_by_role("link", name="use it here").click()
        expect(h1(phone)).to_have_text("Choose a new password")
        phone.get_by_label("Your name").fill(person.name)
        phone.get_by_label("Reset code").fill(re.sub(r"[^A-Z0-9]", "", code.removeprefix("The code is ")))
        phone.get_by_role("checkbox", name=re.compile(r"^I don’t have my recovery code\.")).check()
        phone.get_by_label("New password").fill("a fresh start password")
        phone.get_by_label("Type the password again").fill("a fresh start password")
        phone.get_by_role("button", name="Set my new password").click()
        expect(phone.get_by_role("status")).to_have_text("Your new password is set. You have a fresh, empty workbook.")
        phone.get_by_role("button", name="I have written it down").click()
        expect(h1(phone)).to_have_text(f"Hello, {person.name}")

        # On the board, still in this round: the note in place of the choices, on every behaviour.
        phone.get_by_role("link", name=demo.group_name).click()
        phone.get_by_role("link", name="Our code of behaviour").click()
        expect(phone.get_by_role("heading", name=re.compile("^Now: "))).to_have_text("Now: Respond to each behaviour")
        note = phone.get_by_text(RESPOND_NEXT_ROUND, exact=True)
        expect(note).to_be_visible()
        for text in (LISTEN, PHONES):
            expect(board_item(phone, text)).to_be_visible()
        expect(response_choices(phone)).to_have_count(0)
        expect(phone.get_by_role("button", name="Agree", exact=True)).to_have_count(0)
        assert not (problem := overflowing(phone)), f"the board with the note, on a 360 px phone: {problem}"

        # Her response from before still counts: the counts, shown by the facilitator, reach her phone live (no
        # reload), and the board as it is then still has the note and no choices.
        phone.evaluate("window.p2pSamePage = true")
        staff.goto(board)
        expect(staff.get_by_text(re.compile(r"· 1 person has responded"))).to_be_visible()
        staff_does(staff, "Show the counts")
        expect(board_item(staff, LISTEN).get_by_text(TALLY)).to_have_text("Agree 1 · Unsure 0 · Object 0")
        expect(board_item(phone, LISTEN).get_by_text(TALLY)).to_have_text("Agree 1 · Unsure 0 · Object 0",
                                                                          timeout=8000)
        expect(board_item(phone, PHONES).get_by_text(TALLY)).to_have_text("Agree 0 · Unsure 0 · Object 0")
        expect(note).to_be_visible()
        expect(phone.get_by_role("button", name="Agree", exact=True)).to_have_count(0)
        assert phone.evaluate("window.p2pSamePage === true"), "her board was reloaded"

        # Version 1 of the code, then a re-affirm round: her phone offers the choices again, live, and the note goes.
        staff_does(staff, "Move to: Agree")
        with staff.expect_response(lambda r: r.request.method == "POST" and "/board" in r.url):
            board_item(staff, LISTEN).get_by_role("button", name="Mark agreed").click()
        staff_does(staff, "Make the agreed behaviours version 1 of our code")
        expect(staff.get_by_role("heading", name="Our code, version 1")).to_be_visible()
        staff.get_by_role("link", name="Start a re-affirm round").click()   # asked first: nothing is lost
        expect(h1(staff)).to_have_text("Start a re-affirm round?")
        with staff.expect_navigation():
            staff.get_by_role("button", name="Start the re-affirm round").click()
        expect(h1(staff)).to_have_text("Our code of behaviour")
        still_agree = response_choices(phone, LISTEN).get_by_role("button", name="Still agree", exact=True)
        expect(still_agree).to_be_visible(timeout=8000)
        expect(note).to_have_count(0)
        expect(phone.locator("[aria-pressed=true]")).to_have_count(0)   # a fresh round, of the code: nothing chosen
        assert phone.evaluate("window.p2pSamePage === true"), "her board was reloaded"
        assert not (problem := overflowing(phone)), f"the re-affirm round on a 360 px phone: {problem}"

        # By keyboard alone: Tab to the first behaviour's first choice, "Still agree", and Enter sends it.
        tab_to(phone, still_agree)
        with phone.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/respond")) as sent:
            phone.keyboard.press("Enter")
        assert sent.value.ok, sent.value.status
        expect(still_agree).to_have_attribute("aria-pressed", "true")
        expect(still_agree).to_be_focused()
        expect(phone.get_by_text(RESPOND_NEXT_ROUND)).to_have_count(0)   # nothing said against it
        staff_does(staff, "Show the counts")
        expect(staff.get_by_text(re.compile(r"· 1 person has responded"))).to_be_visible()
        expect(board_item(staff, LISTEN).get_by_text(TALLY)).to_have_text("Agree 1 · Unsure 0 · Object 0")
    aborts = sum("htmx:sendAbort" in message for message in problems.expected)
    after = sum("htmx:afterRequest" in message for message in problems.expected)
    assert after <= aborts, f"failed requests: {problems.expected}"


def test_a_module_printed_blank_can_be_completed_with_a_pen_and_a_chosen_answer_prints_ticked(join):
    """For people who prefer paper: every option drawn (tick boxes, the line of the spectrum with the table it
    asks about, the strengths in their four domains), ruled space for writing; and the person's own choices
    printed ticked in their workbook."""
    person = join()
    page = person.open("preparing", "personal-recovery-story")
    check = page.get_by_role("group", name=re.compile("^Are you comfortable with the level of personal disclosure"))
    check.get_by_role("radio", name="Not sure yet").check()
    expect(status_of(check.get_by_role("radio", name="Not sure yet"))).to_have_text("Saved")

    page.goto(page.url.split("/sessions/")[0])
    page.get_by_role("link", name="Print this module’s exercises to fill in by hand").click()
    expect(h1(page)).to_have_text("A workbook to fill in by hand")
    page.emulate_media(media="print")
    disclosure = page.locator(".print-exercise").filter(has_text="Language and impact")
    expect(disclosure.get_by_text("☐ Not sure yet")).to_have_count(5)   # every check, nothing ticked: it is blank
    expect(disclosure.get_by_text("☑")).to_have_count(0)
    ladder = page.locator(".print-exercise").filter(has=page.get_by_role("heading", name="The ladder of change"))
    expect(ladder.locator(".print-statements li").first).to_contain_text("☐")
    expect(page.locator(".blank-lines").first).to_be_visible()

    page.goto(page.url.replace("preparing", "module-1"))
    expect(h1(page)).to_have_text("A workbook to fill in by hand")
    spectrum = page.locator(".print-exercise").filter(has_text="Take a moment to consider the two kinds of relationship")
    expect(spectrum.get_by_role("table")).to_be_visible()   # the table it asks about, printed before it
    expect(spectrum.get_by_text("Take a moment to consider the two kinds of relationship")).to_have_count(1)
    for place in ("☐ Helper type relationship", "☐ In the middle", "☐ Mutually empowering peer relationship"):
        expect(spectrum.get_by_text(place)).to_be_visible()
    strengths = page.locator(".print-exercise").filter(has=page.get_by_role("heading", name="Executing"))
    for domain in ("Executing", "Influencing", "Relationship building", "Strategic thinking"):
        expect(strengths.get_by_role("heading", name=domain)).to_be_visible()
    expect(strengths.get_by_text("☐ Planner")).to_be_visible()
    values = page.locator(".print-values")
    expect(values.get_by_text(re.compile(r"^Value \d:"))).to_have_count(5)
    assert len(page.pdf(format="A4")) > 10_000   # Chromium prints it

    page.emulate_media(media="screen")
    page.goto("/workbook/print?module=p2p/preparing")
    expect(page.locator(".print-exercise").filter(has_text="Language and impact").get_by_text(
        "☑ Not sure yet (chosen)")).to_have_count(1)
