"""Every kind of page the app shows, and how a person gets to each one.

Shared by the accessibility tests and the HTML validity tests, so both look at the same pages. Each page kind
says who is looking (someone not logged in, a participant, a facilitator), how they get there (a link, or a
form sent empty to show its messages), and the page's main heading, which is checked so that a test never
passes on the wrong page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, Response, expect

from p2p.content import load_library

from .exercises import (
    DISCOVERED,
    POSITIVE,
    SAFE,
    STOCKTAKE,
    STORY,
    answer_all,
    by_session,
    choose_in_panel,
    open_share_panel,
    share_panel,
    status_of,
    take_snapshot,
    textbox,
)
from .helpers import DESKTOP, log_in
from .server import PASSWORD, PROJECT_ROOT, LiveServer

# The programme as the server will load it (reading content/ does not touch the app's database).
LIBRARY = load_library(PROJECT_ROOT / "content")

ANYONE, PARTICIPANT, FACILITATOR = "anyone", "participant", "facilitator"
NEWCOMER = "newcomer"   # someone not logged in who joins a group: a new account each time (cookies cleared first)
RESTARTER = "restarter"   # a participant whose password was reset without their recovery code: a fresh workbook
TWO_TABS = "two tabs"     # a participant of their own, with one answer changed in two tabs, and text kept unsaved
SECOND_FACILITATOR = "second facilitator"   # runs the Thursday group, which the restarter's reset put on hold
NOT_THE_CODE = "ABCD-EFGH-JKMN-PQRS"   # a recovery code in the right shape that opens nothing
JOIN_CODE = re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}$")   # as shown on the invite page, like KXR-4TP


@dataclass(frozen=True)
class PageKind:
    id: str
    who: str
    open: Callable[[Site, Page], Response | None]
    heading: str | re.Pattern
    # True when htmx changed the page after it loaded: check the DOM as it now stands, not what was sent.
    swapped: bool = False


def _goto(path: str) -> Callable:
    """Open a path; `{name}` parts are filled from Site.places (group addresses, codes, tokens)."""
    def open(site: Site, page: Page) -> Response | None:
        return page.goto(path.format(**site.places))
    return open


def _send(path: str, button: str, fields: tuple[tuple[str, str], ...] = ()) -> Callable:
    """Open a page, fill some fields (or none), and press a button: shows the page a form answers with."""
    def open(site: Site, page: Page) -> Response | None:
        page.goto(path.format(**site.places))
        for label, value in fields:
            page.get_by_label(label, exact=True).fill(value)
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button, exact=True).click()
        return navigation.value
    return open


def _follow(path: str, role: str, name: str) -> Callable:
    """Open a page and use one of its links or buttons, as a person would (the target's address is not
    known beforehand, as with the "Remove …" and "Give … a reset code" links, or it is a form)."""
    def open(site: Site, page: Page) -> Response | None:
        page.goto(path.format(**site.places))
        with page.expect_navigation() as navigation:
            page.get_by_role(role, name=name.format(**site.places), exact=True).click()
        return navigation.value
    return open


def _new_code(site: Site, page: Page) -> Response | None:
    """The invite page after "Make a new code": the panel is swapped in place by htmx."""
    response = page.goto("{rotating}/invite".format(**site.places))
    page.get_by_role("button", name="Make a new code").click()
    expect(page.get_by_role("status")).to_contain_text("New code made")
    return response


def _join_as_newcomer(site: Site, page: Page) -> Response | None:
    """A new participant joins with the invite link (the QR code): a name and one password, and the page after is
    the group's board (once the facilitator has opened it, else the group's page), with its welcome."""
    page.context.clear_cookies()
    site.newcomers += 1
    page.goto("/join/{demo_code}".format(**site.places))
    page.get_by_label("Your name").fill(f"Newcomer {site.newcomers}")
    page.get_by_label("Choose a password").fill(PASSWORD)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Join the group").click()
    return navigation.value


def _join_as_newcomer_while_the_board_is_open(site: Site, page: Page) -> Response | None:
    """The facilitator has the group's board open (on the projector, beside the QR code), and a newcomer joins: they
    land on the board."""
    staff = site.pages[FACILITATOR]
    staff.goto("{demo}/board".format(**site.places))
    expect(staff.get_by_role("heading", level=1)).to_have_text("Our code of behaviour")
    return _join_as_newcomer(site, page)


def _newcomer_opens_the_workbook(site: Site, page: Page) -> Response | None:
    """A participant who has just joined opens My workbook for the first time: its recovery card comes first."""
    _join_as_newcomer(site, page)
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="My workbook").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery code")
    return navigation.value


def _card_written_down(site: Site, page: Page) -> None:
    """A participant who has just joined opens their workbook, and writes down the recovery card it shows first."""
    _newcomer_opens_the_workbook(site, page)
    page.get_by_role("button", name="I have written it down").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My workbook")


def _make_reset_code(site: Site, page: Page) -> Response | None:
    """The facilitator gives the demo group's last participant a reset code."""
    return _make_reset_code_for(site, page, site.places["last_participant"])


def _make_reset_code_for(site: Site, page: Page, name: str) -> Response | None:
    """The facilitator gives a participant of the demo group a reset code: the link beside their name, a page
    that says what a reset does to their workbook, then the button that makes the code."""
    page.goto(site.places["demo"])
    page.get_by_role("link", name=f"Give {name} a reset code", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"A reset code for {name}")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=f"Make a reset code for {name}", exact=True).click()
    return navigation.value


def _reset_without_recovery_code(site: Site, page: Page) -> Response | None:
    """A participant with a reset code from their facilitator, but no recovery code typed and the "fresh workbook"
    box not ticked: the reset page asks about the workbook, in its "Your workbook" fieldset."""
    _fill_reset_form(site, page, site.places["last_participant"])
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Set my new password").click()
    expect(page.get_by_role("group", name="Your workbook")).to_contain_text(
        "Please type your recovery code to keep your workbook")
    return navigation.value


def _fill_reset_form(site: Site, page: Page, name: str, fresh: bool = False) -> None:
    """The facilitator makes a reset code for this participant, who types it on the reset page with a new
    password, and no recovery code; with `fresh`, they tick "Start a fresh, empty workbook". Not sent yet."""
    staff = site.pages[FACILITATOR]
    _make_reset_code_for(site, staff, name)
    code = staff.get_by_text(re.compile(r"^The code is ")).inner_text()
    page.goto("/reset")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Reset code").fill(re.sub(r"[^A-Z0-9]", "", code.removeprefix("The code is ")))
    if fresh:
        page.get_by_role("checkbox", name=re.compile(r"^I don’t have my recovery code\.")).check()
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)


def _newcomer_then(path: str) -> Callable:
    """A participant who has just joined (a new account, see _join_as_newcomer) opens their empty workbook."""
    def open(site: Site, page: Page) -> Response | None:
        _card_written_down(site, page)
        return page.goto(path)
    return open


def _restarted(then: Callable) -> Callable:
    """The first time: a newcomer joins the demo group and the Thursday group (which a second facilitator runs),
    and their password is reset with the demo facilitator's code without the recovery code: their workbook starts
    afresh, the earlier one waits for that code, and the Thursday group is on hold for them. Then (every time)
    `then`, in the page of whoever looks."""
    def open(site: Site, page: Page) -> Response | None:
        if not site.restarted:
            _restart(site, site.pages[RESTARTER])
            site.restarted = True
        return then(site, page)
    return open


def _restart(site: Site, page: Page) -> None:
    staff = site.pages[SECOND_FACILITATOR]
    staff.goto(urlsplit(site.server.new_setup_link()).path)
    staff.get_by_label("Your name").fill("Second facilitator")
    staff.get_by_label("Choose a password").fill(PASSWORD)
    staff.get_by_label("Type the password again").fill(PASSWORD)
    staff.get_by_role("button", name="Create my account").click()
    staff.get_by_role("button", name="I have written it down").click()
    site.places["thursday"], site.places["thursday_code"] = site.create_group(
        "Thursday group", LIBRARY.programme("p2p").title, staff)
    _card_written_down(site, page)   # so the first workbook has a recovery code that opens it later
    site.places["restarter"] = f"Newcomer {site.newcomers}"
    page.goto("/join/{thursday_code}".format(**site.places))
    page.get_by_role("button", name="Join Thursday group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thursday group")
    _fill_reset_form(site, page, site.places["restarter"], fresh=True)
    page.get_by_role("button", name="Set my new password").click()
    expect(page.get_by_role("status")).to_contain_text("You have a fresh, empty workbook.")
    page.get_by_role("button", name="I have written it down").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, {restarter}".format(**site.places))


def _signed_in_again(site: Site, page: Page) -> Response | None:
    """The restarter on their next sign-in: the note about the reset is on their pages (once per site: the
    session it makes is theirs from then on)."""
    if not site.signed_in_again:
        page.context.clear_cookies()
        log_in(page, site.places["restarter"], PASSWORD)
        site.signed_in_again = True
    return page.goto("/")


def _nothing_to_share(site: Site, page: Page) -> Response | None:
    """Module 1, Session 1, where the participant has written nothing: "Share this answer with my facilitators"
    under the first question. htmx swaps the panel for one that says there is nothing to share yet."""
    response = page.goto("{demo}/modules/module-1/sessions/session-1".format(**site.places))
    panel = share_panel(textbox(page, "What feels positive about undertaking P2P?"))
    open_share_panel(panel)
    choose_in_panel(panel, "Share this answer with my facilitators")
    expect(panel.get_by_text("There is nothing written here yet to share.")).to_be_visible()
    return response


def _done_for_now(site: Site, page: Page) -> Response | None:
    """Module 1, Session 3, marked "done for now" with the button at the end of the page: htmx swaps the panel for
    one that says so, and focus moves to its new button (the one pressed is gone)."""
    response = page.goto("{demo}/modules/module-1/sessions/session-3".format(**site.places))
    panel = page.get_by_role("region", name="Your place in this session")
    mark = panel.get_by_role("button", name="Mark it done for now")
    if mark.count():   # the first visit; later ones find it marked
        mark.click()
        expect(panel.get_by_role("button", name="I’m not done with it")).to_be_focused()
    expect(panel.get_by_text("You marked this session done for now.")).to_be_visible()
    return response


def _board(path: str, phase: str, **state: bool) -> Callable:
    """The demo group's code of behaviour board, brought into one state first (see Site.set_board)."""
    def open(site: Site, page: Page) -> Response | None:
        site.set_board(phase, **state)
        return page.goto(path.format(**site.places))
    return open


BOARD = "Our code of behaviour"
RESPONSE_GROUP = re.compile("^Your response to: ")


def _late_tap(site: Site, page: Page) -> Response | None:
    """A participant taps a choice just after the facilitator moved on, before their screen has heard (its polls
    find nothing new meanwhile): the board tells them, in place, and the list then catches up."""
    site.set_board("respond")
    page.route("**/board/live?*", lambda route: route.fulfill(status=204))
    page.route("**/stream?*", lambda route: route.fulfill(status=204))   # no stream either (static/js/live.js)
    try:
        response = page.goto(site.places["board"])
        site.set_board("agree")
        page.get_by_role("group", name=RESPONSE_GROUP).first.get_by_role("button", name="Pass").click()
        expect(page.get_by_role("status").filter(has_text="The group has moved on")).to_be_visible()
    finally:
        page.unroute("**/board/live?*")
        page.unroute("**/stream?*")
    expect(page.get_by_role("heading", name="Now: Agree our code")).to_be_visible()
    return response


def _proposal_too_long(site: Site, page: Page) -> Response | None:
    """A participant pastes more than a proposal takes: the count under the box says so, and so does sending."""
    site.set_board("propose")
    response = page.goto(site.places["board"])
    page.get_by_label("A behaviour that helps you feel safe").fill("Give each other time to finish speaking, " * 6)
    expect(page.locator("#proposal-text-count")).to_have_text("245 of 200 characters: 45 too many")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("region", name="Propose a behaviour").get_by_role("status")).to_contain_text(
        "Please keep a behaviour to 200 characters")
    return response


def _board_item(page: Page, text: str):
    return page.locator("#board-list li.proposal").filter(
        has=page.locator(".proposal__text").get_by_text(text, exact=True))


def _merge_open(site: Site, page: Page) -> Response | None:
    """The facilitator shaping, with "Merge with…" open on one behaviour: the others to choose from, the wording."""
    response = _board("{board}", "shape")(site, page)
    item = _board_item(page, "One voice at a time")
    item.get_by_text("Merge with…").click()
    choices = item.get_by_role("combobox", name="Merge “One voice at a time” with")
    expect(choices).to_be_visible()
    expect(choices.locator("option")).not_to_have_count(1)   # the others, asked for as it opened
    return response


def _undo_offered(site: Site, page: Page) -> Response | None:
    """The facilitator's status line after a change made in place (htmx): a behaviour hidden, then brought back
    with its Undo, which offers an Undo again. The board is as it was for the pages after."""
    response = _board("{board}", "shape")(site, page)
    item = _board_item(page, "One voice at a time")
    item.get_by_role("button", name="Hide from the group").click()
    status = page.locator("#board-done")
    expect(status).to_contain_text("Hidden from the group: ‘One voice at a time’.")
    status.get_by_role("button", name="Undo").click()
    expect(status).to_contain_text("Shown to the group again: ‘One voice at a time’.")
    expect(item.get_by_role("button", name="Hide from the group")).to_be_visible()
    return response


def _board_pages() -> list[PageKind]:
    """The board as participants, the facilitator and the projector see it in each phase (test_board.py walks
    through the same states live, in order, with several people at once). The states from "commit" on have a
    version of the code, and those from "board-reaffirm-respond" on are in a re-affirm round of it, so the later
    visits of the earlier phases show that round (the code's behaviours and the new ones)."""
    return [
        PageKind("board-propose", PARTICIPANT, _board("{board}", "propose"), BOARD),
        PageKind("board-waiting-for-reveal", PARTICIPANT, _board("{board}", "propose", hide=True), BOARD),
        PageKind("board-facilitator-waiting-for-reveal", FACILITATOR, _board("{board}", "propose", hide=True), BOARD),
        PageKind("board-projector-waiting-for-reveal", FACILITATOR, _board("{board}/projector", "propose", hide=True),
                 BOARD),
        PageKind("board-shape", PARTICIPANT, _board("{board}", "shape"), BOARD),
        PageKind("board-facilitator-shape", FACILITATOR, _board("{board}", "shape", tallies=True), BOARD),
        PageKind("board-facilitator-merge-with", FACILITATOR, _merge_open, BOARD, swapped=True),
        PageKind("board-facilitator-undo", FACILITATOR, _undo_offered, BOARD, swapped=True),
        PageKind("board-respond", PARTICIPANT, _board("{board}", "respond", tallies=True), BOARD),
        PageKind("board-respond-late-tap", PARTICIPANT, _late_tap, BOARD, swapped=True),
        PageKind("board-proposal-too-long", PARTICIPANT, _proposal_too_long, BOARD, swapped=True),
        PageKind("board-facilitator-respond", FACILITATOR, _board("{board}", "respond"), BOARD),
        PageKind("board-projector-respond", FACILITATOR, _board("{board}/projector", "respond", tallies=True), BOARD),
        PageKind("board-facilitator-agree", FACILITATOR, _board("{board}", "agree"), BOARD),
        PageKind("board-projector-blank", FACILITATOR, _board("{board}/projector", "agree", blank=True),
                 "Screen paused"),
        PageKind("board-commit", PARTICIPANT, _board("{board}", "commit", version=True), BOARD),
        PageKind("board-facilitator-commit", FACILITATOR, _board("{board}", "commit", version=True), BOARD),
        PageKind("board-projector-commit", FACILITATOR, _board("{board}/projector", "commit", version=True), BOARD),
        PageKind("board-projector-new-version", FACILITATOR,
                 _board("{board}/projector", "commit", version=True, new_version=True), BOARD),
        PageKind("code", PARTICIPANT, _board("{demo}/code", "commit", version=True), BOARD),
        # A re-affirm round: the facilitator asked first, then version 1's behaviours and a new one, in two parts;
        # the facilitator sees last round's counts and what was left out of the code.
        PageKind("board-round-confirm", FACILITATOR, _board("{board}/round", "commit", version=True),
                 "Start a re-affirm round?"),
        PageKind("board-reaffirm-respond", PARTICIPANT, _board("{board}", "respond", version=True, reaffirm=True), BOARD),
        PageKind("board-facilitator-reaffirm", FACILITATOR,
                 _board("{board}", "respond", version=True, reaffirm=True, tallies=True), BOARD),
        PageKind("code-not-agreed-yet", FACILITATOR, _goto("{group[p2p]}/code"), BOARD),
        # The participant has committed and signed with their name: theirs among the signatures, "Take my name off".
        PageKind("code-signed", PARTICIPANT, _board("{demo}/code", "commit", version=True, signed=True), BOARD),
        PageKind("board-commit-signed", PARTICIPANT, _board("{board}", "commit", version=True, signed=True), BOARD),
    ]


def _answer_once(site: Site, page: Page, module_id: str, session_id: str) -> str:
    """The participant answers every exercise of this session page (as in exercises.py) the first time, and takes
    a second ladder snapshot so the history has two columns. Returns the page's address."""
    path = "{demo}/modules/{module}/sessions/{session}".format(**site.places, module=module_id, session=session_id)
    if (module_id, session_id) not in site.answered:
        page.goto(path)
        exercises = by_session()[module_id, session_id]
        answer_all(page, exercises)
        if any(exercise.kind == "ladder of change" for exercise in exercises):
            take_snapshot(page, [4, 7])
        site.answered.add((module_id, session_id))
    return path


def _answered(module_id: str, session_id: str) -> Callable:
    """A session page with the participant's answers in it: what the server sends with the answers in place."""
    def open(site: Site, page: Page) -> Response | None:
        return page.goto(_answer_once(site, page, module_id, session_id))
    return open


def _with_answers(path: str) -> Callable:
    """One of the participant's workbook pages, once there are answers in it (the stocktake and the story)."""
    def open(site: Site, page: Page) -> Response | None:
        for module_id, session_id in (STOCKTAKE, STORY):
            _answer_once(site, page, module_id, session_id)
        return page.goto(path.format(**site.places))
    return open


def _with_shared(path: str) -> Callable:
    """A page seen once the participant has marked the stocktake's "What have you discovered…" to discuss, and
    shared it with the facilitators, with the panel under the answer (the first time only)."""
    def open(site: Site, page: Page) -> Response | None:
        if not site.shared:
            mine = site.pages[PARTICIPANT]
            mine.goto(_answer_once(site, mine, *STOCKTAKE))
            panel = share_panel(textbox(mine, DISCOVERED))
            open_share_panel(panel)
            choose_in_panel(panel, "Mark to discuss with my facilitator")
            choose_in_panel(panel, "Share this answer with my facilitators")
            expect(panel.get_by_role("button", name="Stop sharing")).to_be_visible()
            site.shared = True
        return page.goto(path.format(**site.places))
    return open


def _between_sessions(site: Site, page: Page) -> None:
    """The facilitator opens "Between sessions with …" for the demo group's first participant."""
    page.goto(site.places["demo"])
    page.get_by_role("link", name="Between sessions with {participant}".format(**site.places), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Between sessions with {participant}".format(**site.places))


def _between_sessions_problems(site: Site, page: Page) -> Response | None:
    """The between-sessions form sent with a date from long ago and a next step that is too long: the page
    answers with its calm messages beside the fields, and everything typed still in them."""
    _between_sessions(site, page)
    page.get_by_label("Date agreed to finish the reflection (optional)").fill("2001-01-01")
    page.get_by_label("Next step agreed (optional)").fill("A next step that goes on and on. " * 20)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Nothing is saved yet.")).to_be_visible()
    return navigation.value


def _with_follow_up(then: Callable) -> Callable:
    """The first time: the facilitator records, for the demo group's first participant, a date to finish the
    reflection and a follow-up conversation with its next step. Then (every time) `then`."""
    def open(site: Site, page: Page) -> Response | None:
        if not site.followed_up:
            staff = site.pages[FACILITATOR]
            _between_sessions(site, staff)
            today = datetime.now(ZoneInfo("Europe/London")).date()
            staff.get_by_label("Date agreed to finish the reflection (optional)").fill(
                (today + timedelta(days=14)).isoformat())
            staff.get_by_label("Date you talked (optional)").fill(today.isoformat())
            staff.get_by_label("Next step agreed (optional)").fill("Come to the first evening <b>of</b> Module 1.")
            staff.get_by_role("button", name="Save", exact=True).click()
            expect(staff.get_by_role("status")).to_contain_text("Saved.")
            site.followed_up = True
        return then(site, page)
    return open


SESSION_1 = "{demo}/modules/module-1/sessions/session-1"


def _in_two_tabs(then: Callable) -> Callable:
    """A participant of their own (joined the first time) whose pages are left with something unsaved: each visit
    starts from their home page, leaving the last one (yes, leave) and forgetting what it kept on the device."""
    def open(site: Site, page: Page) -> Response | None:
        if "two_tabs" not in site.places:
            _card_written_down(site, page)
            site.places["two_tabs"] = f"Newcomer {site.newcomers}"
            page.on("dialog", lambda dialog: dialog.accept() if dialog.type == "beforeunload" else dialog.dismiss())
        page.goto("/")
        page.evaluate("localStorage.clear()")
        return then(site, page, SESSION_1.format(**site.places))
    return open


def _saved_in_another_tab(page: Page, question: str, words: str) -> None:
    """The answer to `question` saved meanwhile by another tab of the same person (the same session, sending what
    autosave.js sends), over the version this page shows."""
    form = textbox(page, question).locator("xpath=ancestor::form[1]")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.locator("body").get_attribute("data-hx-headers"))[1]
    saved = page.request.post("/workbook/save", form={"place": form.get_attribute("data-place"), "value": words,
                                                      "revision": form.get_attribute("data-revision")},
                              headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert saved.ok, saved.status


def _both_versions_here(site: Site, page: Page, path: str) -> Response | None:
    """Session 1 open, the same answer saved meanwhile in another tab, then typed here: the page shows both
    versions and the choice of which to keep."""
    response = page.goto(path)
    site.two_tabs_saves += 1
    _saved_in_another_tab(page, SAFE, f"Written in another tab ({site.two_tabs_saves}).")
    textbox(page, SAFE).fill("Written in this tab.")
    expect(page.get_by_role("group", name="The version from the other tab or device")).to_be_visible()
    return response


def _both_versions_without_script(site: Site, page: Page, path: str) -> Response | None:
    """The same, with the answer's form sent as it is without script (its Save button): a page shows both."""
    page.goto(path)
    site.two_tabs_saves += 1
    _saved_in_another_tab(page, SAFE, f"Written in another tab ({site.two_tabs_saves}).")
    with page.expect_navigation() as navigation:   # form.submit(): the form as it goes without autosave.js
        textbox(page, SAFE).evaluate("field => { field.value = 'Written in this tab.'; field.form.submit(); }")
    return navigation.value


def _draft_kept_elsewhere(site: Site, page: Page, path: str) -> Response | None:
    """Text typed in Session 1 while its saves fail, and the page left (yes, leave): the home page says it is kept
    on this device."""
    page.goto(path)
    page.route("**/workbook/save", lambda route: route.abort())
    field = textbox(page, POSITIVE)
    field.fill("Typed while the network was gone.")
    field.blur()   # saves at once, rather than after the pause in typing
    expect(status_of(field)).to_have_text("Not saved — retrying")
    response = page.goto("/")
    page.unroute("**/workbook/save")
    expect(page.get_by_text("Some text you wrote earlier is kept on this device but not saved yet.")).to_be_visible()
    return response


def _ladder_snapshot_said(site: Site, page: Page) -> Response | None:
    """The stocktake page come back to after "Save today's snapshot": what happened said beside the button (saved
    the first time, "nothing has changed" after), and the first snapshot's details open (its reflections, what
    moved, its delete link)."""
    page.goto(_answer_once(site, page, *STOCKTAKE))
    if not site.ladder_said:   # something changed since the last snapshot: saved, the first time
        statement = page.get_by_role("checkbox", name=re.compile(r"^9\. "))
        statement.set_checked(not statement.is_checked())
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save today’s snapshot").click()
    site.ladder_said = True
    expect(page.locator("#ladder-of-change-snapshot-said")).not_to_be_empty()
    page.locator(".snapshot-list summary").first.click()
    return navigation.value


def _snapshot_delete_confirm(site: Site, page: Page) -> Response | None:
    """The page that says what deleting the participant's latest ladder snapshot takes away (nothing is deleted)."""
    page.goto(_answer_once(site, page, *STOCKTAKE))
    page.locator(".snapshot-list summary").first.click()
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=re.compile(r"^Delete this snapshot of ")).first.click()
    return navigation.value


def _answered_pages() -> list[PageKind]:
    programme = LIBRARY.programme("p2p")
    return [PageKind(f"session-answered:{module_id}/{session_id}", PARTICIPANT, _answered(module_id, session_id),
                     programme.module(module_id).session(session_id).title)
            for module_id, session_id in by_session()]


def _programme_pages() -> list[PageKind]:
    """Every module page and every session page of every programme, as a facilitator sees it (facilitators see
    everything participants see, plus the facilitator notes)."""
    kinds = []
    for programme in LIBRARY.programmes.values():
        group = f"{{group[{programme.id}]}}"
        for module in programme.modules:
            kinds.append(PageKind(f"module:{programme.id}/{module.id}", FACILITATOR,
                                  _goto(f"{group}/modules/{module.id}"), module.title))
            for session in module.sessions:
                kinds.append(PageKind(f"session:{programme.id}/{module.id}/{session.id}", FACILITATOR,
                                      _goto(f"{group}/modules/{module.id}/sessions/{session.id}"), session.title))
    return kinds


# Running a session. The discussion boards belong to the boundaries scenarios of the Peer Support Training course:
# the facilitator's course group runs that session, and the participant joins that group (the first time).
COURSE = "peer-support-training"
BOUNDARIES_SESSION = LIBRARY.programme(COURSE).module("course").session("positive-risk-taking-and-boundaries")
DISCUSSION = "{group[peer-support-training]}/discuss/course/positive-risk-taking-and-boundaries/boundaries/scenario-1"


def _run_course_session(site: Site, page: Page) -> Response | None:
    """The run page once the facilitator has chosen the boundaries session, with a timer running."""
    page.goto("{group[peer-support-training]}/run".format(**site.places))
    page.get_by_label("Or choose a session").select_option(label=BOUNDARIES_SESSION.title)
    page.get_by_role("button", name="Make this the current session").click()
    expect(page.get_by_role("heading", name=f"Now: {BOUNDARIES_SESSION.title}")).to_be_visible()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="3 minutes", exact=True).click()
    return navigation.value


def _timer_projector(site: Site, page: Page) -> Response | None:
    """The timer on its own for the projector, running, under the boundaries session's title."""
    _run_course_session(site, page)
    return page.goto("{group[peer-support-training]}/run/projector".format(**site.places))


def _in_the_course(then: Callable) -> Callable:
    """The participant, once a member of the facilitator's course group (joined with its code the first time)."""
    def open(site: Site, page: Page) -> Response | None:
        if not site.in_course:
            page.goto("/join/{code[peer-support-training]}".format(**site.places))
            page.get_by_role("button", name="Join {group_name[peer-support-training]}".format(**site.places)).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(site.places["group_name"][COURSE])
            site.in_course = True
        return then(site, page)
    return open


def _send_thought(words: str, anonymous: bool = False, board: str = DISCUSSION,
                  label: str = "Your thought on Scenario 1") -> Callable:
    """The participant sends a thought (or an empty box) on a board (the first scenario's unless told); htmx answers
    in place."""
    def open(site: Site, page: Page) -> Response | None:
        response = page.goto(board.format(**site.places))
        page.get_by_label(label, exact=True).fill(words)
        if anonymous:
            page.get_by_label(re.compile("^Don’t show my name")).check()
        page.get_by_role("button", name="Add my thought").click()
        expect(page.get_by_role("status").filter(has_text="Added" if words else "Please write")).to_be_visible()
        return response
    return open


# Discussion boards a facilitator opens in a session: two in the course group's boundaries session, from its run
# page: one with a prompt of the facilitator's own, open; one with one of the session's questions, closed.
COURSE_BOARDS = "{group[peer-support-training]}/discuss/course/positive-risk-taking-and-boundaries/_board"
BOARD_PROMPT = "What helps you hold a boundary kindly?"
BOARD_QUESTION = next(block for block in BOUNDARIES_SESSION.blocks if block.type == "scenarios").questions[0]


def _with_boards(then: Callable) -> Callable:
    def open(site: Site, page: Page) -> Response | None:
        if not site.boards_opened:
            staff = site.pages[FACILITATOR]
            _run_course_session(site, staff)   # the boundaries session is the group's current one
            staff.get_by_label("A question or prompt for the group").fill(BOARD_PROMPT)
            staff.get_by_role("button", name="Open the board").click()
            expect(staff.get_by_role("heading", level=1)).to_have_text(BOARD_PROMPT)
            staff.goto("{group[peer-support-training]}/run".format(**site.places))
            staff.get_by_role("button", name="Open a board with this question").click()
            expect(staff.get_by_role("heading", level=1)).to_have_text(BOARD_QUESTION)
            staff.get_by_role("button", name="Close the board").click()
            expect(staff.get_by_text("The board is closed. Everyone can still read it.")).to_be_visible()
            site.boards_opened = True
        return then(site, page)
    return open


def _open_board_empty(site: Site, page: Page) -> Response | None:
    """The run page after "Open the board" with no prompt: the problem is said in place (htmx)."""
    response = page.goto("{group[peer-support-training]}/run".format(**site.places))
    page.get_by_role("button", name="Open the board").click()
    expect(page.get_by_text("Please write a question or prompt for the board first.")).to_be_visible()
    return response


PAGE_KINDS: list[PageKind] = [
    # Someone who is not logged in.
    PageKind("welcome", ANYONE, _goto("/"), "Welcome to Peer 2 Peer"),
    PageKind("login", ANYONE, _goto("/login"), "Log in"),
    PageKind("login-wrong-password", ANYONE,
             _send("/login", "Log in", (("Your name", "Nobody here"), ("Password", "not the password"))), "Log in"),
    PageKind("join", ANYONE, _goto("/join"), "Join a group"),
    PageKind("join-wrong-code", ANYONE, _send("/join", "Continue", (("Join code", "ZZZ-ZZZ"),)), "Join a group"),
    PageKind("join-by-link", ANYONE, _goto("/join/{demo_code}"), "Join Demo group"),
    PageKind("join-by-link-sent-empty", ANYONE, _send("/join/{demo_code}", "Join the group"), "Join Demo group"),
    PageKind("setup-link", ANYONE, _goto("{setup}"), "Create your facilitator account"),
    PageKind("setup-link-sent-empty", ANYONE, _send("{setup}", "Create my account"),
             "Create your facilitator account"),
    PageKind("setup-link-used", ANYONE, _goto("/setup/not-a-link-anyone-was-given"),
             "This setup link has been used or has expired"),
    PageKind("reset", ANYONE, _goto("/reset"), "Choose a new password"),
    PageKind("reset-sent-empty", ANYONE, _send("/reset", "Set my new password"), "Choose a new password"),
    PageKind("privacy", ANYONE, _goto("/privacy"), "Privacy: who can see what"),
    PageKind("not-found", ANYONE, _goto("/no/such/page"), "This page isn't here"),
    PageKind("support", ANYONE, _goto("/support"), "Support"),
    # A participant.
    PageKind("home-participant", PARTICIPANT, _goto("/"), "Hello, {participant}"),
    PageKind("group-participant", PARTICIPANT, _goto("{demo}"), "Demo group"),
    PageKind("home-participant-between-sessions", PARTICIPANT, _with_follow_up(_goto("/")), "Hello, {participant}"),
    PageKind("group-participant-between-sessions", PARTICIPANT, _with_follow_up(_goto("{demo}")), "Demo group"),
    PageKind("module-participant", PARTICIPANT, _goto("{demo}/modules/module-1"),
             "Module 1: Introducing Peer Support"),
    PageKind("session-participant", PARTICIPANT, _goto("{demo}/modules/module-1/sessions/session-1"),
             LIBRARY.programme("p2p").module("module-1").session("session-1").title),
    PageKind("join-when-logged-in", PARTICIPANT, _goto("/join/{code[p2p]}"), "Join {group_name[p2p]}?"),
    PageKind("group-not-mine", PARTICIPANT, _goto("{group[p2p]}"), "This page isn't here"),
    PageKind("account", PARTICIPANT, _goto("/account"), "Your account"),
    PageKind("board-after-joining", NEWCOMER, _join_as_newcomer_while_the_board_is_open, "Our code of behaviour"),
    PageKind("recovery-code-on-opening-the-workbook", NEWCOMER, _newcomer_opens_the_workbook, "Your recovery code"),
    PageKind("recovery-code-shown-before", PARTICIPANT, _goto("/account/recovery-code"), "Your recovery code"),
    PageKind("reset-needs-recovery-code", ANYONE, _reset_without_recovery_code, "Choose a new password"),
    *_answered_pages(),
    PageKind("session-with-shared-answer", PARTICIPANT,
             _with_shared("{demo}/modules/preparing/sessions/personal-stocktake"),
             LIBRARY.programme("p2p").module("preparing").session("personal-stocktake").title),
    PageKind("session-ladder-snapshot-said", PARTICIPANT, _ladder_snapshot_said,
             LIBRARY.programme("p2p").module("preparing").session("personal-stocktake").title, swapped=True),
    PageKind("workbook-snapshot-delete-confirm", PARTICIPANT, _snapshot_delete_confirm,
             re.compile(r"^Delete your snapshot of \d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d(:\d\d)?\?$")),
    PageKind("session-share-panel-nothing-to-share", PARTICIPANT, _nothing_to_share,
             LIBRARY.programme("p2p").module("module-1").session("session-1").title, swapped=True),
    PageKind("session-done-for-now", PARTICIPANT, _done_for_now,
             LIBRARY.programme("p2p").module("module-1").session("session-3").title, swapped=True),
    PageKind("session-both-versions", TWO_TABS, _in_two_tabs(_both_versions_here),
             LIBRARY.programme("p2p").module("module-1").session("session-1").title, swapped=True),
    PageKind("workbook-both-versions", TWO_TABS, _in_two_tabs(_both_versions_without_script),
             "Two versions of one answer"),
    PageKind("home-drafts-kept-elsewhere", TWO_TABS, _in_two_tabs(_draft_kept_elsewhere), "Hello, {two_tabs}",
             swapped=True),
    PageKind("workbook", PARTICIPANT, _with_answers("/workbook"), "My workbook"),
    PageKind("workbook-empty", NEWCOMER, _newcomer_then("/workbook"), "My workbook"),
    PageKind("workbook-print", PARTICIPANT, _with_answers("/workbook/print"), "Workbook of {participant}"),
    PageKind("workbook-print-module", PARTICIPANT, _with_answers("/workbook/print?module=p2p/preparing"),
             "Workbook of {participant}"),
    PageKind("workbook-print-blank", PARTICIPANT, _goto("/workbook/print?module=p2p/module-1&blank=1"),
             "A workbook to fill in by hand"),
    PageKind("workbook-story", PARTICIPANT,
             _with_answers("/workbook/story?place=p2p/preparing/personal-recovery-story/recovery-story"),
             "Personal recovery story"),
    PageKind("to-discuss", PARTICIPANT, _with_shared("/workbook/to-discuss"), "To discuss"),
    PageKind("to-discuss-empty", NEWCOMER, _newcomer_then("/workbook/to-discuss"), "To discuss"),
    PageKind("workbook-delete-confirm", PARTICIPANT, _goto("/workbook/delete"), "Delete my workbook?"),
    PageKind("workbook-earlier", RESTARTER, _restarted(_goto("/workbook/earlier")), "Bring back my earlier workbook"),
    PageKind("home-after-a-reset", RESTARTER, _restarted(_signed_in_again), "Hello, {restarter}"),
    PageKind("join-on-hold-after-a-reset", RESTARTER, _restarted(_goto("/join/{thursday_code}")),
             "Thursday group is closed to this account for now"),
    PageKind("group-member-on-hold", SECOND_FACILITATOR, _restarted(_goto("{thursday}")), "Thursday group"),
    PageKind("workbook-earlier-wrong-code", RESTARTER,
             _restarted(_send("/workbook/earlier", "Open it", (("Your earlier recovery code", NOT_THE_CODE),))),
             "Bring back my earlier workbook"),
    PageKind("account-delete", PARTICIPANT, _goto("/account/delete"), "Delete my account?"),
    PageKind("account-delete-wrong-password", PARTICIPANT,
             _send("/account/delete", "Delete my account", (("Your password, to confirm", "not the password"),)),
             "Delete my account?"),
    PageKind("password", PARTICIPANT, _goto("/account/password"), "Change your password"),
    PageKind("password-sent-empty", PARTICIPANT, _send("/account/password", "Change my password"),
             "Change your password"),
    # A facilitator.
    PageKind("home-facilitator", FACILITATOR, _goto("/"), "Hello, {facilitator}"),
    PageKind("group-new", FACILITATOR, _goto("/groups/new"), "Create a group"),
    PageKind("group-new-sent-empty", FACILITATOR, _send("/groups/new", "Create the group"), "Create a group"),
    PageKind("group-edit", FACILITATOR, _goto("{demo}/edit"), "Edit the group’s details"),
    PageKind("group-facilitator", FACILITATOR, _goto("{demo}"), "Demo group"),
    PageKind("invite", FACILITATOR, _goto("{demo}/invite"), "Invite people to Demo group"),
    PageKind("invite-new-code", FACILITATOR, _new_code, "Invite people to Rotating group", swapped=True),
    PageKind("invite-closed", FACILITATOR, _goto("{closed}/invite"), "Invite people to Closed group"),
    PageKind("remove-confirm", FACILITATOR, _follow("{demo}", "link", "Remove {last_participant}"),
             "Remove {last_participant} from Demo group?"),
    PageKind("reset-confirm", FACILITATOR, _follow("{demo}", "link", "Give {last_participant} a reset code"),
             "A reset code for {last_participant}"),
    PageKind("reset-code", FACILITATOR, _make_reset_code, "Reset code for {last_participant}"),
    PageKind("invite-facilitator", FACILITATOR, _goto("/facilitators/invite"), "Invite a facilitator"),
    PageKind("invite-facilitator-link", FACILITATOR,
             _send("/facilitators/invite", "Make a facilitator link"), "Invite a facilitator"),
    PageKind("account-facilitator", FACILITATOR, _goto("/account"), "Your account"),
    PageKind("account-delete-sole-facilitator", FACILITATOR, _goto("/account/delete"), "Delete my account?"),
    PageKind("group-facilitator-shared-answer", FACILITATOR, _with_shared("{demo}"), "Demo group"),
    PageKind("support-facilitator", FACILITATOR, _goto("/support"), "Support"),
    PageKind("between-sessions", FACILITATOR, _follow("{demo}", "link", "Between sessions with {participant}"),
             "Between sessions with {participant}"),
    PageKind("between-sessions-problems", FACILITATOR, _between_sessions_problems,
             "Between sessions with {participant}"),
    PageKind("between-sessions-recorded", FACILITATOR, _with_follow_up(_goto("{demo}")), "Demo group"),
    # Running a session.
    PageKind("run-nothing-chosen", FACILITATOR, _goto("{demo}/run"), "Run a session"),
    PageKind("run-session-with-timer", FACILITATOR, _run_course_session, "Run a session"),
    PageKind("discussion-participant", PARTICIPANT, _in_the_course(_goto(DISCUSSION)), "Scenario 1"),
    PageKind("discussion-participant-sent", PARTICIPANT,
             _in_the_course(_send_thought("Say at the start what the relationship is", anonymous=True)),
             "Scenario 1", swapped=True),
    PageKind("discussion-participant-empty-sent", PARTICIPANT, _in_the_course(_send_thought("")), "Scenario 1",
             swapped=True),
    PageKind("discussion-facilitator", FACILITATOR, _goto(DISCUSSION), "Scenario 1"),
    PageKind("discussion-projector", FACILITATOR, _goto(DISCUSSION + "/projector"), "Scenario 1"),
    PageKind("timer-projector", FACILITATOR, _timer_projector, BOUNDARIES_SESSION.title),
    PageKind("home-participant-now", PARTICIPANT, _in_the_course(_goto("/")), "Hello, {participant}"),
    PageKind("run-session-with-boards", FACILITATOR, _with_boards(_goto("{group[peer-support-training]}/run")),
             "Run a session"),
    PageKind("run-open-board-empty-sent", FACILITATOR, _with_boards(_open_board_empty), "Run a session", swapped=True),
    PageKind("session-board-facilitator", FACILITATOR, _with_boards(_goto(COURSE_BOARDS + "/1")), BOARD_PROMPT),
    PageKind("session-board-participant", PARTICIPANT, _in_the_course(_with_boards(_goto(COURSE_BOARDS + "/1"))),
             BOARD_PROMPT),
    PageKind("session-board-participant-sent", PARTICIPANT,
             _in_the_course(_with_boards(_send_thought("Say no warmly, and say why", board=COURSE_BOARDS + "/1",
                                                       label="Your thought"))), BOARD_PROMPT, swapped=True),
    PageKind("session-board-closed", PARTICIPANT, _in_the_course(_with_boards(_goto(COURSE_BOARDS + "/2"))),
             BOARD_QUESTION),
    PageKind("home-participant-board-open", PARTICIPANT, _in_the_course(_with_boards(_goto("/"))), "Hello, {participant}"),
    PageKind("group-participant-board-open", PARTICIPANT,
             _in_the_course(_with_boards(_goto("{group[peer-support-training]}"))), "{group_name[peer-support-training]}"),
    # A content note (trauma) before the lesson, with Support and "skip ahead", as a participant sees it.
    PageKind("session-with-content-note", PARTICIPANT,
             _in_the_course(_goto("{group[peer-support-training]}/modules/course/sessions/"
                                  "positive-risk-taking-and-boundaries")), BOUNDARIES_SESSION.title),
    *_programme_pages(),
    # The code of behaviour board.
    *_board_pages(),
]
PAGE_IDS = [kind.id for kind in PAGE_KINDS]
assert len(set(PAGE_IDS)) == len(PAGE_IDS), "page kind ids must be unique"


class Site:
    """A running server with people in it: the `p2p demo` group (a facilitator and participants), a group the
    facilitator made through the app for every programme, one whose code is changed again and again, and one
    whose joining is closed. One browser context per kind of visitor, each with one page that moves from page to
    page. Some pages need something done first, once per site: answers written (`answered`), one of them shared
    with the facilitators (`shared`), a participant whose workbook started afresh after a reset (`restarted`)."""

    def __init__(self, server: LiveServer, browser: Browser, **context_args):
        self.server = server
        self.browser, self.context_args = browser, context_args
        demo = server.demo()
        self.demo = demo
        self.contexts = {who: browser.new_context(**context_args)
                         for who in (ANYONE, PARTICIPANT, FACILITATOR, NEWCOMER, RESTARTER, TWO_TABS,
                                     SECOND_FACILITATOR)}
        self.pages = {who: context.new_page() for who, context in self.contexts.items()}
        participant = demo.participants[0]
        log_in(self.pages[PARTICIPANT], participant.name, participant.password)
        staff = self.pages[FACILITATOR]
        log_in(staff, demo.facilitator.name, demo.facilitator.password)
        self.places: dict = {
            "setup": urlsplit(server.new_setup_link()).path,
            "demo_code": demo.join_code,
            "demo": urlsplit(staff.get_by_role("link", name=demo.group_name).get_attribute("href")).path,
            "participant": participant.name,
            "facilitator": demo.facilitator.name,
            "last_participant": demo.participants[-1].name,
            "group": {}, "code": {}, "group_name": {},
        }
        self.places["board"] = self.places["demo"] + "/board"
        self.board_ready = False     # the board has proposals and responses (see set_board)
        self.board_versioned = False  # and a version of the code
        self.board_revised = False    # and a second version, with what changed
        self.board_reaffirmed = False  # and a re-affirm round of it
        self.board_signed = False     # and the participant has committed to it, signed with their name
        self.answered: set[tuple[str, str]] = set()   # session pages the participant has answered (see _answered)
        self.newcomers = 0
        self.shared = False      # the participant has shared an answer (see _with_shared)
        self.ladder_said = False   # the participant has saved a snapshot from the said state (see _ladder_snapshot_said)
        self.restarted = False   # the restarter has a fresh workbook and an earlier one (see _restarted)
        self.signed_in_again = False   # and has signed in again since (see _signed_in_again)
        self.followed_up = False   # the facilitator has recorded "between sessions" for the participant
        self.in_course = False   # the participant has joined the course group (see _in_the_course)
        self.boards_opened = False   # the facilitator has opened boards in the course group (see _with_boards)
        self.two_tabs_saves = 0  # versions saved by the "two tabs" participant's other tab (see _in_two_tabs)
        self.html: dict[str, str] = {}   # page kind id -> its HTML at its first visit on a desktop (see visit)
        for programme in LIBRARY.programmes.values():
            name = f"{programme.title} group"
            path, code = self.create_group(name, programme.title)
            self.places["group"][programme.id] = path
            self.places["code"][programme.id] = code
            self.places["group_name"][programme.id] = name
        self.places["rotating"], _ = self.create_group("Rotating group", LIBRARY.programme("p2p").title)
        self.places["closed"], _ = self.create_group("Closed group", LIBRARY.programme("p2p").title)
        staff.get_by_role("button", name="Close joining").click()
        expect(staff.get_by_text("Joining is closed: there is no code at the moment.")).to_be_visible()

    def create_group(self, name: str, programme_title: str, page: Page | None = None) -> tuple[str, str]:
        """Create a group through the app, as a facilitator does; return its address and join code."""
        page = page or self.pages[FACILITATOR]
        page.goto("/groups/new")
        page.get_by_label("Group name").fill(name)
        page.get_by_role("radio", name=re.compile("^" + re.escape(programme_title))).check()
        page.get_by_role("button", name="Create the group").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Invite people to {name}")
        path = urlsplit(page.url).path.removesuffix("/invite")
        code = page.get_by_text(JOIN_CODE, exact=True).inner_text()
        return path, code

    # -- The demo group's board ------------------------------------------------------------------------------
    # Brought into each state through the app's own form posts (test_board.py uses the buttons, live), so that
    # each page kind costs one page load.

    def _post(self, page: Page, tail: str, fields: dict[str, str] | list[tuple[str, str]]) -> str:
        board = self.places["board"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(board).text())[1]
        form = [("csrf_token", token), *(fields.items() if isinstance(fields, dict) else fields)]
        answer = page.request.post(board + tail, data=urlencode(form),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.ok, f"POST {board}{tail} {fields}: {answer.status}"
        return answer.text()

    def _proposal_ids(self) -> dict[str, str]:
        html = self.pages[FACILITATOR].request.get(self.places["board"]).text()
        return dict((text, number) for number, text in
                    re.findall(r'<li id="proposal-(\d+)"[^>]*>\s*<p class="proposal__text">([^<]+)</p>', html))

    def _set_up_board(self) -> None:
        """Proposals (anonymous and named, one hidden, two merged under a theme) and responses from two
        participants, a private objection among them."""
        staff, participant = self.pages[FACILITATOR], self.pages[PARTICIPANT]
        other = self.browser.new_context(**self.context_args)
        try:
            second = self.demo.participants[1]
            other_page = other.new_page()
            log_in(other_page, second.name, second.password)
            self._post(participant, "/proposals", {"text": "Listen without judging"})
            self._post(other_page, "/proposals", {"text": "Listen to each other"})
            self._post(other_page, "/proposals", {"text": "One voice at a time"})
            self._post(staff, "/settings", {"action": "named-on"})
            self._post(other_page, "/proposals", {"text": "Keep what is shared in the room"})
            self._post(participant, "/proposals", {"text": "Hugs only when asked"})
            self._post(staff, "/settings", {"action": "named-off"})
            ids = self._proposal_ids()
            self._post(staff, f"/proposals/{ids['Hugs only when asked']}", {"action": "hide"})
            self._post(staff, "/merge", [("proposal", ids["Listen without judging"]),
                                         ("proposal", ids["Listen to each other"]),
                                         ("text", "Listen to each other without judging")])
            ids = self._proposal_ids()
            self._post(staff, f"/proposals/{ids['Listen to each other without judging']}",
                       {"action": "theme", "theme": "Listening"})
            self._post(staff, "/settings", {"action": "phase:respond"})
            for page, text, kind in ((participant, "Listen to each other without judging", "agree"),
                                     (participant, "One voice at a time", "object-private"),
                                     (other_page, "One voice at a time", "unsure"),
                                     (other_page, "Keep what is shared in the room", "object"),
                                     (other_page, "Listen to each other without judging", "agree")):
                self._post(page, f"/proposals/{ids[text]}/respond", {"kind": kind})
        finally:
            other.close()

    def set_board(self, phase: str, *, hide: bool = False, tallies: bool = False, blank: bool = False,
                  version: bool = False, new_version: bool = False, reaffirm: bool = False,
                  signed: bool = False) -> None:
        staff = self.pages[FACILITATOR]
        if not self.board_ready:
            self._set_up_board()
            self.board_ready = True
        if version and not self.board_versioned:   # the suggested behaviour agreed, as version 1
            ids = self._proposal_ids()
            self._post(staff, "/settings", {"action": "phase:agree"})
            self._post(staff, f"/proposals/{ids['Listen to each other without judging']}", {"action": "agree"})
            self._post(staff, "/version", {})
            self.board_versioned = True
        if new_version and not self.board_revised:   # one more behaviour agreed, as version 2
            ids = self._proposal_ids()
            self._post(staff, "/settings", {"action": "phase:agree"})
            self._post(staff, f"/proposals/{ids['One voice at a time']}", {"action": "agree"})
            self._post(staff, "/version", {})
            self.board_revised = True
        if reaffirm and not self.board_reaffirmed:   # a re-affirm round of version 1, with a new proposal in it
            self._post(staff, "/round", {})
            self._post(self.pages[PARTICIPANT], "/proposals", {"text": "Text the group if you will be late"})
            self.board_reaffirmed = True
        if signed and not self.board_signed:
            self._post(self.pages[PARTICIPANT], "/commit", {"sign": "1"})
            self.board_signed = True
        for action in (f"phase:{phase}", "hide-on" if hide else "hide-off"):
            self._post(staff, "/settings", {"action": action})
        if hide:   # something waiting to be revealed (hiding holds back only what is proposed from now on)
            self._post(staff, "/proposals", {"text": "Take turns to speak"})
        for action in ("tallies-on" if tallies else "tallies-off", "blank-on" if blank else "blank-off"):
            self._post(staff, "/settings", {"action": action})

    def visit(self, kind: PageKind, viewport: dict = DESKTOP) -> tuple[Page, Response]:
        page = self.pages[kind.who]
        page.set_viewport_size(viewport)
        response = kind.open(self, page)
        assert response is not None, f"{kind.id}: no page was loaded"
        page.wait_for_load_state()
        expected = kind.heading if isinstance(kind.heading, re.Pattern) else kind.heading.format(**self.places)
        expect(page.get_by_role("heading", level=1)).to_have_text(expected)
        if viewport == DESKTOP and kind.id not in self.html:
            # For the Nu checker (test_html_valid.py): what the server sent, not the browser's re-serialised DOM,
            # so markup mistakes a browser silently repairs are still caught; the DOM where htmx changed the page.
            self.html[kind.id] = page.content() if kind.swapped else response.text()
        return page, response

    def html_of_every_kind(self) -> dict[str, str]:
        """Each kind's HTML (see visit), visiting in order the kinds not visited yet."""
        for kind in PAGE_KINDS:
            if kind.id not in self.html:
                self.visit(kind)
        return {kind.id: self.html[kind.id] for kind in PAGE_KINDS}

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()
