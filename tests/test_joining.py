"""Joining in seconds (issue 13): from the QR code's link to the board in two screens; the recovery card offered when
the workbook is first opened, and nothing written in it before; one Argon2id derivation per sign-in, accounts from
before still signing in (and moved to the new record)."""

import re

import pytest
from argon2 import PasswordHasher
from conftest import PASSWORD, csrf_token, login, post, text

from p2p import crypto, passwords
from p2p.answers import LADDER_MARKED, Workbook
from p2p.models import Answer, Board, EarlierKey, LadderSnapshot, Membership, PasswordReset, Share, User

S1 = "p2p/module-1/session-1"
S1_PAGE = "modules/module-1/sessions/session-1"
CODE = re.compile(r'class="recovery-code"[^>]*>([A-Z0-9-]+)<')


def join(client, room, name="Dana", password=PASSWORD, **more):
    """The join link as the QR code carries it, then the form as a person fills it in: a name and one password."""
    path = f"/join/{room.group.join_code}"
    return post(client, path, {"name": name, "password": password, **more}, token_from=path)


def autosave(client, place, value):
    return client.post("/workbook/save", data={"place": place, "value": value, "revision": ""},
                       headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client, "/")})


@pytest.fixture
def derivations(monkeypatch):
    """Every Argon2id derivation the app makes (password records, keys from before them, names that do not
    exist), and every check of a password hash from before records, counted."""
    counted = []
    derive, verify = passwords.argon2id, passwords.verify_legacy
    monkeypatch.setattr(passwords, "argon2id", lambda *a, **k: counted.append("argon2id") or derive(*a, **k))
    monkeypatch.setattr(passwords, "verify_legacy", lambda *a, **k: counted.append("legacy hash") or verify(*a, **k))
    return counted


# ---------------------------------------------------------------------------------------------------
# Two screens: the join form, then the board.


def test_the_join_link_asks_a_name_and_one_password_then_opens_the_board(app, room, derivations):
    Board.for_group(room.group)   # the facilitator has the board open, on the projector with the QR code
    client = app.test_client()
    form = client.get(f"/join/{room.group.join_code}").get_data(as_text=True)
    assert "Join Tuesday group" in form
    assert form.count('type="password"') == 1 and 'name="confirm"' not in form
    # "Show password" instead of typing it twice, waiting hidden until the page's script can make it work.
    assert re.search(r'<div class="choice show-password" hidden>\s*<input type="checkbox" id="password-shown" '
                     r'data-shows-password="password">\s*<label for="password-shown">Show password</label>', form)
    derivations.clear()
    response = join(client, room)
    assert response.status_code == 302 and response.location == f"/groups/{room.group.id}/board"
    assert derivations == ["argon2id"]   # one derivation: the password record and the key that wraps the workbook's
    board = text(client.get(response.location))
    assert "Our code of behaviour" in board and "Welcome to Tuesday group, Dana" in board
    dana = User.by_name("Dana")
    assert Membership.of(dana, room.group).role == "participant"
    assert not dana.recovery_card_confirmed   # offered when the workbook is first opened


def test_before_the_group_has_a_board_joining_opens_the_group_page(app, room):
    response = join(app.test_client(), room, name="Dana")
    assert response.location == f"/groups/{room.group.id}"


def test_someone_signed_in_joins_with_one_tap_and_lands_on_the_board(app, room, as_user):
    Board.for_group(room.group)
    outsider = as_user(room.outsider)
    path = f"/join/{room.group.join_code}"
    assert "Join Tuesday group?" in text(outsider.get(path))
    assert post(outsider, path, token_from=path).location == f"/groups/{room.group.id}/board"


def test_a_join_form_still_says_what_is_wrong(app, room):
    client = app.test_client()
    page = text(join(client, room, name="", password="short"))
    assert "Please choose a name" in page and "at least 8 characters" in page
    assert User.select().count() == 5   # the room's people, nobody more
    # A form from before (two password boxes) is still checked as it was.
    assert "not the same" in text(join(client, room, confirm="something else"))


def test_a_name_chosen_by_someone_else_at_the_same_moment_is_said_kindly(app, room, monkeypatch):
    """The name was free when the form was checked, and taken by another joiner before this one was saved."""
    new_account = User.new_account

    def someone_else_first(name, password, *args, **kwargs):
        new_account(name, "another person's password").save()
        return new_account(name, password, *args, **kwargs)
    monkeypatch.setattr(User, "new_account", someone_else_first)
    page = join(app.test_client(), room, name="Dana")
    assert page.status_code == 200 and "Someone here already uses that name" in text(page)
    assert User.select().where(User.name == "Dana").count() == 1


# ---------------------------------------------------------------------------------------------------
# The recovery card, before the first answer.


def test_the_recovery_card_comes_first_when_the_workbook_is_first_opened(app, room):
    client = app.test_client()
    join(client, room)
    session_page = f"/groups/{room.group.id}/{S1_PAGE}"
    for page in (session_page, "/workbook"):
        response = client.get(page)
        assert response.status_code == 302 and response.location.startswith("/account/recovery-code?next=")
    assert client.get(f"/groups/{room.group.id}/modules/module-1").status_code == 200   # nothing to write there
    card = text(client.get(f"/account/recovery-code?next={session_page}"))
    assert "Before you write in your workbook" in card and "It starts working when you say" in card
    code = CODE.search(card).group(1)
    dana = User.by_name("Dana")
    with pytest.raises(crypto.CannotOpen):
        dana.unlock_with_recovery_code(code)   # shown, not yet confirmed
    done = post(client, "/account/recovery-code", {"next": session_page, "card": re.search(
        r'name="card" value="([^"]+)"', card).group(1)}, token_from="/account/recovery-code")
    assert done.location == session_page
    dana = User.by_name("Dana")
    assert dana.recovery_card_confirmed and dana.unlock_with_recovery_code(code) == dana.unlock_with_password(PASSWORD)
    assert client.get(session_page).status_code == 200
    assert autosave(client, f"{S1}/positive-about-p2p", "Hopeful").json["revision"] == 1
    again = text(client.get("/account/recovery-code"))
    assert code not in again and "cannot be shown again" in again


def workbook_writes(room, back, old_code):
    """Every route that writes in a workbook, with what each sends: (method and path, form, headers)."""
    json = {"Accept": "application/json"}
    htmx = {"HX-Request": "true"}
    return [
        ("/workbook/save", {"place": f"{S1}/positive-about-p2p", "value": "Hopeful", "back": back}, json),
        ("/workbook/save", {"place": f"{S1}/anything-challenging", "value": "Not much", "back": back}, {}),
        ("/workbook/done-for-now", {"session": S1, "done": "1", "back": back}, htmx),
        ("/workbook/done-for-now", {"session": S1, "done": "1", "back": back}, {}),
        ("/workbook/ladder", {"place": f"p2p/preparing/personal-stocktake/ladder-of-change/{LADDER_MARKED}",
                              "value": ["2"], "back": back}, {}),
        ("/workbook/share", {"place": f"{S1}/positive-about-p2p", "action": "discuss", "group_id": room.group.id,
                             "back": back}, htmx),
        ("/workbook/earlier", {"code": old_code}, {}),
    ]


def test_no_route_writes_in_a_workbook_before_its_recovery_card(app, room):
    """Someone who never opens their workbook's pages, but writes by a link, an old tab or a script: refused, kindly,
    by every route that writes, and nothing is stored; once the card is confirmed, the same requests write."""
    client = app.test_client()
    join(client, room)
    dana = User.by_name("Dana")
    # A workbook from before a reset, and its old recovery code, so that "Bring back my earlier workbook" would write.
    salt, old_code = crypto.new_salt(), crypto.new_recovery_code()
    EarlierKey.create(user=dana, generation=0, key_salt=salt, key_by_recovery=crypto.seal(
        crypto.recovery_key(old_code, salt), crypto.new_data_key(), "wrap:0:recovery"))
    back = f"/groups/{room.group.id}/{S1_PAGE}"
    writing_routes = {rule.rule for rule in app.url_map.iter_rules()
                      if rule.endpoint.startswith("workbook.") and "POST" in rule.methods and "<" not in rule.rule}
    writes = workbook_writes(room, back, old_code)
    assert writing_routes - {"/workbook/revisions", "/workbook/delete"} == {path for path, _, _ in writes}
    for path, form, headers in writes:
        response = post(client, path, form, headers=headers)
        if headers.get("Accept"):
            assert response.status_code == 403 and "recovery card" in response.json["problem"]
        elif headers.get("HX-Request"):
            assert response.headers["HX-Redirect"].startswith("/account/recovery-code?next=")
        else:
            assert response.status_code == 302 and response.location.startswith("/account/recovery-code?next=")
    for model in (Answer, LadderSnapshot, Share):
        assert not model.select().where(model.user == dana.id).exists()
    assert EarlierKey.select().where(EarlierKey.user == dana.id).exists()

    post(client, "/account/recovery-code", {"next": "/"}, token_from="/account/recovery-code")
    for path, form, headers in writes[:-1]:
        assert post(client, path, form, headers=headers).status_code in (200, 302)
    assert Answer.select().where(Answer.user == dana.id).count() >= 3
    assert LadderSnapshot.select().where(LadderSnapshot.user == dana.id).count() == 1
    assert Share.select().where(Share.user == dana.id).count() == 1


def test_the_card_in_another_sign_in_is_a_new_code_and_only_the_one_confirmed_works(app, room):
    phone = app.test_client()
    join(phone, room)
    first = CODE.search(text(phone.get("/account/recovery-code"))).group(1)   # seen on the phone, not confirmed
    laptop = app.test_client()
    login(laptop, "Dana")
    card = text(laptop.get("/workbook", follow_redirects=True))
    code = CODE.search(card).group(1)
    assert code != first and "Your recovery code" in card
    assert CODE.search(text(laptop.get("/account/recovery-code"))).group(1) == code   # the same, until confirmed
    post(laptop, "/account/recovery-code", {"next": "/workbook"}, token_from="/account/recovery-code")
    dana = User.by_name("Dana")
    assert dana.unlock_with_recovery_code(code)
    with pytest.raises(crypto.CannotOpen):
        dana.unlock_with_recovery_code(first)


def test_a_card_from_another_tab_is_not_the_one_confirmed(app, room):
    client = app.test_client()
    join(client, room)
    shown = text(client.get("/account/recovery-code"))
    tag = re.search(r'name="card" value="([^"]+)"', shown).group(1)
    response = post(client, "/account/recovery-code", {"next": "/workbook", "card": "0" * 20},
                    token_from="/account/recovery-code")
    assert response.location.startswith("/account/recovery-code")
    assert "This is the one to keep" in text(client.get(response.location))
    assert not User.by_name("Dana").recovery_card_confirmed
    post(client, "/account/recovery-code", {"next": "/workbook", "card": tag}, token_from="/account/recovery-code")
    assert User.by_name("Dana").unlock_with_recovery_code(CODE.search(shown).group(1))


def test_a_facilitator_setup_and_a_fresh_workbook_still_show_the_card_at_once(app, room, as_user):
    """Only joining moves the card to the workbook's first opening: a recovery code made elsewhere wraps the key
    at once, as before."""
    assert room.alice.recovery_card_confirmed and User.get_by_id(room.facilitator.id).recovery_card_confirmed


# ---------------------------------------------------------------------------------------------------
# One derivation per sign-in; accounts from before still sign in.


def legacy_account(name: str, password: str = PASSWORD) -> User:
    """An account as stored before password records: argon2-cffi's password hash, and the workbook key wrapped by a
    second Argon2id of the password (with the account's key_salt) used as the key itself."""
    user = User.create_account(name, password)
    user.password_hash = PasswordHasher(memory_cost=8, time_cost=1, parallelism=1).hash(password)
    user.key_by_password = crypto.seal(crypto.password_key(password, user.key_salt), user.data_key,
                                       f"wrap:{user.key_generation}:password")
    user.save()
    return user


def test_a_sign_in_takes_one_derivation_and_a_wrong_name_as_long_as_a_wrong_password(app, room, derivations):
    login(app.test_client(), "Alice")
    assert derivations == ["argon2id"]
    failures = []
    for name in ("Alice", "Nobody"):
        derivations.clear()
        post(app.test_client(), "/login", {"name": name, "password": "not the password"}, token_from="/login")
        failures.append(len(derivations))
    # (the password checked, then whether a reset replaced it): the same for a name that does not exist
    assert failures == [2, 2]


def test_an_account_from_before_signs_in_and_is_moved_to_one_derivation(app, room, derivations):
    old = legacy_account("Lee")
    Workbook(old, old.data_key).save(f"{S1}/positive-about-p2p", "Written before the update", None)
    derivations.clear()
    client = app.test_client()
    login(client, "Lee")
    assert derivations == ["legacy hash", "argon2id"]   # the old hash, then the old key: two, this once
    lee = User.by_name("Lee")
    assert crypto.is_password_record(lee.password_hash) and lee.key_by_password != old.key_by_password
    assert client.get("/workbook").status_code == 200   # the workbook open, with no card to see first
    derivations.clear()
    again = app.test_client()
    login(again, "Lee")
    assert derivations == ["argon2id"]   # moved: one from now on
    assert lee.unlock_with_password(PASSWORD) == old.data_key and lee.unlock_with_recovery_code(old.recovery_code)
    assert Workbook(lee, lee.unlock_with_password(PASSWORD)).get(f"{S1}/positive-about-p2p").value == \
        "Written before the update"
    assert crypto.password_matches(old.password_hash, PASSWORD)   # a replaced password from before is still known
    assert not crypto.password_matches(old.password_hash, "something else")


def test_a_wrong_password_for_an_account_from_before_changes_nothing(app, room):
    old = legacy_account("Lee")
    response = post(app.test_client(), "/login", {"name": "Lee", "password": "not it at all"}, token_from="/login")
    assert response.status_code == 200 and "don't match" in text(response)
    assert User.by_name("Lee").password_hash == old.password_hash


def test_a_changed_cost_is_taken_up_at_the_next_sign_in(app, room, derivations):
    passwords.configure(16, 1)
    try:
        derivations.clear()
        login(app.test_client(), "Alice")
        assert derivations == ["argon2id", "argon2id"]   # the record at its own cost, then at the new one: once
        alice = User.by_name("Alice")
        assert "$m=16,t=1,p=1$" in alice.password_hash and alice.unlock_with_password(PASSWORD) == room.alice.data_key
    finally:
        passwords.configure(8, 1)


def test_changing_a_password_takes_two_derivations_not_four(app, room, as_user, derivations):
    client = as_user(room.alice)
    derivations.clear()
    post(client, "/account/password", {"current": PASSWORD, "password": "another long one",
                                       "confirm": "another long one"}, token_from="/account/password")
    assert derivations == ["argon2id", "argon2id"]   # the current password checked, the new one recorded
    assert User.by_name("Alice").unlock_with_password("another long one") == room.alice.data_key


def test_a_password_replaced_by_a_reset_is_still_recognised(app, room, as_user):
    """The login page tells the owner of a password a reset replaced when and by whom: the stored old password is a
    record now, as readable as a hash from before."""
    page = text(post(as_user(room.facilitator), f"/groups/{room.group.id}/members/{room.alice.id}/reset-code",
                     token_from=f"/groups/{room.group.id}"))
    code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    post(app.test_client(), "/reset", {"name": "Alice", "code": code, "fresh": "yes", "password": "fresh password",
                                       "confirm": "fresh password"}, token_from="/reset")
    assert crypto.is_password_record(PasswordReset.get().old_password_hash)
    said = text(post(app.test_client(), "/login", {"name": "Alice", "password": PASSWORD}, token_from="/login"))
    assert "That was your password until" in said
