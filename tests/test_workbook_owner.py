"""The workbook belongs to its owner: overview, print, downloads, deleting it, and bringing an earlier one back."""

import json

from conftest import PASSWORD, on_postgresql, post, text
from test_workbook import S1, STRENGTHS, TICKS, autosave
from test_workbook_keys import reset_code_for

from p2p.models import Answer, EarlierKey, LadderSnapshot, Membership, User

STORY = "p2p/preparing/personal-recovery-story/recovery-story"


def fill_some(alice):
    autosave(alice, f"{S1}/behaviours-help-you-feel-safe", "Being listened to\nwithout judgement")
    autosave(alice, STRENGTHS, "planner,empathy")
    autosave(alice, f"{STORY}/the-beginning/early-signs", "I stopped sleeping.")
    autosave(alice, f"{STORY}/introduction-to-you/who-are-you", "A gardener.")
    autosave(alice, "p2p/preparing/personal-recovery-story/language-and-impact/reflects-what-you-want-to-say", "yes")


def test_the_overview_shows_progress_quietly(room, as_user):
    alice = as_user(room.alice)
    fill_some(alice)
    page = text(alice.get("/workbook"))
    assert "Session 1: Co-create an empowering and safe learning environment" in page
    assert "· 1 of 4 questions written" in page   # session 1 has four questions, one answered
    assert "incomplete" not in page.lower()
    assert "Read my story as one piece" in page


def test_the_print_view_reads_like_the_paper_workbook(room, as_user):
    alice = as_user(room.alice)
    fill_some(alice)
    page = text(alice.get("/workbook/print"))
    assert "Being listened to\nwithout judgement" in page
    assert "What feels positive about undertaking P2P?" in page          # unanswered questions are there...
    assert page.count('class="blank-lines"') > 20                          # ...with blank lines to write on
    for chosen in ("Planner", "Empathy"):   # every option drawn, the chosen ones ticked
        assert f'☑ </span>{chosen}<span class="visually-hidden"> (chosen)</span>' in page
    assert '☐ </span>Learner' in page
    assert "Executing: Planner." in page and "Relationship building: Empathy." in page   # drawn on the diagram too
    blank = text(alice.get("/workbook/print?module=p2p/preparing&blank=1"))
    assert "Tick the statements that feel real to you today. Date:" in blank and "Your ticks as they are now" not in blank
    notes = text(alice.get("/workbook/print?module=p2p/module-1&blank=1"))
    assert '<col class="print-col-notes">' in notes   # the column to write in is the widest (app.css)
    module = text(alice.get("/workbook/print?module=p2p/preparing"))
    assert "I stopped sleeping." in module and "Being listened to" not in module


def test_the_story_reads_as_one_piece(room, as_user):
    alice = as_user(room.alice)
    fill_some(alice)
    page = text(alice.get(f"/workbook/story?place={STORY}"))
    assert page.index("A gardener.") < page.index("I stopped sleeping.")
    assert "When were you aware something was wrong?" not in page


def test_downloads_hold_everything_and_are_not_cached(room, as_user):
    alice = as_user(room.alice)
    fill_some(alice)
    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    post(alice, "/workbook/ladder", {"place": TICKS, "value": ["3"], "back": back}, token_from=back)
    md = alice.get("/workbook/download.md")
    assert md.headers["Content-Disposition"].startswith('attachment; filename="my-workbook-')
    assert md.headers["Cache-Control"] == "no-store"
    body = md.get_data(as_text=True)
    assert "# Workbook of Alice" in body and "> Being listened to\n> without judgement" in body
    assert "- 3. I am feeling more and more that I don’t like how things are." in body
    data = json.loads(alice.get("/workbook/download.json").get_data(as_text=True))
    answers = [a for m in data["modules"] for s in m["sessions"] for e in s["exercises"] for a in e["answers"]]
    assert {"place": STRENGTHS, "answer": "Planner, Empathy"}.items() <= next(
        a for a in answers if a["place"] == STRENGTHS).items()
    assert len(answers) == 6   # the five above, and the ticks the snapshot was taken of


def test_the_markdown_gives_dates_in_the_hosts_time_zone_as_on_screen(room, as_user):
    from datetime import datetime
    alice = as_user(room.alice)
    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    post(alice, "/workbook/ladder", {"place": TICKS, "value": ["3"], "back": back}, token_from=back)
    LadderSnapshot.update(taken_at=datetime(2026, 6, 30, 23, 30)).execute()   # 00:30 on 1 July in London
    body = alice.get("/workbook/download.md").get_data(as_text=True)
    assert "##### Snapshot of 1 July 2026 at 00:30" in body and "(UTC)" not in body
    snapshot = json.loads(alice.get("/workbook/download.json").get_data(as_text=True))["modules"][0]["sessions"][0]
    assert "2026-06-30T23:30:00Z" in json.dumps(snapshot)   # JSON stays in UTC, marked as such


def test_a_facilitator_cannot_reach_anyone_elses_workbook(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    fill_some(alice)
    for path in ("/workbook", "/workbook/print", "/workbook/download.md", "/workbook/download.json",
                 f"/workbook/story?place={STORY}"):
        assert "gardener" not in text(fran.get(path)), path


def test_deleting_the_workbook_removes_it_from_the_database_file(app, room, as_user, tmp_path):
    alice = as_user(room.alice)
    autosave(alice, f"{S1}/positive-about-p2p", "x")
    post(alice, "/workbook/delete", token_from="/workbook/delete")
    assert Answer.select().where(Answer.user == room.alice.id).count() == 0
    if not on_postgresql(app):
        assert (tmp_path / "test.sqlite3-wal").stat().st_size == 0   # checkpointed: no old page left in the WAL
    assert Membership.of(room.alice, room.group)                    # the account and groups stay
    assert "Your workbook has been deleted" in text(alice.get("/workbook"))


def test_deleting_the_account_needs_the_password_and_takes_everything(app, room, as_user):
    alice = as_user(room.alice)
    autosave(alice, f"{S1}/positive-about-p2p", "x")
    assert "not your password" in text(post(alice, "/account/delete", {"password": "wrong!"},
                                            token_from="/account/delete"))
    post(alice, "/account/delete", {"password": PASSWORD}, token_from="/account/delete")
    assert User.by_name("Alice") is None
    assert Answer.select().count() == 0 and Membership.select().where(Membership.user == room.alice.id).count() == 0
    assert alice.get("/workbook").status_code == 302


def test_the_only_facilitator_hands_the_group_on_before_leaving(room, as_user):
    fran = as_user(room.facilitator)
    page = text(fran.get("/account/delete"))
    assert "only facilitator of" in page and "Tuesday group" in page
    post(fran, "/account/delete", {"password": PASSWORD}, token_from="/")
    assert User.by_name("Fran")


def test_an_earlier_workbook_comes_back_with_its_recovery_code(app, room, as_user):
    alice = as_user(room.alice)
    fill_some(alice)
    code = reset_code_for(as_user, room, room.alice)
    client = app.test_client()
    post(client, "/reset", {"name": "Alice", "code": code, "password": "fresh password", "confirm": "fresh password",
                            "fresh": "yes"}, token_from="/reset")
    assert "gardener" not in text(client.get("/workbook/print"))      # a fresh, empty workbook
    autosave(client, f"{STORY}/introduction-to-you/who-are-you", "A painter, now.")
    assert "Bring back my earlier workbook" in text(client.get("/workbook"))
    wrong = post(client, "/workbook/earlier", {"code": "AAAA-BBBB-CCCC-DDDD"}, token_from="/workbook/earlier")
    assert "doesn't open an earlier workbook" in text(wrong)
    post(client, "/workbook/earlier", {"code": room.alice.recovery_code}, token_from="/workbook/earlier")
    printed = text(client.get("/workbook/print"))
    assert "I stopped sleeping." in printed and "A painter, now." in printed
    assert "A gardener." in printed   # both answers to the same question are kept: the earlier one among earlier answers
    assert "Introduction to you: Who are you? (an earlier answer, Preparing" in printed and "earlier/1/" not in printed
    assert EarlierKey.select().count() == 0
    assert Answer.select().where(Answer.key_generation == 1).count() == 0


def test_answers_to_removed_questions_stay_with_their_owner(room, as_user):
    """Content edits never wipe answers: an answer whose question left the content shows as an earlier answer."""
    from p2p.answers import Workbook
    alice = as_user(room.alice)
    Workbook(User.get_by_id(room.alice.id), room.alice.data_key).save(
        "p2p/module-1/session-1/a-question-since-removed", "Still mine.", None)
    page = text(alice.get("/workbook"))
    assert "Earlier answers" in page and "Still mine." in page
    assert "A question no longer in the programme (Module 1: Introducing Peer Support · Session 1:" in page
    assert "Still mine." in text(alice.get("/workbook/print"))
    assert "Still mine." in alice.get("/workbook/download.md").get_data(as_text=True)


def test_downloads_include_what_was_recorded_between_sessions(room, as_user):
    from datetime import date

    from p2p.models import FollowUp, Membership
    alice = as_user(room.alice)
    FollowUp.record(Membership.of(room.alice, room.group), room.facilitator, finish_by=date(2026, 3, 3),
                    talked_on=date(2026, 3, 10), talked_with=room.facilitator, next_step="Read <b>module 1</b>")
    body = alice.get("/workbook/download.md").get_data(as_text=True)
    assert "## Between sessions" in body and "### Tuesday group" in body
    assert "You agreed to finish your reflection by 3 March 2026." in body
    assert "You talked with Fran on 10 March 2026. Next step: Read <b>module 1</b>" in body
    data = json.loads(alice.get("/workbook/download.json").get_data(as_text=True))
    assert data["between_sessions"][0]["finish_reflection_by"] == "2026-03-03"
    assert data["between_sessions"][0]["talked_with"] == "Fran"
    bob = json.loads(as_user(room.bob).get("/workbook/download.json").get_data(as_text=True))
    assert bob["between_sessions"] == []   # each person's own records only
