"""Sending twice makes one. Every form that makes something carries a key from the page (request_key); sent
again after its answer was lost (a Wi-Fi drop, a double tap, a browser's "resend"), it is answered as the first
one was and nothing is made twice. Nothing kept with the keys links a person to what they sent."""

import re
import threading
import time
from datetime import timedelta

from conftest import csrf_token, post, text
from test_board import board_url, propose, respond, settings, shape
from test_sessions import discussion_url, follow_the_course

from p2p.db import db
from p2p.models import Board, BoardResponse, CodeVersion, Group, Proposal, SentRequest, Thought
from p2p.models.base import utcnow


def form_of(client, path: str, action: str) -> dict:
    """The hidden fields of the form posting to `action`, as the page gave them (its key among them)."""
    page = client.get(path).get_data(as_text=True)
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S).group(0)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def send_twice(client, path: str, action: str, data: dict, htmx=False):
    """The form as the page gave it, sent; then sent again as if the first answer had been lost on the way: the
    browser never got it, nor the cookie it set (a sign-up's answer signs its person in)."""
    fields = {**form_of(client, path, action), **data}
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", fields["request_key"])
    headers = {"HX-Request": "true"} if htmx else {}
    cookie = client.get_cookie("p2p_session")
    first = client.post(action, data=fields, headers=headers)
    client.set_cookie("p2p_session", cookie.value)
    return first, client.post(action, data=fields, headers=headers)


def test_a_proposal_sent_again_after_a_lost_answer_is_made_once(room, as_user):
    alice = as_user(room.alice)
    first, again = send_twice(alice, board_url(room), board_url(room, "/proposals"), {"text": "Listen well"},
                              htmx=True)
    assert Proposal.select().count() == 1
    for answer in (first, again):   # answered alike: sent, the box emptied, a new key for the next proposal
        assert "Sent. Add another whenever you like." in text(answer)
    keys = [re.search(r'name="request_key" value="([^"]+)"', text(a)).group(1) for a in (first, again)]
    assert len({*keys, form_of(alice, board_url(room), board_url(room, "/proposals"))["request_key"]}) == 3
    alice.post(board_url(room, "/proposals"), data={"csrf_token": csrf_token(alice, board_url(room)),
                                                    "request_key": keys[0], "text": "Be on time"})
    assert Proposal.select().count() == 2   # the next proposal, with the key its answer gave


def test_keys_are_kept_a_day_each_new_one_with_the_time_it_came(room, as_user):
    SentRequest.create(key="k" * 20, sent_at=utcnow() - timedelta(days=2))
    SentRequest.create(key="r" * 20, sent_at=utcnow() - timedelta(hours=1))
    for words in ("Listen well", "Be on time"):
        send_twice(as_user(room.alice), board_url(room), board_url(room, "/proposals"), {"text": words}, htmx=True)
        time.sleep(0.01)
    kept = {row.key: row.sent_at for row in SentRequest.select()}
    assert "k" * 20 not in kept and "r" * 20 in kept and len(kept) == 3
    new = sorted(at for key, at in kept.items() if key != "r" * 20)
    assert utcnow() - timedelta(minutes=1) < new[0] < new[1] <= utcnow(), "each key with its own time"


def test_a_thought_sent_again_is_added_once(room, as_user):
    follow_the_course(room)
    alice = as_user(room.alice)
    url = discussion_url(room)
    answers = send_twice(alice, url, discussion_url(room, tail="/thoughts"), {"text": "Ask first"}, htmx=True)
    assert Thought.select().count() == 1
    assert all("Added. Everyone in the group can see it now." in text(a) for a in answers)


def test_a_group_created_twice_is_one_group_and_both_answers_lead_to_it(room, as_user):
    fran = as_user(room.facilitator)
    before = Group.select().count()
    first, again = send_twice(fran, "/groups/new", "/groups/new", {"name": "Thursdays", "programme": "p2p"})
    assert Group.select().count() == before + 1
    assert first.status_code == again.status_code == 302 and first.location == again.location


def test_a_merge_and_a_version_sent_twice_happen_once(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Listen", "Listen to each other"):
        alice.post(board_url(room, "/proposals"), data={"csrf_token": csrf_token(alice, board_url(room)),
                                                        "text": words})
    settings(fran, room, "phase:shape")
    listen, listen2 = Proposal.select().order_by(Proposal.id)
    send_twice(fran, board_url(room), board_url(room, "/merge"), {"proposal": [listen.id, listen2.id]})
    assert Proposal.select().count() == 3
    assert "Tick two or more" not in text(fran.get(board_url(room)))   # the re-send is not taken for a mistake
    shape(fran, room, Proposal.get(Proposal.merged_into.is_null()), "agree")
    settings(fran, room, "phase:agree")
    send_twice(fran, board_url(room), board_url(room, "/version"), {})
    assert [v.number for v in CodeVersion.select()] == [1]


def test_a_reaffirm_round_sent_again_starts_one_round(room, as_user):
    """Sent again after its answer was lost, starting a round must not start another: the responses given in the
    new round meanwhile would become last round's."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Listen")
    settings(fran, room, "phase:agree")
    shape(fran, room, Proposal.get(), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    fields = form_of(fran, board_url(room, "/round"), board_url(room, "/round"))   # the confirmation page's form
    fran.post(board_url(room, "/round"), data=fields)
    respond(alice, room, Proposal.get(), "agree")
    fran.post(board_url(room, "/round"), data=fields)
    assert Board.get().round == 2
    assert [(r.kind, r.round) for r in BoardResponse.select()] == [("agree", 2)]
    assert "1 person has responded" in text(fran.get(board_url(room)))


def test_without_a_key_each_send_makes_one_as_before(room, as_user):
    alice = as_user(room.alice)
    for _ in range(2):
        alice.post(board_url(room, "/proposals"), data={"csrf_token": csrf_token(alice, board_url(room)),
                                                        "text": "Listen", "request_key": "short"})
    assert Proposal.select().count() == 2


def test_the_same_key_at_the_same_moment_makes_one(app, room):
    made = []

    def make():
        made.append(1)
        time.sleep(0.2)   # the second arrives while the first is still making
        return "/groups/1"

    def send():
        with app.app_context(), db.connection_context():
            results.append(SentRequest.once("k" * 22, make))

    results: list = []
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert sorted(results) == [(False, "/groups/1"), (True, "/groups/1")]
    assert SentRequest.select().count() == 1


def test_the_keys_kept_name_nobody(room, as_user):
    alice = as_user(room.alice)
    alice.post(board_url(room, "/proposals"), data={"csrf_token": csrf_token(alice, board_url(room)),
                                                    "text": "Listen", "request_key": "a" * 22})
    assert sorted(SentRequest._meta.fields) == ["id", "key", "result", "sent_at"]
    assert SentRequest.get().result is None


def test_a_sign_up_sent_again_signs_in_with_a_new_recovery_code_and_makes_one_account(app, room):
    from p2p.models import User
    code = room.group.join_code
    path = f"/join/{code}"
    phone = app.test_client()
    first, again = send_twice(phone, path, path, {"name": "Dana", "password": "a calm long password"})
    assert User.select().where(User.name == "Dana").count() == 1
    assert first.location == again.location == f"/groups/{room.group.id}"
    # The second answer's session: signed in, with a recovery code to write down when the workbook is first opened.
    page = text(phone.get("/workbook", follow_redirects=True))
    shown = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", page).group(0)
    post(phone, "/account/recovery-code", {"next": "/workbook"}, token_from="/account/recovery-code")
    dana = User.get(User.name == "Dana")
    assert dana.unlock_with_recovery_code(shown.replace("-", ""))   # the code shown is the one that works now
    assert "Tuesday group" in text(phone.get(f"/groups/{room.group.id}"))


def test_a_setup_link_sent_again_is_one_facilitator_not_a_used_link(app):
    from p2p.models import OneTimeToken, User
    with app.app_context(), db.connection_context():
        token = OneTimeToken.issue(OneTimeToken.SETUP, 24)
    path = f"/setup/{token}"
    laptop = app.test_client()
    first, again = send_twice(laptop, path, path, {"name": "Robin", "password": "a calm long password",
                                                   "confirm": "a calm long password"})
    assert again.status_code == 302 and again.location == first.location
    assert User.select().count() == 1
    stranger = app.test_client()   # the link is spent for anyone else
    assert stranger.get(path).status_code == 404
