"""Issue 13's wall display: the projector views on the room's screen, at 1280×720 and 1920×1080.

The demo group's board with a room's worth of behaviours (17, some long) goes through proposing (one held back
until it is revealed), responding (a private objection, the counts hidden then shown), committing to version 1, a
blank screen, and version 2 with what changed. After each step, at both sizes, the projector view: nothing sticks
out, every behaviour is on the screen or on one of its pages (turned with a clicker's Page Down), the type reads
from the back of the room (32 px and more at 1080p), the code is the largest text and "N of M have committed"
stays in view on every page, and no member's name is anywhere in the page. Then a scenario's discussion board
and the timer on the projector, opened from the run page: the thoughts the group sees, without names.

The server is brought into each state with the app's own form posts, and the projector view is opened afresh after
each: nothing here waits on a live update (test_board.py times those), so this module runs beside the others.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from .helpers import DESKTOP, log_in, overflowing
from .pagetypes import BOUNDARIES_SESSION

SCREENS = ({"width": 1280, "height": 720}, {"width": 1920, "height": 1080})
FULL_HD = SCREENS[1]
BEHAVIOURS = [
    "Listen without judging",
    "One voice at a time",
    "Keep what is shared in the room",
    "Phones on silent",
    "Speak from your own experience",
    "It is fine to pass",
    "Be on time, and say so if you will be late or need to leave early",
    "Take a break whenever you need one, without having to explain why",
    "Ask before giving advice",
    "No hugs unless asked",
    "Respect different views, even when we disagree strongly about something that matters to us",
    "Use the names people ask to be called by",
    "Check in with how you feel at the start of each session",
    "Say when something hurts, and we will stop and listen to what happened before we go on",
    "Leave the chairs as we found them",
    "Be kind to yourself",
    "Nobody is expected to share their story: each person decides what, when and how much",
]
HELD = "Take turns to speak"


def test_the_board_on_the_wall_fits_the_screen_and_shows_only_what_the_room_was_shown(demo, new_context, problems):
    robin = problems.watch(new_context(viewport=DESKTOP)).new_page()
    log_in(robin, demo.facilitator.name, demo.facilitator.password)
    board = urlsplit(robin.get_by_role("link", name=demo.group_name).get_attribute("href")).path + "/board"
    people = []
    for account in demo.participants:
        page = new_context().new_page()
        log_in(page, account.name, account.password)
        people.append(page)
    names = [demo.facilitator.name, *(account.name for account in demo.participants)]
    wall = problems.watch(new_context(viewport=SCREENS[0])).new_page()
    log_in(wall, demo.facilitator.name, demo.facilitator.password)
    def send(page: Page, tail: str, **fields: str) -> None:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(board).text())[1]
        answer = page.request.post(board + tail, form={"csrf_token": token, **fields})
        assert answer.ok, f"POST {tail} {fields}: {answer.status}"

    def ids() -> dict[str, str]:
        html = robin.request.get(board).text()
        return {text: number for number, text in
                re.findall(r'<li id="proposal-(\d+)"[^>]*>\s*<p class="proposal__text">([^<]+)</p>', html)}

    def on_the_wall(screen: dict, heading: str = "Our code of behaviour") -> None:
        wall.set_viewport_size(screen)
        wall.goto(board + "/projector")
        expect(wall.get_by_role("heading", level=1)).to_have_text(heading)
        assert not (problem := overflowing(wall)), f"at {screen}: {problem}"
        assert wall.evaluate("document.documentElement.scrollHeight <= innerHeight"), f"taller than the screen at {screen}"
        names_nowhere(wall, names)

    # Proposing: a named proposal shows no name; one is held back until it is revealed.
    send(robin, "/settings", action="named-on")
    for number, text in enumerate(BEHAVIOURS):
        send(people[number % len(people)], "/proposals", text=text)
        if not number:
            send(robin, "/settings", action="named-off")
    send(robin, "/settings", action="hide-on")
    send(people[0], "/proposals", text=HELD)
    for screen in SCREENS:
        on_the_wall(screen)
        assert shown_on_some_page(wall) == BEHAVIOURS
        expect(wall.get_by_text("1 behaviour waiting to be revealed.")).to_be_visible()
        expect(wall.get_by_text(HELD)).to_have_count(0)
    at_least_32px_at_1080p(wall)
    send(robin, "/settings", action="reveal")

    # Responding: a private objection. Neither the counts nor "needs discussion" show until the counts are shown.
    send(robin, "/settings", action="phase:respond")
    proposal = ids()
    for text in BEHAVIOURS[:12]:
        for page in people[1:]:
            send(page, f"/proposals/{proposal[text]}/respond", kind="agree")
    send(people[0], f"/proposals/{proposal['Phones on silent']}/respond", kind="object-private")
    on_the_wall(FULL_HD)
    expect(wall.get_by_text("needs discussion")).to_have_count(0)
    expect(wall.get_by_text(re.compile("^Agree \\d"))).to_have_count(0)
    send(robin, "/settings", action="tallies-on")
    for screen in SCREENS:
        on_the_wall(screen)
        assert shown_on_some_page(wall) == [*BEHAVIOURS, HELD]
        objected = wall.locator("#board-list li").filter(has_text="Phones on silent")
        expect(objected.get_by_text("needs discussion")).to_be_visible()
        expect(objected.get_by_text(f"Agree {len(people) - 1} · Unsure 0 · Object 1")).to_be_visible()
        expect(wall.get_by_text("needs discussion")).to_have_count(1)
    at_least_32px_at_1080p(wall)
    send(robin, "/settings", action="phase:agree")
    send(robin, "/settings", action="tallies-off")
    on_the_wall(FULL_HD)
    expect(wall.get_by_text("needs discussion")).to_have_count(0)

    # Committing to version 1: the code in the largest type, the count in view whichever page shows.
    version_1 = BEHAVIOURS[:12]
    for text in version_1:
        send(robin, f"/proposals/{proposal[text]}", action="agree")
    send(robin, "/version")
    send(people[0], "/commit")
    for screen in SCREENS:
        on_the_wall(screen)
        expect(wall.get_by_role("heading", name="Our code, version 1")).to_be_visible()
        assert shown_on_some_page(wall, count_in_view=True) == version_1
        code_is_the_largest_text(wall)
    at_least_32px_at_1080p(wall)

    # Blank: a calm dark screen that says nothing.
    send(robin, "/settings", action="blank-on")
    on_the_wall(FULL_HD, "Screen paused")
    expect(wall.get_by_role("heading", level=1)).to_have_class("visually-hidden")
    assert wall.evaluate("""() => { const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g)
                                    .map(Number); return r + g + b < 120; }"""), "the blank screen is not dark"
    shown = re.sub(r"Skip to content|Screen paused", "", wall.evaluate("document.body.innerText")).strip()
    assert shown == "Show the board again", shown
    send(robin, "/settings", action="blank-off")

    # Version 2: one behaviour added, one taken out; the projector shows what changed.
    send(robin, "/settings", action="phase:agree")
    send(robin, f"/proposals/{proposal[BEHAVIOURS[12]]}", action="agree")
    send(robin, f"/proposals/{proposal['Phones on silent']}", action="unagree")
    send(robin, "/version")
    version_2 = [text for text in BEHAVIOURS[:13] if text != "Phones on silent"]
    for screen in SCREENS:
        on_the_wall(screen)
        expect(wall.get_by_role("heading", name="Our code, version 2")).to_be_visible()
        expect(wall.get_by_text(f"0 of {len(names)} have committed.")).to_be_visible()
        changes = wall.get_by_role("region", name="What changed since version 1")
        assert shown_on_some_page(wall, count_in_view=True) == [*version_2, BEHAVIOURS[12], "Phones on silent"]
        expect(changes.get_by_role("heading", name="Added or reworded")).to_be_attached()
        expect(changes.get_by_role("heading", name="Taken out or reworded")).to_be_attached()
        code_is_the_largest_text(wall)


def test_a_discussion_board_and_the_timer_on_the_wall(demo, new_context, problems):
    robin = problems.watch(new_context(viewport=DESKTOP)).new_page()
    log_in(robin, demo.facilitator.name, demo.facilitator.password)
    alex = problems.watch(new_context()).new_page()
    log_in(alex, demo.participants[0].name, demo.participants[0].password)
    robin.get_by_role("link", name=demo.group_name).click()
    group = urlsplit(robin.url).path
    robin.goto(group + "/edit")
    robin.get_by_role("radio", name=re.compile("^Peer Support Training")).check()
    robin.get_by_role("button", name="Save").click()
    robin.goto(group + "/run")
    robin.get_by_label("Or choose a session").select_option(label=BOUNDARIES_SESSION.title)
    robin.get_by_role("button", name="Make this the current session").click()
    expect(robin.get_by_role("heading", name=f"Now: {BOUNDARIES_SESSION.title}")).to_be_visible()
    robin.get_by_role("button", name="5 minutes", exact=True).click()
    expect(robin.get_by_text("The timer is running: 5 minutes.")).to_be_visible()

    # Alex adds a thought with their name, and one without; Robin hides a third from the group.
    alex.goto(group + "/discuss/course/positive-risk-taking-and-boundaries/boundaries/scenario-1")
    for words, anonymous in (("Say at the start what the relationship is", False),
                             ("It can feel like friendship, and that is where it blurs", True),
                             ("Something the group should not see", False)):
        alex.get_by_label("Your thought on Scenario 1").fill(words)
        alex.get_by_label(re.compile("^Don’t show my name")).set_checked(anonymous)
        alex.get_by_role("button", name="Add my thought").click()
        expect(alex.get_by_role("status").filter(has_text="Added")).to_be_visible()
        expect(alex.get_by_label("Your thought on Scenario 1")).to_have_value("")
    robin.goto(alex.url)
    robin.get_by_role("listitem").filter(has_text="Something the group should not see").get_by_role(
        "button", name="Hide from the group").click()
    expect(robin.get_by_role("button", name="Show it again")).to_be_visible()

    # From the run page: the discussion on the projector, the timer with it.
    robin.goto(group + "/run")
    robin.get_by_role("link", name="Scenario 1 on the projector").click()
    wall = robin   # Robin's laptop, on the room's screen
    expect(wall.get_by_role("heading", level=1)).to_have_text("Scenario 1")
    for screen in SCREENS:
        wall.set_viewport_size(screen)
        expect(wall.get_by_role("heading", level=1)).to_have_text("Scenario 1")
        assert not (problem := overflowing(wall)), f"at {screen}: {problem}"
        expect(wall.locator("#thought-list li")).to_have_text(["Say at the start what the relationship is",
                                                               "It can feel like friendship, and that is where it blurs"])
        expect(wall.get_by_role("timer")).to_have_text(re.compile(r"^\d:\d\d left$"))
    at_least_32px_at_1080p(wall)
    names_nowhere(wall, [demo.facilitator.name, *(account.name for account in demo.participants)])
    # A new thought arrives on the wall by itself.
    alex.get_by_label("Your thought on Scenario 1").fill("Ask what the person wants from the relationship")
    alex.get_by_role("button", name="Add my thought").click()
    expect(wall.get_by_text("Ask what the person wants from the relationship")).to_be_visible(timeout=10_000)
    names_nowhere(wall, [demo.facilitator.name, *(account.name for account in demo.participants)])

    # The timer on its own, as large as the screen allows.
    wall.goto(group + "/run")
    wall.get_by_role("link", name="Open the timer on its own for the projector").click()
    expect(wall.get_by_role("heading", level=1)).to_have_text(BOUNDARIES_SESSION.title)
    expect(wall.get_by_role("timer")).to_be_visible()
    assert float(wall.get_by_role("timer").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 200
    assert not (problem := overflowing(wall)), problem


# -- What the room can see -----------------------------------------------------------------------------------


def names_nowhere(page: Page, names: list[str]) -> None:
    """No member's name (first names alone neither) in what the screen shows, nor anywhere else in its page."""
    everything = page.evaluate("""() => [document.title, document.body.innerText, document.documentElement.textContent,
        ...[...document.querySelectorAll("[alt], [title], [aria-label]")]
            .map(el => [el.getAttribute("alt"), el.getAttribute("title"), el.getAttribute("aria-label")].join(" "))
        ].join(" ")""")
    for name in names:
        for form in {name, name.split()[0]}:
            assert not re.search(rf"\b{re.escape(form)}\b", everything), f"the projector has the name {form!r}"


def shown_on_some_page(page: Page, count_in_view: bool = False) -> list[str]:
    """The words of each item of the list that is wholly on the screen on one of its pages (turned with Page Down,
    as a clicker does, after stopping the pages turning by themselves), in order; with `count_in_view`, the
    committed count must be on the screen on every page."""
    pager = page.locator("[data-pager]")
    first, pages = 1, 1
    if pager.is_visible():
        pager.get_by_role("button", name="Stop turning the pages").click()
        expect(pager.get_by_role("button", name="Turn the pages again")).to_be_visible()
        first, pages = map(int, re.fullmatch(r"Page (\d+) of (\d+)", pager.locator("p").inner_text()).groups())
    seen: dict[int, str] = {}
    for turn in range(pages):   # from whichever page shows (they may have turned by themselves), round to it
        if turn:
            page.keyboard.press("PageDown")
            expect(pager.locator("p")).to_have_text(f"Page {(first - 1 + turn) % pages + 1} of {pages}")
        if count_in_view:
            expect(page.get_by_text(re.compile(r"^\d+ of \d+ (has|have) committed"))).to_be_in_viewport(ratio=1)
        seen.update(page.evaluate("""() => {
            const list = document.querySelector(document.body.dataset.pages), box = list.getBoundingClientRect();
            return [...list.querySelectorAll("li")].map((li, index) => [index, li]).filter(([, li]) => {
                const r = li.getBoundingClientRect();
                return r.width > 0 && r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
                       && r.bottom <= box.bottom + 1 && r.right <= innerWidth && r.bottom <= innerHeight; })
              .map(([index, li]) => [index, (li.querySelector(".proposal__text") || li).innerText.trim()]); }"""))
    return [seen[index] for index in sorted(seen)]


TEXT_SIZES = """(selector) => [...document.querySelectorAll(selector)]
    .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
    .filter(el => !el.closest(".visually-hidden, [data-pager], .projector-state") && el.getClientRects().length)
    .map(el => [el.tagName.toLowerCase() + "." + el.className, parseFloat(getComputedStyle(el).fontSize)])"""


def at_least_32px_at_1080p(page: Page) -> None:
    page.set_viewport_size(FULL_HD)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    small = [(what, size) for what, size in page.evaluate(TEXT_SIZES, "main *") if size < 32]
    assert not small, f"text under 32 px on a 1080p screen: {small}"


def code_is_the_largest_text(page: Page) -> None:
    code = page.evaluate(TEXT_SIZES, ".code-list li")
    others = [(what, size) for what, size in page.evaluate(TEXT_SIZES, "main *:not(.code-list li)")]
    assert code and min(size for _, size in code) > max(size for _, size in others), (code, others)
