"""Anonymous means anonymous in the data too. Who wrote an anonymous proposal or thought, and who responded (a
private objection above all), is kept as a pseudonym that only the person's own session can make again
(crypto.pseudonym_key, from their workbook key): the person still sees "yours" and changes their response, one
response per person still holds, and the database and its backups link none of it to anyone. Plain SQL over the
file after a whole Session 1 looks for every way a row could name a person."""

import re
import sqlite3

import pytest
from conftest import PASSWORD, post, text
from test_board import board_url, propose, respond, settings
from test_sessions import add_thought, discussion_url, follow_the_course
from test_workbook_keys import reset_code_for

from p2p import backup as backups
from p2p.db import db
from p2p.models import Board, BoardResponse, Proposal, SentRequest, User


def session_1(room, as_user) -> dict:
    """Alice and Bob propose anonymously; Bob objects to Alice's without his name and, with it, to another;
    Alice agrees; each adds a thought, Alice's without her name."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Listen without judging")
    propose(bob, room, "Phones away")
    listen, phones = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    respond(alice, room, listen, "agree")
    respond(alice, room, phones, "unsure")
    respond(bob, room, listen, "object", private=True)
    respond(bob, room, phones, "object")
    return {"alice": alice, "bob": bob, "fran": fran, "listen": listen, "phones": phones}


def test_each_person_still_sees_what_is_theirs_and_nobody_else_does(room, as_user):
    s = session_1(room, as_user)
    settings(s["fran"], room, "tallies-on")
    alice, bob, fran = (text(s[n].get(board_url(room))) for n in ("alice", "bob", "fran"))
    assert alice.count("Your proposal") == 1 and bob.count("Your proposal") == 1 and "Your proposal" not in fran
    chosen = rf'id="respond-{s["listen"].id}-([a-z-]+)"[^>]*aria-pressed="true"'
    assert re.findall(chosen, bob) == ["object-private"]   # his private objection
    assert re.findall(chosen, alice) == ["agree"]
    assert not re.findall(chosen, fran)
    # Fran sees Bob's name on his named objection only: the private one is "needs discussion", nobody's.
    assert "would like to talk about it: Bob" in fran and fran.count("Bob") == 1


def test_one_response_per_person_holds_and_a_change_keeps_one_row(room, as_user):
    s = session_1(room, as_user)
    for kind in ("unsure", "object", "agree"):
        respond(s["bob"], room, s["listen"], kind)
    rows = list(BoardResponse.select().where(BoardResponse.proposal == s["listen"]))
    assert sorted(r.kind for r in rows) == ["agree", "agree"]        # Alice's and Bob's, one each
    respond(s["bob"], room, s["phones"], "object", private=True)      # named to private: the name goes
    assert [r.user_id for r in BoardResponse.select().where(BoardResponse.proposal == s["phones"], BoardResponse.kind == "object")] \
        == [None]


@pytest.mark.sqlite_only
def test_the_database_and_a_backup_link_no_anonymous_words_or_private_objection_to_anyone(room, as_user, tmp_path):
    follow_the_course(room)
    s = session_1(room, as_user)
    add_thought(s["alice"], room, "Ask before hugging", anonymous=True)
    add_thought(s["bob"], room, "Name what you need")
    db.close()
    made = backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "b")
    people = {room.alice.id: "Alice", room.bob.id: "Bob"}
    for path in (tmp_path / "test.sqlite3", made):
        connection = sqlite3.connect(path)
        sql = lambda q: connection.execute(q).fetchall()  # noqa: E731
        assert sql("SELECT author_id FROM proposal") == [(None,), (None,)]                  # both anonymous
        assert sql("SELECT author_id FROM thought WHERE anonymous") == [(None,)]
        assert sql("SELECT user_id FROM response WHERE private OR kind != 'object'") == [(None,)] * 3
        assert sql("SELECT user_id FROM response WHERE kind = 'object' AND NOT private") == [(room.bob.id,)]
        # No other column of these tables holds anything a person can be found by: their id, name or name key.
        for table in ("proposal", "response", "responder", "thought", "sent_request", "throttle"):
            columns = [row[1] for row in sql(f"PRAGMA table_info({table})")]
            for row in sql(f'SELECT * FROM "{table}"'):
                found = dict(zip(columns, row))
                if table == "response" and found["kind"] == "object" and not found["private"]:
                    continue   # Bob's named objection: his name is shown with it, on that behaviour only
                if table == "thought" and not found["anonymous"]:
                    continue
                for column, value in found.items():
                    if column.endswith("_id") and column not in ("id", "board_id", "proposal_id", "discussion_id",
                                                                 "merged_into_id"):
                        assert value not in people, (table, column, found)
                    assert not any(name in str(value) for name in ("Alice", "Bob", "alice", "bob")), (table, found)
        # Pseudonyms are one per thing: nothing repeats between a person's rows.
        tags = [v for (v,) in sql("SELECT voter FROM response UNION ALL SELECT tag FROM responder")] + \
               [v for (v,) in sql("SELECT owner_tag FROM proposal UNION ALL SELECT owner_tag FROM thought")]
        assert len(tags) == len(set(tags))
        connection.close()


def test_after_a_reset_without_the_recovery_code_nothing_from_before_is_yours(app, room, as_user):
    s = session_1(room, as_user)
    follow_the_course(room)
    add_thought(s["alice"], room, "Ask before hugging", anonymous=True)
    code = reset_code_for(as_user, room, room.alice)   # a facilitator's reset code, spent by someone else
    taker = app.test_client()
    post(taker, "/reset", {"name": "Alice", "code": code, "password": "taken over now", "confirm": "taken over now",
                           "fresh": "yes"}, token_from="/reset")
    board = text(taker.get(board_url(room)))
    assert "Listen without judging" in board and "Your proposal" not in board
    assert not re.search(r'id="respond-\d+-[a-z-]+"[^>]*aria-pressed="true"', board)
    discussion = text(taker.get(discussion_url(room)))
    assert "Ask before hugging" in discussion and "Yours" not in discussion


def test_responses_to_merged_duplicates_count_until_the_merged_one_is_answered(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Listen", "Listen well"):
        propose(alice, room, words)
    one, two = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    respond(alice, room, one, "agree")
    respond(alice, room, two, "object", private=True)
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, "/merge"), {"proposal": [one.id, two.id]}, token_from=board_url(room))
    merged = Proposal.get(Proposal.merged_into.is_null(), Proposal.board == Board.for_group(room.group))
    settings(fran, room, "phase:respond")
    page = text(alice.get(board_url(room)))   # hers: the most careful of her two
    assert re.search(rf'id="respond-{merged.id}-object-private"[^>]*aria-pressed="true"', page)
    respond(alice, room, merged, "unsure")   # answering the merged one replaces what she said to the duplicates
    assert [r.kind for r in BoardResponse.select()] == ["unsure"]


def test_responses_kept_before_pseudonyms_move_to_them_when_their_person_opens_the_board(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(fran, room, "Be kind")
    kind = Proposal.get()
    BoardResponse.create(proposal=kind, user=room.alice.id, voter=None, kind="agree")   # as upgrade step 11 left it
    settings(fran, room, "phase:respond")
    assert re.search(rf'id="respond-{kind.id}-agree"[^>]*aria-pressed="true"', text(alice.get(board_url(room))))
    row = BoardResponse.get()
    assert row.user_id is None and row.voter
    respond(alice, room, kind, "unsure")
    assert [r.kind for r in BoardResponse.select()] == ["unsure"]


def test_a_deleted_account_s_responses_and_named_words_go_at_once_its_anonymous_ones_stay(room, as_user):
    s = session_1(room, as_user)
    settings(s["fran"], room, "named-on")
    propose(s["bob"], room, "Start on time")
    version = Board.for_group(room.group).version
    post(s["bob"], "/account/delete", {"password": PASSWORD}, token_from="/account/delete")
    assert User.get_or_none(User.id == room.bob.id) is None
    assert [p.text for p in Proposal.select().order_by(Proposal.id)] == ["Listen without judging", "Phones away"]
    assert sorted(r.kind for r in BoardResponse.select()) == ["agree", "unsure"]   # Alice's only
    assert Board.for_group(room.group).version > version   # every screen shows it now, not at the next change
    assert SentRequest.select().count() >= 0
