"""The code of behaviour board in the browser: a facilitator, a projector and three participants take it through
propose → shape (merge) → respond (a private objection) → agree → commit. Checks what each screen shows, that
proposals arrive live, that the projector never shows a name, and axe, 360 px and vnu on every board page."""

from __future__ import annotations

import re
import subprocess

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .helpers import log_in
from .test_html_valid import VNU_JAR

PHONE = {"width": 360, "height": 800}


@pytest.fixture(scope="module")
def room(demo, browser, base_url):
    def screen(account, viewport=PHONE):
        context = browser.new_context(base_url=base_url, viewport=viewport, bypass_csp=True)
        page = context.new_page()
        log_in(page, account.name, account.password)
        return page
    people = [screen(a) for a in demo.participants]
    facilitator = screen(demo.facilitator)
    facilitator.goto("/")
    facilitator.get_by_role("link", name=demo.group_name).click()
    board = facilitator.url.rstrip("/") + "/board"
    projector = screen(demo.facilitator, {"width": 1280, "height": 800})
    return facilitator, projector, people, board.split("127.0.0.1", 1)[1].split("/", 1)[1], demo


def checked(page, name, pages):
    violations = Axe().run(page)
    assert violations.violations_count == 0, f"{name}: {violations.generate_report()}"
    if page.viewport_size["width"] == 360:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    pages[name] = page.content()


def test_a_whole_session_1_on_the_board(room, tmp_path):
    facilitator, projector, people, path, demo = room
    board = "/" + path
    pages: dict[str, str] = {}
    alex, sam, jo = people
    for page in (alex, sam, jo, facilitator):
        page.goto(board)
    projector.goto(board + "/projector")
    checked(alex, "propose-empty", pages)

    # Proposing: each appears on the other screens and the projector without a reload.
    sam.get_by_label("A behaviour that helps you feel safe").fill("Half a sentence")
    sam.get_by_label("A behaviour that helps you feel safe").focus()
    for page, words in ((alex, "Listen without judging"), (jo, "Listen to each other"), (alex, "Be on time")):
        page.get_by_label("A behaviour that helps you feel safe").fill(words)
        page.get_by_role("button", name="Propose").click()
        expect(page.get_by_role("status").filter(has_text="Sent")).to_be_visible()
        for other in (sam, facilitator, projector):
            expect(other.get_by_text(words, exact=True)).to_be_visible(timeout=2500)
    # Sam was typing all along: the text box kept the words and the focus.
    expect(sam.get_by_label("A behaviour that helps you feel safe")).to_have_value("Half a sentence")
    expect(sam.get_by_label("A behaviour that helps you feel safe")).to_be_focused()
    checked(sam, "propose-with-proposals", pages)
    checked(facilitator, "facilitator-propose", pages)

    # Shaping: two duplicates merged, keeping provenance.
    facilitator.get_by_role("button", name="Move to: Shape").click()
    facilitator.get_by_label("Select to merge: Listen without judging").check()
    facilitator.get_by_label("Select to merge: Listen to each other").check()
    facilitator.get_by_label("Wording for the merged behaviour").fill("Listen to each other without judging")
    facilitator.get_by_role("button", name="Merge the selected").click()
    expect(facilitator.get_by_text("Proposed by 2 people")).to_be_visible()
    checked(facilitator, "facilitator-shape", pages)
    expect(alex.get_by_text("Listen to each other without judging", exact=True)).to_be_visible(timeout=2500)

    # Responding, with a private objection: "needs discussion" everywhere, and no name.
    facilitator.get_by_role("button", name="Move to: Respond").click()
    for page in (alex, sam, jo):
        page.reload()
    merged = "Listen to each other without judging"
    alex.get_by_role("group", name=f"Your response to: {merged}").get_by_label("Agree", exact=True).check()
    jo.get_by_role("group", name=f"Your response to: {merged}").get_by_label("Agree", exact=True).check()
    sam_choice = sam.get_by_role("group", name="Your response to: Be on time")
    sam_choice.get_by_label("Object without my name").check()
    for page in (alex, facilitator, projector):
        expect(page.get_by_text("needs discussion", exact=True)).to_be_visible(timeout=2500)
    assert sam.evaluate("document.body.innerText").count(demo.participants[1].name) <= 1  # only in their own header
    checked(alex, "respond", pages)
    checked(facilitator, "facilitator-respond", pages)

    # Agreeing version 1, then committing.
    facilitator.get_by_role("button", name="Move to: Agree").click()
    expect(facilitator.get_by_text("suggested: no objection, most agree", exact=True).first).to_be_visible()
    checked(facilitator, "facilitator-agree", pages)
    facilitator.get_by_role("listitem").filter(has_text=merged).get_by_role("button", name="Mark agreed").click()
    facilitator.get_by_role("button", name=re.compile("version 1 of our code")).click()
    expect(facilitator.get_by_role("heading", name="Our code of behaviour")).to_be_visible()
    checked(facilitator, "code", pages)
    expect(alex.get_by_role("button", name="I commit to our code")).to_be_visible(timeout=2500)
    checked(alex, "commit", pages)
    alex.get_by_role("button", name="I commit to our code").click()
    facilitator.goto(board)
    expect(facilitator.get_by_text(re.compile(r"^1 of \d+ has committed"))).to_be_visible(timeout=2500)

    # The projector never showed a name.
    text = projector.evaluate("document.body.innerText")
    for account in demo.participants:
        assert account.name not in text
    pages["projector"] = projector.content()
    violations = Axe().run(projector)
    assert violations.violations_count == 0, violations.generate_report()

    if VNU_JAR.exists():
        for name, html in pages.items():
            (tmp_path / f"{name}.html").write_text(html)
        result = subprocess.run(["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "gnu",
                                 *map(str, sorted(tmp_path.glob("*.html")))], capture_output=True, text=True)
        assert not result.stderr.strip(), result.stderr
