"""The private workbook in a browser: every kind of exercise answered and still there after a reload, ladder
snapshots side by side, eight strengths on their diagram and a kind refusal of a ninth, nothing lost while the
server is down or the session has ended, two tabs on one answer, and all of it with a keyboard alone.

Each test joins the demo group as a new participant (through the join page and the recovery code page), so
tests do not share answers. The app's Content-Security-Policy is in force: a policy violation or a script error
fails the test (see the `problems` fixture).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error, Page, expect

from p2p.answers import fields_of

from .exercises import (
    EXERCISES, SAVED, SNAPSHOT_DATE, answer_all, by_session, snapshot_marks, snapshots_table, status_of, strength,
    strengths_diagram, take_snapshot, textbox,
)
from .helpers import PHONE, focus_is_visible, log_in, overflowing, tab_to
from .pagetypes import LIBRARY
from .people import Participant
from .server import PASSWORD

NOT_SAVED = "Not saved — retrying"
RESTORED = "Saved. Your unsaved text is back."
LOGGED_OUT = ("Not saved: you have been logged out. Your text is kept on this device. Log in again to save it")
CHANGED_HERE_TOO = ("Saved. This answer had also been changed in another tab or on another device; "
                    "this version is the one kept.")
CHANGED_ELSEWHERE = ("This answer was changed in another tab or on another device. "
                     "Reload the page to see the latest.")
TOO_MANY = "You have chosen 8, the most for this. To choose another, untick one first."
# Module 1, Session 1: four free-text questions, the simplest page to type into.
POSITIVE = "What feels positive about undertaking P2P?"
CHALLENGING = "Is there anything that feels challenging?"
SAFE = "What behaviours help you feel safe?"
MODULE_1 = LIBRARY.programme("p2p").module("module-1")


def drafts(page: Page) -> dict[str, str]:
    """The unsent text this tab keeps in sessionStorage, by key."""
    return page.evaluate("""() => Object.fromEntries(Object.keys(sessionStorage)
        .filter(key => key.startsWith("p2p-draft:")).map(key => [key, sessionStorage.getItem(key)]))""")


def come_back_to(page: Page) -> None:
    """The person switches back to this tab. Headless Chromium keeps every page "visible" (tried: bring_to_front,
    a second tab in front of it, minimising its window through CDP; none fires visibilitychange), so the switch
    is played the way the browser does it: visibilityState becomes "hidden", then "visible", each followed by a
    visibilitychange event on the document. autosave.js listens for exactly that."""
    page.evaluate("""() => {
        for (const state of ["hidden", "visible"]) {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }
        delete document.visibilityState;
    }""")


# ---------------------------------------------------------------------------------------------------


def test_every_kind_of_exercise_is_answered_saved_and_still_there_after_a_reload(join):
    """On a 360 px phone: one exercise of every kind, "Saved" under each answer, and after a reload every word,
    tick and choice is back. The pages, answers and all, do not scroll sideways."""
    person = join(viewport=PHONE, is_mobile=True, has_touch=True)
    for (module, session), exercises in by_session().items():
        page = person.open(module, session)
        answer_all(page, exercises)
        page.reload()
        for exercise in exercises:
            exercise.check(page)
        assert not (problem := overflowing(page)), f"{module}/{session} at 360 px: {problem}"


def test_two_ladder_snapshots_are_shown_side_by_side(join):
    person = join()
    page = person.open("preparing", "personal-stocktake")
    expect(snapshots_table(page)).to_have_count(0)   # no history before the first snapshot

    take_snapshot(page, [1, 3])
    # After saving, the boxes are clear again, ready for the next time; the snapshot is in the table.
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(0)
    expect(snapshots_table(page).get_by_role("columnheader")).to_have_count(2)
    take_snapshot(page, [3, 6, 7])

    headers = snapshots_table(page).get_by_role("columnheader")
    expect(headers).to_have_count(3)
    expect(headers.first).to_have_text("Statement")
    dates = headers.all_inner_texts()[1:]
    assert all(SNAPSHOT_DATE.match(date) for date in dates), dates
    # Both taken the same day (unless midnight fell in between): each says its time, so they can be told apart.
    if len({date.split(",")[0] for date in dates}) == 1:
        assert all(re.search(r", \d\d:\d\d$", date) for date in dates), dates
    expected = {1: [True, False], 2: [False, False], 3: [True, True], 6: [False, True], 7: [False, True],
                10: [False, False]}
    for number, marks in expected.items():
        assert snapshot_marks(page, number) == marks, f"statement {number}"


def test_eight_strengths_on_the_diagram_and_a_ninth_is_refused_kindly(join):
    person = join()
    page = person.open("module-1", "session-4")
    diagram = strengths_diagram(page)
    expect(diagram).to_have_accessible_name(re.compile(r"\(0 of 8\)"))

    chosen = {"Executing": ["Planner", "Focused"], "Influencing": ["Communicator", "Self-aware"],
              "Relationship building": ["Connected", "Empathy", "Positive"], "Strategic thinking": ["Curious"]}
    for names in chosen.values():
        for name in names:
            strength(page, name).check()
    expect(status_of(strength(page, "Curious"))).to_have_text(SAVED)
    # The diagram is drawn again after the save: its name says how many, and lists them domain by domain
    # (in the order of the content, as above).
    expect(diagram).to_have_accessible_name(re.compile(r"\(8 of 8\)"))
    for domain, names in chosen.items():
        expect(diagram).to_have_accessible_description(re.compile(re.escape(f"{domain}: {', '.join(names)}.")))

    # A ninth: the box does not stay ticked, a kind message says why, and nothing else changes.
    ninth = strength(page, "Learner")
    ninth.click()
    expect(ninth).not_to_be_checked()
    status = status_of(ninth)
    expect(status).to_have_text(TOO_MANY)
    page.wait_for_timeout(1200)   # longer than the pause before an autosave: nothing replaces the message
    expect(status).to_have_text(TOO_MANY)
    expect(page.get_by_role("heading", level=1)).to_have_text(MODULE_1.session("session-4").title)
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(8)
    expect(diagram).to_have_accessible_name(re.compile(r"\(8 of 8\)"))

    # Untick one, and the ninth can be chosen.
    strength(page, "Focused").uncheck()
    expect(status).to_have_text(SAVED)
    ninth.check()
    expect(ninth).to_be_checked()
    expect(status).to_have_text(SAVED)
    expect(diagram).to_have_accessible_description(re.compile(r"Strategic thinking: Curious, Learner\."))
    expect(diagram).to_have_accessible_description(re.compile(r"Executing: Planner\."))

    page.reload()
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(8)
    expect(strength(page, "Learner")).to_be_checked()
    expect(strength(page, "Focused")).not_to_be_checked()


def test_text_typed_while_the_server_is_down_is_saved_when_it_is_back(join, live_server):
    person = join()
    page = person.open("module-1", "session-1")
    field = textbox(page, POSITIVE)
    field.press_sequentially("Meeting people who get it. ")
    expect(status_of(field)).to_have_text(SAVED)

    with live_server.stopped():
        field.press_sequentially("Even when the Wi-Fi drops, ")
        expect(status_of(field)).to_have_text(NOT_SAVED)
        field.press_sequentially("I keep writing.")
        expect(status_of(field)).to_have_text(NOT_SAVED)
        expect(field).to_have_value("Meeting people who get it. Even when the Wi-Fi drops, I keep writing.")
    # The server is back: the next retry saves, without anyone doing anything.
    expect(status_of(field)).to_have_text(SAVED, timeout=15_000)
    assert drafts(page) == {}, "the unsent copy is dropped once the server has it"
    page.reload()
    expect(textbox(page, POSITIVE)).to_have_value(
        "Meeting people who get it. Even when the Wi-Fi drops, I keep writing.")


def test_text_typed_while_the_server_is_down_survives_a_reload(join, live_server):
    """Typed while the server is down, then the page is reloaded: the browser shows its own "can't reach"
    page. Once the server is back, the session page brings the unsent text back from sessionStorage and saves it."""
    person = join()
    page = person.open("module-1", "session-1")
    url = page.url
    with live_server.stopped():
        field = textbox(page, CHALLENGING)
        field.press_sequentially("Speaking up in a group.")
        expect(status_of(field)).to_have_text(NOT_SAVED)
        assert list(drafts(page).values()) == ["Speaking up in a group."]
        with pytest.raises(Error, match="ERR_CONNECTION_REFUSED"):
            page.reload()
    page.goto(url)
    field = textbox(page, CHALLENGING)
    expect(field).to_have_value("Speaking up in a group.")
    expect(status_of(field)).to_have_text(RESTORED)
    assert drafts(page) == {}
    page.reload()
    expect(textbox(page, CHALLENGING)).to_have_value("Speaking up in a group.")
    expect(status_of(textbox(page, CHALLENGING))).to_have_text("")


def test_two_tabs_on_one_answer_the_later_save_wins_and_both_are_told(join, new_context, problems):
    person = join()
    tab_a = person.open("module-1", "session-1")
    field_a = textbox(tab_a, SAFE)
    field_a.fill("Being listened to.")
    expect(status_of(field_a)).to_have_text(SAVED)

    # The same person on another device opens the page, and sees the saved answer.
    tab_b = person.open("module-1", "session-1", person.log_in_elsewhere(problems.watch(new_context())))
    field_b = textbox(tab_b, SAFE)
    expect(field_b).to_have_value("Being listened to.")

    # A saves a new version; then B, which loaded before it, saves its own: B's version is kept, and B is told.
    field_a.fill("Being listened to, and not judged.")
    expect(status_of(field_a)).to_have_text(SAVED)
    field_b.fill("Being listened to without advice.")
    expect(status_of(field_b)).to_have_text(CHANGED_HERE_TOO)

    # Back in A: the page checks its answers are the latest, and says this one is not.
    come_back_to(tab_a)
    expect(status_of(field_a)).to_have_text(CHANGED_ELSEWHERE)
    tab_a.reload()
    expect(textbox(tab_a, SAFE)).to_have_value("Being listened to without advice.")


def test_two_tabs_on_a_first_answer_the_later_tab_is_told(join, new_context, problems):
    person = join()
    tab_a = person.open("module-1", "session-1")
    tab_b = person.open("module-1", "session-1", person.log_in_elsewhere(problems.watch(new_context())))
    field_a, field_b = textbox(tab_a, SAFE), textbox(tab_b, SAFE)
    field_a.fill("Written in A first.")
    expect(status_of(field_a)).to_have_text(SAVED)
    field_b.fill("Written in B later.")
    expect(status_of(field_b)).to_have_text(CHANGED_HERE_TOO, timeout=2_000)


def log_in_here(page: Page, person: Participant) -> None:
    """The log-in page that "Log in again to save it" opens; it leads back to the session page."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.get_by_label("Your name").fill(person.name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(MODULE_1.session("session-1").title)


def test_logged_out_while_typing_keeps_the_text_and_saves_it_after_logging_in(join, new_context, problems):
    person = join()
    page = person.open("module-1", "session-1")
    field = textbox(page, POSITIVE)
    field.fill("Learning alongside others.")
    expect(status_of(field)).to_have_text(SAVED)

    # Logging out on another device ends every session of this person, this one too.
    elsewhere = person.log_in_elsewhere(problems.watch(new_context()))
    elsewhere.get_by_role("button", name="Log out").click()
    expect(elsewhere.get_by_role("status")).to_contain_text("You have logged out.")

    field.press_sequentially(" And being trusted.")
    status = status_of(field)
    expect(status).to_have_text(LOGGED_OUT)
    expect(field).to_have_value("Learning alongside others. And being trusted.")

    status.get_by_role("link", name="Log in again to save it").click()
    log_in_here(page, person)

    # Back on the same page, at the same answer: the text is back and saved.
    field = textbox(page, POSITIVE)
    expect(field).to_have_value("Learning alongside others. And being trusted.")
    expect(status_of(field)).to_have_text(RESTORED)
    assert urlsplit(page.url).fragment == field.evaluate("el => el.form.id")
    page.reload()
    expect(textbox(page, POSITIVE)).to_have_value("Learning alongside others. And being trusted.")

    # A session cookie that is simply gone (expired, or cleared) is met the same way. Cleared once nothing is in
    # flight: a response arriving afterwards would set the cookie again (it is refreshed on every response).
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    field = textbox(page, POSITIVE)
    field.press("Control+End")   # after the text already there
    field.press_sequentially(" Still here.")
    status = status_of(field)
    expect(status).to_have_text(LOGGED_OUT)
    expect(field).to_have_value("Learning alongside others. And being trusted. Still here.")
    assert list(drafts(page).values()) == ["Learning alongside others. And being trusted. Still here."]
    status.get_by_role("link", name="Log in again to save it").click()
    log_in_here(page, person)
    expect(status_of(textbox(page, POSITIVE))).to_have_text(RESTORED)

    # Logging out here leaves no unsent text behind in this tab (a shared tablet), even text typed a moment ago.
    field = textbox(page, POSITIVE)
    field.press("Control+End")
    field.press_sequentially(" Bye.")
    assert drafts(page), "typed text is kept in sessionStorage until it is saved"
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")
    assert drafts(page) == {}


def test_logging_in_again_in_another_tab_saves_what_a_logged_out_page_kept(join, new_context, problems):
    """No reload needed: the page notices its owner is back, takes the new session's form token and saves. If
    someone else logs in on this device instead, the kept text is never saved into their workbook."""
    person = join()
    page = person.open("module-1", "session-1")
    elsewhere = person.log_in_elsewhere(problems.watch(new_context()))
    elsewhere.get_by_role("button", name="Log out").click()   # ends this person's sessions everywhere
    field = textbox(page, POSITIVE)
    field.fill("Kept while logged out.")
    expect(status_of(field)).to_have_text(LOGGED_OUT)

    someone_else = join()   # a different person, in another browser: they must not receive it
    tab = page.context.new_page()
    log_in(tab, someone_else.name, PASSWORD)
    page.wait_for_timeout(5_000)   # longer than the page's check for a log-in
    expect(status_of(field)).to_have_text(LOGGED_OUT)

    tab.get_by_role("button", name="Log out").click()
    log_in(tab, person.name, PASSWORD)
    expect(status_of(field)).to_have_text(RESTORED, timeout=8_000)
    expect(field).to_have_value("Kept while logged out.")
    field.press("Control+End")
    field.press_sequentially(" And after.")   # the page keeps working with the new session
    expect(status_of(field)).to_have_text(SAVED)
    tab.close()
    page.reload()
    expect(textbox(page, POSITIVE)).to_have_value("Kept while logged out. And after.")


def test_keyboard_only_type_move_along_the_spectrum_and_tick_a_strength(join):
    person = join()
    page = person.open("module-1", "session-2")
    keyboard = page.keyboard

    # Tab to the spectrum: with nothing chosen yet, focus lands on its first place; the arrows move along it.
    spectrum = page.get_by_role("group", name=re.compile(r"^Take a moment to consider the table above"))
    tab_to(page, spectrum.get_by_role("radio").first)
    keyboard.press("ArrowRight")
    expect(spectrum.get_by_role("radio", name="More to the left")).to_be_checked()
    keyboard.press("ArrowRight")
    middle = spectrum.get_by_role("radio", name="In the middle")
    expect(middle).to_be_checked()
    expect(middle).to_be_focused()
    expect(status_of(middle)).to_have_text(SAVED)

    # The next Tab leaves the spectrum for the reflection beside it (the Save button is there only without script).
    keyboard.press("Tab")
    thoughts = textbox(page, "Your thoughts (optional)")
    expect(thoughts).to_be_focused()
    assert focus_is_visible(thoughts)
    keyboard.type("Somewhere in the middle, moving right.")
    expect(status_of(thoughts)).to_have_text(SAVED)

    page.reload()
    expect(spectrum.get_by_role("radio", name="In the middle")).to_be_checked()
    expect(textbox(page, "Your thoughts (optional)")).to_have_value("Somewhere in the middle, moving right.")

    # A strength is ticked and unticked with Space.
    page = person.open("module-1", "session-4")
    planner = strength(page, "Planner")
    tab_to(page, planner)
    page.keyboard.press("Space")
    expect(planner).to_be_checked()
    expect(status_of(planner)).to_have_text(SAVED)
    expect(strengths_diagram(page)).to_have_accessible_description(re.compile(r"Executing: Planner\."))
    page.keyboard.press("Space")
    expect(planner).not_to_be_checked()
    expect(strengths_diagram(page)).to_have_accessible_description(re.compile(r"Executing: none chosen\."))
    expect(planner).to_be_focused()


def test_the_first_test_answers_every_kind_of_exercise_in_the_content():
    """A kind of exercise added to content/ needs an example in exercises.py, so the first test answers it too."""
    def kind(block) -> str:
        return type(block).__name__ + (" (free)" if getattr(block, "free", False) else "")

    in_content = {kind(block) for programme in LIBRARY.programmes.values() for module in programme.modules
                  for session in module.sessions for block in session.blocks if fields_of(block)}
    answered = {kind(LIBRARY.programme("p2p").module(e.module).session(e.session).block(e.block)) for e in EXERCISES}
    assert answered == in_content
