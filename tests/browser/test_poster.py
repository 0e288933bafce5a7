"""The code of behaviour as a poster worth hanging: printed, a code of 20 behaviours under their themes fits one
landscape page, on A4 and on A3, in type that grows with the paper; it shows the names of those who chose to sign
and counts the others. One story on the demo group: the code made through the app's own forms (the board's tests
click through them), two people committing, one signing, then the print as the browser makes it (page.pdf)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import Page, expect

from .helpers import log_in

# 20 behaviours of everyday length, some under themes, some without (those come last, numbered on).
THEMES = {"Listening": ["Listen to each other without judging", "One voice at a time, and let people finish",
                        "Ask before giving advice", "Hear each other out, even when we disagree"],
          "Being present": ["Phones on silent and out of sight", "Start and finish on time",
                            "Take a break when you need one, no need to explain", "Be here for the whole session"],
          "Privacy": ["What is shared in the room stays in the room", "Share only what you choose to share",
                      "Never pass on someone else's story", "Speak from your own experience"]}
WITHOUT_THEME = ["Be kind to yourself and to others", "Use the words people choose for themselves",
                 "It is fine to pass", "Ask for help when you need it", "Respect different paths to recovery",
                 "Check in with the facilitator if something is hard", "Laugh with each other, never at each other",
                 "Keep hugs for when they are asked for"]
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?!s)")   # a page of the PDF, not its /Pages tree (no pypdf here)


def send(page: Page, board: str, tail: str, fields: list[tuple[str, str]]) -> None:
    """A form post as the board's own forms make it, with this person's CSRF token."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(board).text())[1]
    answer = page.request.post(board + tail, data=urlencode([("csrf_token", token), *fields]),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.ok, f"POST {tail} {fields}: {answer.status}"


def proposal_ids(page: Page, board: str) -> dict[str, str]:
    return {html.unescape(words): number for number, words in re.findall(
        r'<li id="proposal-(\d+)"[^>]*>\s*<p class="proposal__text">([^<]+)</p>', page.request.get(board).text())}


def printed(page: Page, **pdf) -> tuple[int, bytes]:
    """The pages the printed code takes, and the PDF's first page box."""
    made = page.pdf(**pdf)
    return len(PAGE_OBJECT.findall(made)), re.search(rb"/MediaBox\s*\[([^\]]*)\]", made)[1]


def test_a_code_of_20_behaviours_prints_as_a_one_page_landscape_poster_with_the_signatures_chosen(
        demo, new_context, problems):
    staff = problems.watch(new_context()).new_page()
    log_in(staff, demo.facilitator.name, demo.facilitator.password)
    signer, counted = demo.participants[0], demo.participants[1]
    group = urlsplit(staff.get_by_role("link", name=demo.group_name).get_attribute("href")).path
    board = group + "/board"
    everything = [words for texts in THEMES.values() for words in texts] + WITHOUT_THEME
    proposers = [problems.watch(new_context()).new_page() for _ in (signer, counted)]
    for page, person in zip(proposers, (signer, counted)):
        log_in(page, person.name, person.password)
    for index, words in enumerate(everything):   # shared between two people: well within a person's limit
        send(proposers[index % 2], board, "/proposals", [("text", words)])
    ids = proposal_ids(staff, board)
    send(staff, board, "/settings", [("action", "phase:shape")])
    for theme, texts in THEMES.items():
        for words in texts:
            send(staff, board, f"/proposals/{ids[words]}", [("action", "theme"), ("theme", theme)])
    send(staff, board, "/settings", [("action", "phase:agree")])
    for words in everything:
        send(staff, board, f"/proposals/{ids[words]}", [("action", "agree")])
    send(staff, board, "/version", [])

    # Committing on the board: one signs with their name, one is counted without it.
    mine, theirs = proposers
    for page, button in ((mine, "I commit and sign with my name"), (theirs, "I commit to our code")):
        page.goto(board)
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.get_by_text("You have committed to our code. Thank you.")).to_be_visible()
    expect(mine.get_by_text("Your name is on our code.")).to_be_visible()
    expect(theirs.get_by_text("You are counted, without your name.")).to_be_visible()

    staff.goto(group + "/code")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Our code of behaviour")
    poster = staff.get_by_role("article")
    expect(poster.get_by_role("listitem")).to_have_count(20)
    expect(poster.get_by_role("heading", level=2)).to_have_text([*THEMES, "Other behaviours"])
    expect(poster.get_by_text(f"Signed: {signer.name}, and 1 more committed.")).to_be_visible()
    expect(poster).not_to_contain_text(counted.name)
    expect(staff.get_by_role("button", name="Print as a poster on A3")).to_be_visible()

    # Printed: on whatever paper the print dialog has (A4 or A3), then on the paper chosen with the buttons, which
    # the page's own size says (the dialog starts with it).
    staff.emulate_media(media="print")
    assert printed(staff, format="A4", landscape=True)[0] == 1
    assert printed(staff, format="A3", landscape=True)[0] == 1
    for paper, across in (("a4", 842), ("a3", 1191)):   # points: 297 mm and 420 mm
        staff.goto(f"{group}/code?paper={paper}")
        expect(staff.get_by_role("article")).to_be_visible()
        pages, media_box = printed(staff, prefer_css_page_size=True)
        assert pages == 1 and round(float(media_box.split()[2])) == across, (paper, pages, media_box)
    # Large type, growing with the paper: a printed page's area is the viewport in print, so a window of its size
    # (A4 and A3 landscape, less the margins, in CSS px) shows the type as printed.
    sizes = {}
    for paper, viewport in (("a4", {"width": 1032, "height": 703}), ("a3", {"width": 1466, "height": 1001})):
        staff.set_viewport_size(viewport)
        sizes[paper] = staff.get_by_role("article").get_by_role("listitem").first.evaluate(
            "li => parseFloat(getComputedStyle(li).fontSize)")
    assert sizes["a4"] >= 18 and sizes["a3"] >= 1.4 * sizes["a4"], sizes   # 18 px: 13.5 pt
