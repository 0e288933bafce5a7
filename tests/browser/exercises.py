"""One exercise of every kind in the workbook: how a person answers it, and what they see when they come back.

Shared by the workbook tests (answer, reload, everything is still there) and by the page kinds that axe and vnu
check (session pages with answers in them, a ladder snapshot table and a strengths diagram showing). Every
control is found as a person finds it: by its role and its label or legend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

SAVED = "Saved"
# Said beside the button once a snapshot is saved: its date and time, in the host's time zone.
SNAPSHOT_SAVED = re.compile(r"^Your snapshot of \d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d(:\d\d)? is saved\. "
                            r"Your ticks stay as they are\.$")
# A snapshot's column heading: its date and time (with seconds when another was taken in the same minute).
SNAPSHOT_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d(:\d\d)?$")
# Module 1, Session 1: free-text questions, the simplest page to type into.
POSITIVE = "What feels positive about undertaking P2P?"
SAFE = ("To feel safe undertaking the programme, what needs to be in place for you? "
        "What behaviours help you feel safe?")
STAGE_REFLECTION = "How can you use this in a positive way in your role/emerging role in peer support?"
BOUNDARIES = "What does this mean for boundaries?"


def status_of(control: Locator) -> Locator:
    """The line under an answer that says "Saving…", "Saved", "Not saved — retrying"… (a polite live region): the
    one the control is described by (a ladder statement's is under its stage), or else its form's."""
    for line_id in (control.get_attribute("aria-describedby") or "").split():
        line = control.page.locator(f"[id='{line_id}'][role=status]")
        if line.count():
            return line
    return control.locator("xpath=ancestor::form[1]").get_by_role("status")


def share_panel(control: Locator) -> Locator:
    """The "Share or mark this answer" panel under a written answer: the element right after its form."""
    return control.locator("xpath=ancestor::form[1]/following-sibling::div[1]")


def open_share_panel(panel: Locator) -> None:
    panel.get_by_text("Share or mark this answer").click()   # (named with its question too, for screen readers)
    expect(panel.get_by_text(re.compile("^Only you can see your answer. Marking it to discuss keeps it just as private"))
           ).to_be_visible()


def choose_in_panel(panel: Locator, button: str, keyboard: bool = False) -> None:
    """Press one of the share panel's buttons (or focus it and press Enter), and wait until htmx has put the new
    panel in place of the old one: some buttons (as "Share the latest version") are in both."""
    old = panel.element_handle()
    if keyboard:
        panel.get_by_role("button", name=button).focus()
        panel.page.keyboard.press("Enter")
    else:
        panel.get_by_role("button", name=button).click()
    panel.page.wait_for_function("panel => !panel.isConnected", arg=old)


def textbox(page: Page, name: str) -> Locator:
    return page.get_by_role("textbox", name=name, exact=True)


def statement(page: Page, number: int) -> Locator:
    """A ladder of change statement's tick box: its label starts with the statement's number."""
    return page.get_by_role("checkbox", name=re.compile(rf"^{number}\. "))


def strength(page: Page, name: str) -> Locator:
    return page.get_by_role("checkbox", name=name, exact=True)


def strengths_diagram(page: Page) -> Locator:
    return page.get_by_role("img", name=re.compile(r"^Your choices across the 4 groups"))


def snapshots_table(page: Page) -> Locator:
    return page.get_by_role("table", name="Your snapshots, newest first")


def snapshot_cells(page: Page, number: int) -> list[str]:
    """Statement `number`'s row of the snapshot history as a screen reader reads it, one cell per snapshot, newest
    first: "marked", "not marked", "marked (new since …)", "not marked (no longer: marked on …)"."""
    row = snapshots_table(page).get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{number}\. ")))
    expect(row).to_have_count(1)
    return [" ".join(cell.evaluate("c => c.querySelector('.visually-hidden').textContent").split())
            for cell in row.get_by_role("cell").all()]


def snapshot_marks(page: Page, number: int) -> list[bool]:
    """Statement `number`'s row of the snapshot history: marked or not in each snapshot, newest first."""
    return [cell.startswith("marked") for cell in snapshot_cells(page, number)]


def take_snapshot(page: Page, numbers: list[int]) -> None:
    """Tick these statements of the ladder of change (and only these), and at once save today's snapshot: the
    last ticks' autosaves may still be on their way, and the snapshot records what is ticked on the page."""
    for number in range(1, 11):
        statement(page, number).set_checked(number in numbers)
    page.get_by_role("button", name="Save today’s snapshot").click()
    expect(page.get_by_role("status").filter(has_text=SNAPSHOT_SAVED)).to_be_visible()


def wait_until_saved(controls: list[Locator]) -> None:
    for control in controls:
        expect(status_of(control), f"the answer {control} was not saved").to_have_text(SAVED)


@dataclass(frozen=True)
class Exercise:
    kind: str
    module: str
    session: str
    block: str                                     # the block's id in content/
    answer: Callable[[Page], list[Locator]]        # answers it; returns the controls whose status will say "Saved"
    check: Callable[[Page], None]                  # after a reload: the answers are still there
    then: Callable[[Page], None] | None = None     # once everything on the page is saved (it may leave the page)

    def path(self, group: str) -> str:
        return f"{group}/modules/{self.module}/sessions/{self.session}"


# -- Free text (Preparing for P2P, Personal stocktake) --------------------------------------------------------

DISCOVERED = "What have you discovered from completing this personal stocktake?"
DISCOVERED_TEXT = "That I’m further on than I thought ☀️\nand that asking for help is a strength, <not> a failing."


def _answer_free_text(page: Page) -> list[Locator]:
    field = textbox(page, DISCOVERED)
    field.fill(DISCOVERED_TEXT)
    return [field]


def _check_free_text(page: Page) -> None:
    expect(textbox(page, DISCOVERED)).to_have_value(DISCOVERED_TEXT)


# -- Ladder of change: a stage's reflection, and a snapshot of the statements that feel real now -------------

LADDER_REFLECTION = f"Stuck {STAGE_REFLECTION}"
LADDER_TEXT = "I remember being stuck; it helps me sit with someone who is."
LADDER_TICKS = [2, 5]


def _answer_ladder(page: Page) -> list[Locator]:
    field = textbox(page, LADDER_REFLECTION)
    field.fill(LADDER_TEXT)
    return [field]


def _snapshot_ladder(page: Page) -> None:
    take_snapshot(page, LADDER_TICKS)


def _check_ladder(page: Page) -> None:
    expect(textbox(page, LADDER_REFLECTION)).to_have_value(LADDER_TEXT)
    expect(snapshots_table(page)).to_be_visible()
    for number in range(1, 11):
        assert snapshot_marks(page, number)[0] == (number in LADDER_TICKS), f"statement {number}"


# -- Spectrum: helper or peer relationship (Module 1, Session 2) ----------------------------------------------

SPECTRUM = re.compile(r"^Take a moment to consider the two kinds of relationship, side by side, and mark where")
SPECTRUM_CHOICE = "More to the right"
SPECTRUM_TEXT = "Mostly doing with, though I slip into advice when I am tired."


def spectrum(page: Page) -> Locator:
    return page.get_by_role("group", name=SPECTRUM)


def _answer_spectrum(page: Page) -> list[Locator]:
    choice = spectrum(page).get_by_role("radio", name=SPECTRUM_CHOICE)
    choice.check()
    field = textbox(page, "Your thoughts (optional)")
    field.fill(SPECTRUM_TEXT)
    return [choice, field]


def _check_spectrum(page: Page) -> None:
    expect(spectrum(page).get_by_role("radio", name=SPECTRUM_CHOICE)).to_be_checked()
    expect(spectrum(page).get_by_role("radio", checked=True)).to_have_count(1)
    expect(textbox(page, "Your thoughts (optional)")).to_have_value(SPECTRUM_TEXT)


# -- Table with notes: a row of the principles and features of peer support (Module 1, Session 2) ------------

TABLE_ROW = f"Mutual: a relationship based on shared experience, empathy, authenticity and respect. {BOUNDARIES}"
TABLE_TEXT = "Share my story only when it helps the other person."


def _answer_table(page: Page) -> list[Locator]:
    field = textbox(page, TABLE_ROW)
    field.fill(TABLE_TEXT)
    return [field]


def _check_table(page: Page) -> None:
    expect(textbox(page, TABLE_ROW)).to_have_value(TABLE_TEXT)


# -- Free pick: top 5 values, each with a note (Module 1, Session 3) ------------------------------------------

VALUE_NOTE = "Value 1 What it means to you in the context of peer support"
VALUE_NAME, VALUE_TEXT = "Honesty", "Saying what I can and cannot offer."


def _answer_values(page: Page) -> list[Locator]:
    name, note = textbox(page, "Value 1"), textbox(page, VALUE_NOTE)
    name.fill(VALUE_NAME)
    note.fill(VALUE_TEXT)
    return [name, note]


def _check_values(page: Page) -> None:
    expect(textbox(page, "Value 1")).to_have_value(VALUE_NAME)
    expect(textbox(page, VALUE_NOTE)).to_have_value(VALUE_TEXT)
    expect(textbox(page, "Value 2")).to_have_value("")


# -- Strengths: choose up to 8 of 28, drawn on a diagram of the four domains (Module 1, Session 4) ------------

STRENGTHS = ["Empathy", "Curious", "Planner"]


def _answer_strengths(page: Page) -> list[Locator]:
    for name in STRENGTHS:
        strength(page, name).check()
    return [strength(page, STRENGTHS[-1])]


def _check_strengths(page: Page) -> None:
    for name in STRENGTHS:
        expect(strength(page, name)).to_be_checked()
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(len(STRENGTHS))
    diagram = strengths_diagram(page)
    expect(diagram).to_have_accessible_name(re.compile(r"\(3 of 8\)"))
    expect(diagram).to_have_accessible_description(re.compile(r"Executing: Planner\. .*Relationship building: Empathy\. "
                                                       r"Strategic thinking: Curious\."))


# -- Yes/no checks: language and impact (Preparing for P2P, Personal recovery story) ---------------------------

YES_NO = {
    "Are you comfortable with the level of personal disclosure (not over familiar or over emotional)?": "Yes",
    "Have you checked that your story, as best you can, is unlikely to adversely trigger others?": "No",
    "Have you checked your story contains positive and encouraging language?": "Not sure yet",
}


def _answer_yes_no(page: Page) -> list[Locator]:
    chosen = []
    for question, answer in YES_NO.items():
        radio = page.get_by_role("group", name=question).get_by_role("radio", name=answer, exact=True)
        radio.check()
        chosen.append(radio)
    return chosen


def _check_yes_no(page: Page) -> None:
    for question, answer in YES_NO.items():
        group = page.get_by_role("group", name=question)
        expect(group.get_by_role("radio", name=answer, exact=True)).to_be_checked()
        expect(group.get_by_role("radio", checked=True)).to_have_count(1)


# -- The recovery story, one question of one section (Preparing for P2P, Personal recovery story) -------------

STORY_QUESTION = "Introduction to you Who are you?"
STORY_TEXT = "A dad, a gardener, and someone who has been through the worst and found a way on."


def _answer_story(page: Page) -> list[Locator]:
    field = textbox(page, STORY_QUESTION)
    field.press_sequentially("A dad, a gardener")   # typed, as a person does; then the rest in one go (pasted)
    field.fill(STORY_TEXT)
    return [field]


def _check_story(page: Page) -> None:
    expect(textbox(page, STORY_QUESTION)).to_have_value(STORY_TEXT)


STOCKTAKE, STORY = ("preparing", "personal-stocktake"), ("preparing", "personal-recovery-story")
SESSION_2, SESSION_3, SESSION_4 = (("module-1", f"session-{n}") for n in (2, 3, 4))
EXERCISES = [
    Exercise("free text", *STOCKTAKE, "what-have-you-discovered", _answer_free_text, _check_free_text),
    Exercise("ladder of change", *STOCKTAKE, "ladder-of-change", _answer_ladder, _check_ladder, _snapshot_ladder),
    Exercise("recovery story", *STORY, "recovery-story", _answer_story, _check_story),
    Exercise("yes/no", *STORY, "language-and-impact", _answer_yes_no, _check_yes_no),
    Exercise("spectrum", *SESSION_2, "helper-or-peer-relationship", _answer_spectrum, _check_spectrum),
    Exercise("table with notes", *SESSION_2, "principles-and-boundaries", _answer_table, _check_table),
    Exercise("free pick (top 5 values)", *SESSION_3, "top-5-values", _answer_values, _check_values),
    Exercise("strengths pick", *SESSION_4, "strengths", _answer_strengths, _check_strengths),
]


def by_session() -> dict[tuple[str, str], list[Exercise]]:
    """The exercises grouped by the session page they are on, in programme order."""
    pages: dict[tuple[str, str], list[Exercise]] = {}
    for exercise in EXERCISES:
        pages.setdefault((exercise.module, exercise.session), []).append(exercise)
    return pages


def answer_all(page: Page, exercises: list[Exercise]) -> None:
    """Answer every exercise on this page, wait for "Saved" under each answer, then take any snapshot."""
    controls = [control for exercise in exercises for control in exercise.answer(page)]
    wait_until_saved(controls)
    for exercise in exercises:
        if exercise.then:
            exercise.then(page)
