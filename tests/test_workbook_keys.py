"""Workbook keys: made at sign-up, wrapped by password and recovery code, carried sealed in the session."""

import re
from base64 import b64decode

import pytest
from conftest import PASSWORD, login, post, text

from p2p import crypto
from p2p.models import EarlierKey, User


def session_of(app, client) -> dict:
    cookie = client.get_cookie("p2p_session").value
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(cookie)


def reset_code_for(as_user, room, user):
    page = text(post(as_user(room.facilitator), f"/groups/{room.group.id}/members/{user.id}/reset-code",
                     token_from=f"/groups/{room.group.id}"))
    return re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)


def test_every_account_has_a_wrapped_key_and_nothing_readable(app, room):
    alice = User.get_by_id(room.alice.id)
    key = alice.unlock_with_password(PASSWORD)
    assert len(key) == 32
    assert key == room.alice.data_key
    assert key not in alice.key_by_password and key not in alice.key_by_recovery
    with pytest.raises(crypto.CannotOpen):
        alice.unlock_with_password("not the password")
    assert alice.unlock_with_recovery_code(room.alice.recovery_code) == key


def test_the_session_cookie_carries_the_key_sealed_not_readable(app, room, as_user):
    client = as_user(room.alice)
    data = session_of(app, client)
    cookie = client.get_cookie("p2p_session").value
    key = room.alice.data_key
    assert "wk" in data
    assert key not in b64decode(data["wk"]) and key.hex() not in cookie
    from base64 import b64encode
    assert b64encode(key).decode() not in cookie


def test_joining_shows_the_recovery_code_once_the_workbook_is_opened(app, room):
    client = app.test_client()
    path = f"/join/{room.group.join_code}"
    post(client, path, {"name": "Dana", "password": PASSWORD}, token_from=path)
    page = text(client.get("/workbook", follow_redirects=True))
    code = re.search(r'class="recovery-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    assert "Keep this safe" in page and "Dana" in page
    done = post(client, "/account/recovery-code", {"next": f"/groups/{room.group.id}"},
                token_from="/account/recovery-code")
    assert done.headers["Location"] == f"/groups/{room.group.id}"
    dana = User.by_name("Dana")   # the code works once its owner said they had written it down
    assert dana.unlock_with_recovery_code(code) == dana.unlock_with_password(PASSWORD)
    again = text(client.get("/account/recovery-code"))
    assert code not in again and "cannot be shown again" in again


def test_a_new_recovery_code_replaces_the_old(app, room, as_user):
    client = as_user(room.alice)
    old = room.alice.recovery_code
    post(client, "/account/recovery-code/new", token_from="/account/recovery-code")
    page = text(client.get("/account/recovery-code"))
    new = re.search(r'class="recovery-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    alice = User.get_by_id(room.alice.id)
    assert alice.unlock_with_recovery_code(new) == room.alice.data_key
    with pytest.raises(crypto.CannotOpen):
        alice.unlock_with_recovery_code(old)


def test_changing_password_keeps_the_same_key(app, room, as_user):
    client = as_user(room.alice)
    post(client, "/account/password", {"current": PASSWORD, "password": "another long one", "confirm":
                                       "another long one"}, token_from="/account/password")
    alice = User.get_by_id(room.alice.id)
    assert alice.unlock_with_password("another long one") == room.alice.data_key
    assert alice.unlock_with_recovery_code(room.alice.recovery_code) == room.alice.data_key


def test_a_reset_with_the_recovery_code_keeps_the_workbook(app, room, as_user):
    code = reset_code_for(as_user, room, room.alice)
    client = app.test_client()
    response = post(client, "/reset", {"name": "Alice", "code": code, "recovery": room.alice.recovery_code.lower(),
                                       "password": "fresh password", "confirm": "fresh password"}, token_from="/reset")
    assert response.headers["Location"] == "/"
    assert "your workbook is just as you left it" in text(client.get("/"))
    assert User.get_by_id(room.alice.id).unlock_with_password("fresh password") == room.alice.data_key


def test_a_reset_with_a_wrong_recovery_code_changes_nothing(app, room, as_user):
    code = reset_code_for(as_user, room, room.alice)
    page = text(post(app.test_client(), "/reset", {"name": "Alice", "code": code, "recovery": "AAAA-BBBB-CCCC-DDDD",
                                                   "password": "fresh password", "confirm": "fresh password"},
                     token_from="/reset"))
    assert "doesn't open this workbook" in page
    login(app.test_client(), "Alice")  # the old password still works: nothing was changed


def test_a_reset_without_the_code_must_be_chosen_and_gives_a_fresh_workbook(app, room, as_user):
    code = reset_code_for(as_user, room, room.alice)
    page = text(post(app.test_client(), "/reset", {"name": "Alice", "code": code, "password": "fresh password",
                                                   "confirm": "fresh password"}, token_from="/reset"))
    assert "tick the box to start a fresh one" in page
    client = app.test_client()
    response = post(client, "/reset", {"name": "Alice", "code": code, "password": "fresh password",
                                       "confirm": "fresh password", "fresh": "yes"}, token_from="/reset")
    assert response.headers["Location"] == "/account/recovery-code"
    alice = User.get_by_id(room.alice.id)
    assert alice.key_generation == 2
    assert alice.unlock_with_password("fresh password") != room.alice.data_key
    earlier = EarlierKey.get(EarlierKey.user == alice)
    assert earlier.unlock(room.alice.recovery_code) == room.alice.data_key  # the old code still opens the old key


def test_logout_drops_the_key_from_the_session(app, room, as_user):
    client = as_user(room.alice)
    post(client, "/logout")
    assert "wk" not in session_of(app, client)
