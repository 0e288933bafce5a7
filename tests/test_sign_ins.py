"""Sign-ins (issue 10, "Sessions"): the key sealing the workbook key in the cookie takes a secret of the sign-in,
deleted at logout and at a password change, so a copied cookie dies with it even for someone holding the server's
secret and the database; and a sign-in ends after IDLE_MINUTES without use, a live page's polls not counting."""

from base64 import b64decode
from datetime import timedelta

import pytest
from conftest import PASSWORD, database_bytes, login, make_app, on_postgresql, post, text
from Cryptodome.Hash import SHA256
from Cryptodome.Protocol.KDF import HKDF
from test_board import propose, respond, settings
from test_workbook import S1

from p2p import activity, crypto
from p2p.config import BadConfig
from p2p.db import db
from p2p.models import Login, Proposal, digest, utcnow

COOKIE = "p2p_session"


def what_a_copied_cookie_opens(app, cookie: str) -> bytes | None:
    """Everything someone with a copy of the cookie, the server's secret and the database can try: the workbook key
    sealed in the cookie, opened with the key made from the server's secret and each sign-in secret the database
    holds, or from the server's secret alone (as the key was made before sign-ins had secrets)."""
    data = app.session_interface.get_signing_serializer(app).loads(cookie)   # the server's secret reads the cookie
    sealed, who = b64decode(data["wk"]), f"wk:{data['_user_id']}"
    keys = [crypto.session_key(app.secret_key, login.secret) for login in Login.select()]
    keys.append(HKDF(app.secret_key.encode(), 32, None, SHA256, context=b"p2p session wrap"))
    for key in keys:
        try:
            return crypto.open_sealed(key, sealed, who)
        except crypto.CannotOpen:
            continue
    return None


def copy_of_cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def with_cookie(app, cookie: str):
    """Another browser, given the copied cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def test_a_copied_cookie_opens_nothing_after_logout(app, room, as_user, tmp_path, another_connection):
    alice = as_user(room.alice)
    cookie = copy_of_cookie(alice)
    # While Alice is signed in, the server can open her key, as it must: the copy is as good as hers.
    assert what_a_copied_cookie_opens(app, cookie) == room.alice.data_key
    secret = Login.get(Login.user == room.alice.id).secret
    assert on_postgresql(app) or secret in database_bytes(app, tmp_path)
    post(alice, "/logout")
    assert what_a_copied_cookie_opens(app, cookie) is None
    assert not Login.select().where(Login.user == room.alice.id).exists()
    copy = with_cookie(app, cookie)
    assert copy.get("/workbook").headers["Location"].startswith("/login")
    # Not in the database file nor its -wal either (checkpointed), nor in what pg_dump reads.
    raw = database_bytes(app, tmp_path)
    assert secret not in raw and secret.hex().encode() not in raw


def test_a_copied_cookie_opens_nothing_after_a_password_change(app, room, as_user):
    copied = as_user(room.alice)
    cookie = copy_of_cookie(copied)
    other_device = as_user(room.alice)
    post(other_device, "/account/password", {"current": PASSWORD, "password": "a new long password",
                                             "confirm": "a new long password"}, token_from="/account/password")
    assert what_a_copied_cookie_opens(app, cookie) is None
    assert with_cookie(app, cookie).get("/workbook").status_code == 302
    # The device that changed it carries on, with a sign-in of its own.
    assert what_a_copied_cookie_opens(app, copy_of_cookie(other_device)) == room.alice.data_key
    assert "My workbook" in text(other_device.get("/workbook"))


def test_a_copied_cookie_opens_nothing_after_a_reset(app, room, as_user):
    from test_resets import spend
    from test_workbook_keys import reset_code_for
    cookie = copy_of_cookie(as_user(room.alice))
    spend(app, reset_code_for(as_user, room, room.alice), recovery=room.alice.recovery_code)
    assert what_a_copied_cookie_opens(app, cookie) is None


def idle_for(app, client, minutes: float, *, seen: float | None = None) -> None:
    """As if this device's sign-in had not been used for `minutes` (the last active minute its cookie carries), and
    its pages were last seen `seen` minutes ago (what was noted is written first, as each minute's flush does)."""
    with app.app_context():
        activity.of(app).flush(until=utcnow() + activity.LONGEST_WAIT)
    now = utcnow()
    with client.session_transaction() as cookie:
        cookie["active"] = activity.minute_number(now - timedelta(minutes=minutes))
        token = cookie["login"]
    Login.update(seen_at=now - timedelta(minutes=minutes if seen is None else seen)).where(
        Login.token_hash == digest(token)).execute()


def test_a_sign_in_ends_after_the_idle_time(app, room, as_user):
    assert app.config["IDLE_MINUTES"] == 30
    alice = as_user(room.alice)
    idle_for(app, alice, 28)   # the cookie keeps the minute: 28 is 28 to 29 minutes, within the 30
    assert alice.get("/workbook").status_code == 200   # used within the time: it carries on, from now
    with alice.session_transaction() as cookie:
        assert cookie["active"] >= activity.minute_number(utcnow()) - 1
    idle_for(app, alice, 31)
    response = alice.get("/workbook")
    assert response.headers["Location"] == "/login?next=/workbook"
    assert "You were logged out after a while without using the app" in text(alice.get(response.headers["Location"]))
    assert not Login.select().where(Login.user == room.alice.id).exists()   # and its secret with it
    assert alice.get("/workbook").status_code == 302
    login(alice, "Alice")
    assert alice.get("/workbook").status_code == 200


def test_autosave_after_the_idle_time_keeps_the_text_and_asks_to_log_in(app, room, as_user):
    """static/js/autosave.js keeps the text on a 401 and asks to log in again (its browser tests): the same answer
    as after a logout elsewhere."""
    alice = as_user(room.alice)
    page = f"/groups/{room.group.id}/modules/module-1/sessions/session-1"
    token = __import__("conftest").csrf_token(alice, page)
    idle_for(app, alice, 31)
    response = alice.post("/workbook/save", data={"csrf_token": token, "place": f"{S1}/anything-challenging",
                                                  "value": "kept on the page", "revision": ""},
                          headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["login"] == "/login"
    again = alice.post("/workbook/save", data={"csrf_token": token, "place": f"{S1}/anything-challenging",
                                               "value": "kept on the page", "revision": ""},
                       headers={"Accept": "application/json"})
    assert again.status_code == 401   # the form token went with the session: still "log in again", never an error


def test_a_live_pages_polls_neither_keep_a_sign_in_going_nor_end_it(app, room, as_user):
    """A board left open on a tablet polls every 1.5 s: that is not someone using it. The board stays live (it is
    the group's, not private), and anything else asks to log in again."""
    alice = as_user(room.alice)
    board, timer = f"/groups/{room.group.id}/board", f"/groups/{room.group.id}/timer/live"
    assert alice.get(board).status_code == 200
    idle_for(app, alice, 31, seen=0.5)
    with alice.session_transaction() as cookie:
        before = cookie["active"]
    for _ in range(3):
        assert alice.get(f"{board}/live", headers={"HX-Request": "true"}).status_code == 200
        assert alice.get(timer, headers={"HX-Request": "true"}).status_code in (200, 204)
    with alice.session_transaction() as cookie:
        assert cookie["active"] == before   # polls: the page is open, nobody is using it
    tap = alice.get(f"/groups/{room.group.id}", headers={"HX-Request": "true"})
    assert tap.status_code == 204 and tap.headers["HX-Redirect"].startswith("/login?next=")


def test_a_page_closed_for_the_idle_time_ends_at_its_next_poll(app, room, as_user):
    alice = as_user(room.alice)
    idle_for(app, alice, 31)
    poll = alice.get(f"/groups/{room.group.id}/board/live", headers={"HX-Request": "true"})
    assert poll.status_code == 204 and poll.headers["HX-Redirect"].startswith("/login?next=")


def test_no_request_writes_its_own_sign_in_the_minute_s_flush_writes_them_all(app, room, as_user, monkeypatch):
    """A sign-in's row written by the request that used it sat in the commit just before what the request made:
    the database's history (its -wal) told whose an anonymous proposal or a private objection was; written once a
    minute for those who had done something, the next write still named them. Requests only note that their
    sign-in was seen (activity.py); each minute one transaction writes every sign-in seen, polls too, to the
    minute, and someone seen only by what they did waits a random while to be written; when someone last did
    something is in their own cookie."""
    alice, bob, fran, cara = (as_user(person) for person in (room.alice, room.bob, room.facilitator,
                                                              room.other_facilitator))
    for client in (alice, bob, fran, cara):
        idle_for(app, client, 5)
    before = {login.id: (login.active_at, login.seen_at) for login in Login.select()}
    written = []
    execute_sql = type(db.obj).execute_sql

    def recorded(self, sql, *args, **kwargs):
        written.append(sql)
        return execute_sql(self, sql, *args, **kwargs)
    monkeypatch.setattr(type(db.obj), "execute_sql", recorded)
    monkeypatch.setattr(activity.random, "random", lambda: 0.5)   # each doer's write waits half of SPREAD
    propose(alice, room, "Phones away")
    settings(fran, room, "phase:respond")
    respond(bob, room, Proposal.get(), "object", private=True)
    cara.get(f"/groups/{room.other_group.id}/board/live", headers={"HX-Request": "true"})   # only watching
    monkeypatch.undo()
    assert written and not [sql for sql in written if '"login"' in sql and not sql.startswith("SELECT")]
    assert {login.id: (login.active_at, login.seen_at) for login in Login.select()} == before
    with app.app_context():   # the watcher's page polled: written at the next minute; the others' a while later,
        assert activity.of(app).flush() == 1   # so that what they made and the write fall in different minutes
        assert activity.of(app).flush(until=utcnow() + activity.LONGEST_WAIT) == 3
    for sign_in in Login.select():
        assert before[sign_in.id][0] == sign_in.active_at   # never written
        assert sign_in.seen_at > utcnow() - timedelta(minutes=2)
        assert sign_in.seen_at.second == sign_in.seen_at.microsecond == 0   # to the minute, never the moment


def test_each_device_has_its_own_sign_in(app, room, as_user):
    phone, tablet = as_user(room.alice), as_user(room.alice)
    assert Login.select().where(Login.user == room.alice.id).count() == 2
    idle_for(app, phone, 31)
    assert phone.get("/workbook").status_code == 302     # the phone was put down half an hour ago
    assert tablet.get("/workbook").status_code == 200    # the tablet is in use


@pytest.mark.parametrize("minutes", [0, -5, "30"])
def test_the_idle_time_must_be_whole_minutes(tmp_path, minutes):
    with pytest.raises(BadConfig, match="IDLE_MINUTES to .*: it must be a whole number from 1"):
        make_app(tmp_path, IDLE_MINUTES=minutes)


def test_the_idle_time_is_the_hosts_to_set(app, database, tmp_path, room):
    short = make_app(tmp_path / "short", IDLE_MINUTES=5, **database)   # the same database, another setting
    client = short.test_client()
    login(client, "Alice")
    idle_for(short, client, 6)
    assert client.get("/workbook").status_code == 302
