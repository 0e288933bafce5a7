"""The ladder of change worth coming back to: the ticks stay, snapshots are explicit dated and timed moments with the
stages' reflections as they were, none of nothing and none twice, compared newest first with what moved said in words,
deletable one at a time, and printed and downloaded in full; snapshots made by earlier versions still show."""

import json
import re
from datetime import datetime

import pytest
from conftest import csrf_token, database_bytes, post, text

from p2p import answers
from p2p.answers import LADDER_MARKED, Workbook
from p2p.models import LadderSnapshot, User

LADDER = "p2p/preparing/personal-stocktake/ladder-of-change"
TICKS = f"{LADDER}/{LADDER_MARKED}"
STUCK = f"{LADDER}/stuck"
LEARNING = f"{LADDER}/learning"
SAVED = "Your snapshot of {} is saved. Your ticks stay as they are."


@pytest.fixture
def at(monkeypatch):
    """at(2026, 11, 29, 10, 0): the moment (UTC) the next snapshots are taken."""
    def set_clock(*when):
        monkeypatch.setattr(answers, "utcnow", lambda: datetime(*when))
    return set_clock


@pytest.fixture
def alice(room, as_user):
    client = as_user(room.alice)
    client.page = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    client.workbook = lambda: Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
    return client


def autosave(client, place, value):
    """What autosave.js sends, on top of the version saved now."""
    saved = client.workbook().get(place)
    response = client.post("/workbook/save", data={"place": place, "value": value,
                                                   "revision": saved.revision if saved else ""},
                           headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client, "/")})
    assert response.status_code == 200, response.get_data(as_text=True)


def snapshot(client, ticks, key=None):
    data = {"place": TICKS, "value": [str(n) for n in ticks], "back": client.page}
    response = post(client, "/workbook/ladder", {**data, **({"request_key": key} if key else {})}, token_from="/")
    assert response.status_code == 302
    assert response.headers["Location"] == client.page + "#ladder-of-change-snapshot-said"
    return text(client.get(client.page))


def said(page: str) -> str:
    """What is said beside the snapshot button (and not at the top of the page, which a phone shows screens away)."""
    assert 'class="notice"' not in page
    return re.search(r'id="ladder-of-change-snapshot-said" role="status" tabindex="-1"[^>]*>(.*?)</p>', page, re.S)[1]


def columns(page: str) -> list[str]:
    table = page[page.index("<table class=\"snapshots\""):page.index("</table>")]
    return re.findall(r'<th scope="col" class="snapshots__when">(.*?)</th>', table)


def cells(page: str, number: int) -> list[str]:
    """Statement `number`'s row in the comparison, as a screen reader reads each cell, newest first."""
    row = re.search(rf'<tr><th scope="row" class="snapshots__statement"><span class="statement-number">{number}\.</span>'
                    r".*?</tr>", page, re.S)[0]
    return re.findall(r'<td class="mark[^"]*">.*?<span class="visually-hidden">(.*?)</span></td>', row, re.S)


def test_a_snapshot_keeps_the_ticks_and_the_reflections_dated_and_timed_in_the_hosts_time_zone(app, alice, at, tmp_path):
    app.config["TIMEZONE"] = "Pacific/Auckland"   # 13 hours ahead of UTC in November: already the next day there
    autosave(alice, STUCK, "Stuck-marker: the winter I stayed in")
    autosave(alice, TICKS, "1")
    at(2026, 11, 29, 22, 30)
    page = snapshot(alice, [1, 3])

    assert said(page) == SAVED.format("30 November 2026 at 11:30")
    assert 'data-said-on-arrival data-tone="saved"' in page
    # The ticks stay ticked: a snapshot records them, it does not clear them.
    assert re.search(r'value="1"\s+id="ladder-of-change-statement-1"[^>]* checked>', page)
    assert re.search(r'value="3"\s+id="ladder-of-change-statement-3"[^>]* checked>', page)
    assert page.count(" checked>") == 2
    assert columns(page) == ["30 Nov 2026, 11:30"]
    assert "<summary>30 November 2026 at 11:30<span class=\"hint\"> · 2 marked, 1 reflection</span></summary>" in page
    (taken,) = alice.workbook().snapshots(LADDER)
    assert taken.marked == {1, 3} and taken.reflections == {"stuck": "Stuck-marker: the winter I stayed in"}
    assert taken.taken_at == datetime(2026, 11, 29, 22, 30)
    # Changing the reflection afterwards does not change what the snapshot kept.
    autosave(alice, STUCK, "Something else now")
    assert alice.workbook().snapshots(LADDER)[0].reflections["stuck"] == "Stuck-marker: the winter I stayed in"
    # Sealed with her key like every answer: nothing of her ladder is readable from the database.
    assert b"Stuck-marker" not in database_bytes(app, tmp_path) and b"winter" not in database_bytes(app, tmp_path)


def test_an_empty_snapshot_is_refused_kindly(alice):
    page = snapshot(alice, [])
    assert said(page) == ("There is nothing to keep in a snapshot yet. Tick a statement that feels real to you now, "
                          "or write about a stage, then save your snapshot.")
    assert 'data-tone="notice"' in page
    assert LadderSnapshot.select().count() == 0 and "Your snapshots, newest first" not in page
    # A reflection alone is something to keep.
    autosave(alice, LEARNING, "Trying things, with support.")
    assert said(snapshot(alice, [])).startswith("Your snapshot of ")
    assert alice.workbook().snapshots(LADDER)[0].marked == frozenset()


def test_nothing_changed_since_the_latest_snapshot_makes_no_second_one(alice, at):
    at(2026, 11, 29, 10, 0)
    snapshot(alice, [2])
    at(2026, 11, 29, 10, 0, 20)
    page = snapshot(alice, [2])
    assert said(page) == ("Nothing has changed since your snapshot of 29 November 2026 at 10:00, so there is no need "
                          "for another one. It is kept below.")
    assert LadderSnapshot.select().count() == 1
    # A reflection written since is a change: the next one is kept.
    autosave(alice, STUCK, "Less stuck.")
    assert said(snapshot(alice, [2])) == SAVED.format("29 November 2026 at 10:00:20")   # told apart by its seconds
    assert [s.reflections for s in alice.workbook().snapshots(LADDER)] == [{}, {"stuck": "Less stuck."}]
    # Only the latest counts: going back to an earlier marking is a moment of its own.
    autosave(alice, STUCK, "")
    snapshot(alice, [2])
    assert LadderSnapshot.select().count() == 3


def test_sent_twice_makes_one_snapshot_and_says_the_same_both_times(alice, at):
    at(2026, 11, 29, 10, 0)
    key = re.search(r'name="request_key" value="([^"]+)"', text(alice.get(alice.page)))[1]
    first, again = snapshot(alice, [4], key), snapshot(alice, [4], key)
    assert said(first) == said(again) == SAVED.format("29 November 2026 at 10:00")
    assert LadderSnapshot.select().count() == 1
    # Deleted since, then sent again (a browser's "resend"): not made again, and nothing said of it.
    (taken,) = alice.workbook().snapshots(LADDER)
    post(alice, f"/workbook/ladder/{taken.id}/delete", {"back": alice.page})
    assert said(snapshot(alice, [4], key)) == "" and LadderSnapshot.select().count() == 0


def test_the_comparison_runs_newest_first_and_says_in_words_what_moved(alice, at):
    at(2026, 11, 28, 9, 15)
    snapshot(alice, [1, 2])
    at(2026, 11, 29, 10, 0)
    page = snapshot(alice, [2, 3])
    assert columns(page) == ["29 Nov 2026, 10:00", "28 Nov 2026, 09:15"]
    assert "<caption id=\"ladder-of-change-snapshots-caption\">Your snapshots, newest first</caption>" in page
    # The table scrolls sideways inside a region a keyboard can scroll; the statement column is sticky (app.css).
    assert re.search(r'<div class="table-wrap snapshots-wrap" role="region" aria-labelledby="ladder-of-change-'
                     r'snapshots-caption" tabindex="0">', page)
    assert page.count('<th scope="rowgroup"') == 5 and page.count('<th scope="row"') == 10
    assert cells(page, 3) == ["marked (new since 28 Nov 2026, 09:15)", "not marked"]
    assert cells(page, 1) == ["not marked (no longer: marked on 28 Nov 2026, 09:15)", "marked"]
    assert cells(page, 2) == ["marked", "marked"]
    # A long statement is shortened to fit the sticky column on a phone, and heard whole by a screen reader.
    long_rows = re.findall(r'<th scope="row" class="snapshots__statement">(.*?)</th>', page, re.S)
    shortened = [row for row in long_rows if '<span aria-hidden="true">' in row]
    assert shortened and all(re.search(r'aria-hidden="true">[^<]{20,}…</span><span class="visually-hidden">[^<]{61,}<', row)
                             for row in shortened)
    # Seen, not only by colour: the words under the marks, and listed with each snapshot.
    assert page.count('<span class="mark__moved" aria-hidden="true">new</span>') == 1
    assert page.count('<span class="mark__moved" aria-hidden="true">no longer</span>') == 1
    assert "<p class=\"snapshot-moved-title\">Since 28 November 2026 at 09:15:</p>" in page
    assert re.search(r"<li><strong>New:</strong> 3\. ", page) and re.search(r"<li><strong>No longer:</strong> 1\. ", page)


def test_a_snapshot_is_deleted_after_a_page_that_says_what_goes_and_nothing_else_is(app, alice, at, room, as_user):
    at(2026, 11, 28, 9, 15)
    autosave(alice, STUCK, "Then.")
    snapshot(alice, [1, 2])
    at(2026, 11, 29, 10, 0)
    snapshot(alice, [2, 3])
    older, newer = alice.workbook().snapshots(LADDER)
    link = f"/workbook/ladder/{older.id}/delete?back={alice.page}"
    assert f'href="{link}">Delete this snapshot<span class="visually-hidden"> of 28 November 2026 at 09:15</span>' \
        in text(alice.get(alice.page))

    confirm = text(alice.get(link))
    assert "<h1>Delete your snapshot of 28 November 2026 at 09:15?</h1>" in confirm
    assert "2 statements that felt real then: 1, 2" in confirm
    assert "what you had written then about 1 stage: Stuck" in confirm
    assert "Nothing else changes: your ticks as they are now" in confirm
    assert LadderSnapshot.select().count() == 2          # opening the page deletes nothing

    # Nobody else can see it or delete it.
    bob = as_user(room.bob)
    assert bob.get(link).status_code == 404
    assert post(bob, f"/workbook/ladder/{older.id}/delete", {"back": alice.page}).status_code == 404
    assert LadderSnapshot.select().count() == 2

    response = post(alice, f"/workbook/ladder/{older.id}/delete", {"back": alice.page})
    assert response.headers["Location"] == alice.page + "#ladder-of-change-snapshot-said"
    page = text(alice.get(alice.page))
    assert said(page) == "Your snapshot of 28 November 2026 at 09:15 is deleted. Everything else is as it was."
    assert [s.id for s in alice.workbook().snapshots(LADDER)] == [newer.id]
    assert alice.workbook().get(TICKS).value == "2,3" and alice.workbook().get(STUCK).value == "Then."
    assert columns(page) == ["29 Nov 2026, 10:00"]
    assert post(alice, f"/workbook/ladder/{older.id}/delete", {"back": alice.page}).status_code == 404
    # Somewhere else to go back to: only this site's pages.
    response = post(alice, f"/workbook/ladder/{newer.id}/delete", {"back": "https://elsewhere.example/"})
    assert response.headers["Location"] == "/workbook"


def test_print_and_downloads_hold_every_snapshot_with_its_moment_and_reflections(app, alice, at):
    at(2026, 11, 29, 10, 0, 5)
    autosave(alice, STUCK, "Stuck, first.")
    snapshot(alice, [1])
    at(2026, 11, 29, 10, 0, 40)   # the same minute: told apart by its seconds
    autosave(alice, LEARNING, "Learning, second.")
    snapshot(alice, [1, 7])

    printed = text(alice.get("/workbook/print"))
    assert printed.index("<h6>Snapshot of 29 November 2026 at 10:00:40</h6>") \
        < printed.index("<h6>Snapshot of 29 November 2026 at 10:00:05</h6>")
    assert printed.count("Stuck, first.") == 3        # now, and in both snapshots
    assert printed.count("Learning, second.") == 2    # now, and in the newer snapshot
    assert "<li><strong>New:</strong> 7. " in printed

    markdown = alice.get("/workbook/download.md").get_data(as_text=True)
    headings = re.findall(r"^##### Snapshot of .*$", markdown, re.M)
    assert headings == ["##### Snapshot of 29 November 2026 at 10:00:40", "##### Snapshot of 29 November 2026 at 10:00:05"]
    assert "Snapshot of 29 November 2026:" not in markdown
    newer = markdown[markdown.index(headings[0]):markdown.index(headings[1])]
    assert "- New: 7. " in newer and "> Learning, second." in newer and "> Stuck, first." in newer
    assert "**Stuck: How can you use this in a positive way" in newer

    data = json.loads(alice.get("/workbook/download.json").get_data(as_text=True))
    (ladder,) = [e for m in data["modules"] for s in m["sessions"] for e in s["exercises"] if "ladder_snapshots" in e]
    assert [s["taken_at"] for s in ladder["ladder_snapshots"]] == ["2026-11-29T10:00:40Z", "2026-11-29T10:00:05Z"]
    assert [r["answer"] for r in ladder["ladder_snapshots"][0]["reflections"]] == ["Stuck, first.", "Learning, second."]
    assert ladder["ladder_snapshots"][0]["new_since_the_one_before"][0].startswith("7. ")


def test_snapshots_from_before_reflections_were_kept_still_show_and_can_be_deleted(alice):
    """Earlier versions sealed a snapshot's ticks alone ("1,3"): they show, print and download as they were."""
    workbook = alice.workbook()
    old = LadderSnapshot.create(user=workbook.user.id, place=LADDER, key_generation=workbook.user.key_generation,
                                sealed=workbook._seal("ladder", LADDER, "1,3"), taken_at=datetime(2026, 11, 1, 9, 0))
    page = text(alice.get(alice.page))
    assert columns(page) == ["1 Nov 2026, 09:00"] and cells(page, 3) == ["marked"]
    assert "No reflections were written when this snapshot was taken." in page
    assert "<h6>Snapshot of 1 November 2026 at 09:00</h6>" in text(alice.get("/workbook/print"))
    assert "##### Snapshot of 1 November 2026 at 09:00" in alice.get("/workbook/download.md").get_data(as_text=True)
    # The same ticks again, now with nothing written: nothing changed, so no second one.
    assert said(snapshot(alice, [1, 3])).startswith("Nothing has changed since your snapshot of 1 November 2026")
    post(alice, f"/workbook/ladder/{old.id}/delete", {"back": alice.page})
    assert LadderSnapshot.select().count() == 0
