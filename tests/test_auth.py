"""Accounts: setup links, login and its throttle, next=, session invalidation, password change and reset."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import PASSWORD, csrf_token, login, post, text

from p2p.models import FACILITATOR, OneTimeToken, User
from p2p.web import safe_next


def test_no_default_accounts_exist(app):
    assert User.select().count() == 0


def test_setup_link_creates_one_facilitator_once(client):
    token = OneTimeToken.issue(OneTimeToken.SETUP, 24)
    page = client.get(f"/setup/{token}")
    assert "Create your facilitator account" in page.get_data(as_text=True)
    response = post(client, f"/setup/{token}", {"name": "Fran", "password": PASSWORD, "confirm": PASSWORD},
                    token_from=f"/setup/{token}")
    assert response.status_code == 302
    user = User.by_name("fran")
    assert user.role == FACILITATOR
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$p2p-argon2id$")
    # The same link again: used.
    again = client.get(f"/setup/{token}")
    assert again.status_code == 404 and "has been used or has expired" in again.get_data(as_text=True)


def test_an_expired_setup_link_does_nothing(client):
    token = OneTimeToken.issue(OneTimeToken.SETUP, 0)
    assert client.get(f"/setup/{token}").status_code == 404


def test_setup_form_keeps_the_name_and_explains_problems(client):
    token = OneTimeToken.issue(OneTimeToken.SETUP, 24)
    page = post(client, f"/setup/{token}", {"name": "Fran", "password": "short", "confirm": "short"},
                token_from=f"/setup/{token}").get_data(as_text=True)
    assert "at least 8 characters" in page
    assert 'value="Fran"' in page
    assert User.select().count() == 0


def test_role_cannot_be_chosen_by_posting_it(client):
    """Forms take an allow-list of fields: a participant cannot make themselves a facilitator."""
    from p2p.models import Group
    facilitator = User.create_account("Fran", PASSWORD, role=FACILITATOR)
    group = Group.create_for(facilitator, 14, name="G", programme="p2p")
    post(client, f"/join/{group.join_code}", {"name": "Mallory", "password": PASSWORD, "confirm": PASSWORD,
                                              "role": "facilitator", "group_id": "999"},
         token_from=f"/join/{group.join_code}")
    assert User.by_name("Mallory").role == "participant"


def test_login_with_a_wrong_password_gives_one_generic_message(client, room):
    wrong_password = post(client, "/login", {"name": "Alice", "password": "nope nope"}, token_from="/login")
    no_such_person = post(client, "/login", {"name": "Nobody", "password": "nope nope"}, token_from="/login")
    for response in (wrong_password, no_such_person):
        assert response.status_code == 200
        assert "That name and password don't match" in text(response)


def test_login_ignores_case_and_spacing_of_the_name(client, room):
    login(client, "  alice ")
    assert "Hello, Alice" in client.get("/").get_data(as_text=True)


def test_guessing_a_name_s_password_slows_down_step_by_step_and_never_locks_its_owner_out(app, client, room):
    from p2p.models import Throttle
    limit, _ = app.config["LOGIN_THROTTLE"]
    for _ in range(limit):
        assert "don't match" in text(post(client, "/login", {"name": "Alice", "password": "wrong password"},
                                          token_from="/login"))
    waits = []
    for _ in range(3):   # each try after the free ones waits twice as long as the one before
        said = text(post(client, "/login", {"name": "Alice", "password": PASSWORD}, token_from="/login"))
        waits.append(int(re.search(r"Please wait (\d+) seconds? and try again", said).group(1)))
        Throttle.update(next_at=0).execute()   # ...that long having passed
        assert "don't match" in text(post(client, "/login", {"name": "Alice", "password": "wrong again"},
                                          token_from="/login"))
    assert waits == [1, 2, 4]
    login(client, "Bob")   # another person in the same room (same address) is not held back
    Throttle.update(next_at=0).execute()
    login(app.test_client(), "Alice")   # and Alice gets in, seconds later, not 15 minutes


def test_however_long_someone_guesses_a_name_s_password_its_owner_gets_in_where_they_signed_in_before(
        app, room, throttles_clock_still):
    """Guessing from three addresses without a pause kept the owner out for as long as it went on. A device the
    name has signed in on keeps a cookie saying so (by a keyed hash), and its attempts are counted apart."""
    from p2p.auth import DEVICE_COOKIE
    # (On a slow machine the guesses took long enough for the last wait to run out before the forged cookie's try,
    # which got in, before the clock stood still: a CI run.)
    phone = app.test_client()
    login(phone, "Alice", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/")})
    assert "Alice" not in phone.get_cookie(DEVICE_COOKIE).value   # whose, only the server can tell
    limit, _ = app.config["LOGIN_THROTTLE"]
    for n in range(3 * limit):
        guesser = app.test_client()
        post(guesser, "/login", {"name": "Alice", "password": f"guess {n}"}, token_from="/login",
             environ_base={"REMOTE_ADDR": f"10.0.1.{n % 3}"})
    assert "Please wait" in text(post(app.test_client(), "/login", {"name": "Alice", "password": PASSWORD},
                                      token_from="/login", environ_base={"REMOTE_ADDR": "10.0.2.1"}))
    forged = app.test_client()   # a cookie of one's own making is no device she signed in on
    forged.set_cookie(DEVICE_COOKIE, phone.get_cookie(DEVICE_COOKIE).value[:-4] + "AAAA")
    assert "Please wait" in text(post(forged, "/login", {"name": "Alice", "password": PASSWORD},
                                      token_from="/login", environ_base={"REMOTE_ADDR": "10.0.2.2"}))
    login(phone, "Alice", environ_base={"REMOTE_ADDR": "10.0.0.9"})   # her own phone: in at once
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/")})
    for _ in range(limit):   # and guessing from her phone is slowed down like any other
        post(phone, "/login", {"name": "Alice", "password": "not it"}, token_from="/login")
    assert "Please wait" in text(post(phone, "/login", {"name": "Alice", "password": "not it"}, token_from="/login"))


def test_a_new_password_makes_the_devices_known_for_the_old_one_strangers(app, room, throttles_clock_still):
    """Someone who once knew the password could sign in again and again, gathering device cookies, to guess at ten
    tries a cookie once it had changed: a cookie holds the account with its password, by a keyed hash."""
    from p2p.models import User
    devices = [app.test_client() for _ in range(3)]
    for device in devices:
        login(device, "Alice")
        device.post("/logout", data={"csrf_token": csrf_token(device, "/")})
    alice = User.get_by_id(room.alice.id)
    alice.set_password("a brand new password", alice.unlock_with_password(PASSWORD))
    limit, _ = app.config["LOGIN_THROTTLE"]
    said = [text(post(device, "/login", {"name": "Alice", "password": f"guess {n}"}, token_from="/login"))
            for n in range(limit) for device in devices]
    assert sum("Please wait" in page for page in said) == len(said) - limit   # one name's tries, as anywhere


def test_attempts_made_at_the_same_moment_cannot_slip_past_the_free_ones(app, room, throttles_clock_still):
    from concurrent.futures import ThreadPoolExecutor
    limit, _ = app.config["LOGIN_THROTTLE"]
    clients = [app.test_client() for _ in range(30)]
    tokens = [csrf_token(c, "/login") for c in clients]
    with ThreadPoolExecutor(10) as pool:
        said = list(pool.map(lambda ct: text(ct[0].post("/login", data={
            "csrf_token": ct[1], "name": "Alice", "password": "a guess"})), zip(clients, tokens)))
    assert sum("don't match" in page for page in said) == limit   # checked: exactly the free ones
    assert sum("Please wait" in page for page in said) == 30 - limit


def test_one_address_trying_made_up_names_is_slowed_down_but_its_neighbours_are_not(app, room):
    limit, _ = app.config["LOGIN_THROTTLE_ADDRESS"]
    guesser, neighbour = app.test_client(), app.test_client()
    for n in range(limit):
        post(guesser, "/login", {"name": f"Made up {n}", "password": "x"}, token_from="/login")
    said = text(post(guesser, "/login", {"name": "Bob", "password": PASSWORD}, token_from="/login"))
    assert "several tries from this device just now. Please wait 1 second" in said
    login(neighbour, "Bob", environ_base={"REMOTE_ADDR": "10.0.0.8"})


@pytest.mark.parametrize("page, field", [("/account/password", "current"), ("/account/delete", "password")])
def test_a_current_password_asked_again_is_throttled_like_a_login(app, room, as_user, page, field, throttles_clock_still):
    alice = as_user(room.alice)
    limit, _ = app.config["LOGIN_THROTTLE"]
    for _ in range(limit + 1):
        said = text(post(alice, page, {field: "not it", "password": "a new long password",
                                       "confirm": "a new long password"}, token_from=page))
    assert "Please wait 1 second" in said


@pytest.mark.parametrize("target, expected", [
    ("/groups/1", "/groups/1"),
    ("/groups/1?x=1", "/groups/1?x=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/\tevil", "/"),
    ("", "/"),
    (None, "/"),
])
def test_next_accepts_same_site_paths_only(target, expected):
    assert safe_next(target) == expected


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(client, room):
    response = post(client, "/login", {"name": "Alice", "password": PASSWORD, "next": "/privacy"}, token_from="/login")
    assert response.headers["Location"] == "/privacy"
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                       client.get("/").get_data(as_text=True)).group(1)})
    response = post(client, "/login", {"name": "Alice", "password": PASSWORD, "next": "https://evil.example"},
                    token_from="/login")
    assert response.headers["Location"] == "/"


def test_a_page_that_needs_login_sends_you_to_login_and_back(client, room):
    response = client.get(f"/groups/{room.group.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/groups/")


def test_htmx_callers_get_hx_redirect_to_login(client, room):
    response = client.post(f"/groups/{room.group.id}/invite/new-code", headers={"HX-Request": "true"},
                           data={"csrf_token": "x"})
    # CSRF is checked first for anonymous posts; a GET fragment shows the redirect behaviour.
    response = client.get(f"/groups/{room.group.id}/invite", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_a_live_page_whose_session_ended_returns_to_that_page_after_login(client, room):
    # The board's poll, its timer, a form sent with htmx: after logging in, back to the page, not to them.
    board = f"/groups/{room.group.id}/board"
    for method, path in (("get", f"{board}/live?v=3"), ("get", f"/groups/{room.group.id}/timer/live?v=1"),
                         ("post", f"{board}/proposals")):
        response = getattr(client, method)(path, headers={"HX-Request": "true",
                                                          "HX-Current-URL": f"http://localhost{board}?x=1"})
        assert parse_qs(urlsplit(response.headers["HX-Redirect"]).query)["next"] == [f"{board}?x=1"]
    answer = client.get(f"{board}/live?v=3", headers={"HX-Request": "true", "HX-Current-URL": "http://evil.example/x"})
    assert answer.headers["HX-Redirect"] == "/login?next=/"   # another site's page is never a way back


def test_logout_ends_the_session_everywhere(app, room, as_user):
    phone, laptop = as_user(room.alice), as_user(room.alice)
    post(phone, "/logout")
    for client in (phone, laptop):
        assert client.get(f"/groups/{room.group.id}").status_code == 302


def test_a_copied_cookie_stops_working_after_logout(app, room, as_user):
    alice = as_user(room.alice)
    cookie = alice.get_cookie("p2p_session").value
    post(alice, "/logout")
    thief = app.test_client()
    thief.set_cookie("p2p_session", cookie)
    assert thief.get(f"/groups/{room.group.id}").status_code == 302


def test_a_poll_sends_the_cookie_back_only_when_the_session_changed(app, room, as_user):
    """A poll (or a stream) answered after this person's own change on the same page, a logout say, must not put
    the cookie from before back: it would take "You have logged out", or a status line, with it."""
    alice = as_user(room.alice)
    poll = f"/groups/{room.group.id}/board/live"
    assert "Set-Cookie" not in alice.get(poll, headers={"HX-Request": "true"}).headers
    before = alice.get_cookie("p2p_session").value
    post(alice, "/logout")
    late = app.test_client()   # a poll that left with the cookie from before the logout, answered after it
    late.set_cookie("p2p_session", before)
    answer = late.get(poll, headers={"HX-Request": "true"})
    assert answer.status_code == 204 and "HX-Redirect" in answer.headers   # its page goes to log in
    assert "Set-Cookie" not in answer.headers
    assert "You have logged out." in text(alice.get("/", follow_redirects=True))
    # Anything else with a stale cookie clears it, as before.
    assert "p2p_session=;" in late.get(f"/groups/{room.group.id}").headers["Set-Cookie"]


def test_changing_password_logs_out_other_devices(app, room, as_user):
    phone, laptop = as_user(room.alice), as_user(room.alice)
    response = post(phone, "/account/password", {"current": PASSWORD, "password": "a new long password",
                                                 "confirm": "a new long password"}, token_from="/account/password")
    assert response.status_code == 302
    assert phone.get(f"/groups/{room.group.id}").status_code == 200
    assert laptop.get(f"/groups/{room.group.id}").status_code == 302
    login(app.test_client(), "Alice", "a new long password")


def test_changing_password_needs_the_current_one(room, as_user):
    alice = as_user(room.alice)
    page = post(alice, "/account/password", {"current": "wrong one!", "password": "a new long password",
                                             "confirm": "a new long password"}, token_from="/account/password")
    assert "not your current password" in page.get_data(as_text=True)
    login(alice.application.test_client(), "Alice")


def test_long_and_unicode_passwords_work(app, client, room):
    long_password = "ünïcødé 🌱 " * 100
    room.alice.set_password(long_password, room.alice.unlock_with_password(PASSWORD))
    login(client, "Alice", long_password)


def test_a_facilitator_reset_code_lets_a_participant_choose_a_new_password(app, room, as_user):
    fran = as_user(room.facilitator)
    alice_phone = as_user(room.alice)
    page = post(fran, f"/groups/{room.group.id}/members/{room.alice.id}/reset-code",
                token_from=f"/groups/{room.group.id}").get_data(as_text=True)
    code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    assert PASSWORD not in page
    client = app.test_client()
    response = post(client, "/reset", {"name": "alice", "code": code.lower(), "password": "brand new password",
                                       "confirm": "brand new password", "fresh": "yes"}, token_from="/reset")
    assert response.headers["Location"] == "/account/recovery-code"
    assert alice_phone.get(f"/groups/{room.group.id}").status_code == 302  # old sessions end
    login(app.test_client(), "Alice", "brand new password")
    # The code works once.
    again = post(app.test_client(), "/reset", {"name": "alice", "code": code, "password": "another password!",
                                               "confirm": "another password!"}, token_from="/reset")
    assert "don't match, or the code has been used" in text(again)


def test_a_reset_derives_the_new_password_s_key_before_its_transaction(app, room, as_user, monkeypatch):
    """Argon2id inside the transaction would hold the database's write turn through it: every other write of the
    server would wait that long (a Pi: about a second)."""
    from p2p import passwords
    from p2p.db import db
    fran, derive, depths = as_user(room.facilitator), passwords.argon2id, []

    def watched(*args, **kwargs):
        depths.append(db.transaction_depth())
        return derive(*args, **kwargs)
    monkeypatch.setattr(passwords, "argon2id", watched)
    for person, fresh in ((room.alice, {"fresh": "yes"}), (room.bob, {})):
        page = text(post(fran, f"/groups/{room.group.id}/members/{person.id}/reset-code",
                         token_from=f"/groups/{room.group.id}"))
        code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
        recovery = {} if fresh else {"recovery": person.recovery_code}
        reset = post(app.test_client(), "/reset", {"name": person.name, "code": code, "password": "brand new password",
                                                   "confirm": "brand new password", **fresh, **recovery},
                     token_from="/reset")
        assert reset.status_code == 302
    assert depths and set(depths) == {0}


def test_a_reset_sent_back_for_a_mistake_keeps_the_code_and_the_choice_but_no_secret(app, room, as_user):
    fran = as_user(room.facilitator)
    page = post(fran, f"/groups/{room.group.id}/members/{room.alice.id}/reset-code",
                token_from=f"/groups/{room.group.id}").get_data(as_text=True)
    code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    client = app.test_client()
    again = post(client, "/reset", {"name": "Alice", "code": code, "password": "brand new password",
                                    "confirm": "not the same one", "fresh": "yes"}, token_from="/reset")
    page = again.get_data(as_text=True)
    assert f'value="{code}"' in page and 'value="yes" checked' in page
    assert '<div class="problem" role="alert">' in page and '<a href="#password">' in page   # said at the top
    assert "brand new password" not in page and "type them again" in text(again)
    assert "bring it back whenever you find your recovery code" in text(again)
    wrong = post(client, "/reset", {"name": "Alice", "code": code, "recovery": "WXYZ-EFGH-JKMN-PQRS",
                                    "password": "brand new password", "confirm": "brand new password"},
                 token_from="/reset").get_data(as_text=True)
    assert f'value="{code}"' in wrong and "WXYZ-EFGH" not in wrong and "type them again" in wrong


def test_a_reset_code_only_works_for_its_person(app, room, as_user):
    fran = as_user(room.facilitator)
    page = post(fran, f"/groups/{room.group.id}/members/{room.alice.id}/reset-code",
                token_from=f"/groups/{room.group.id}").get_data(as_text=True)
    code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    response = post(app.test_client(), "/reset", {"name": "Bob", "code": code, "password": "taken over!!",
                                                  "confirm": "taken over!!"}, token_from="/reset")
    assert "don't match" in text(response)
    login(app.test_client(), "Bob")


def test_facilitators_cannot_reset_other_facilitators(app, room, as_user):
    from p2p.models import Membership
    Membership.join(room.other_facilitator, room.group, role=FACILITATOR)
    fran = as_user(room.facilitator)
    response = post(fran, f"/groups/{room.group.id}/members/{room.other_facilitator.id}/reset-code",
                    token_from=f"/groups/{room.group.id}")
    assert response.status_code == 404


def test_a_facilitator_can_make_a_one_time_facilitator_link(app, room, as_user):
    fran = as_user(room.facilitator)
    page = post(fran, "/facilitators/invite", token_from="/facilitators/invite").get_data(as_text=True)
    link = re.search(r"<code>(http[^<]+/setup/[^<]+)</code>", page).group(1)
    path = link.split("localhost", 1)[1]
    new = app.test_client()
    post(new, path, {"name": "Cleo", "password": PASSWORD, "confirm": PASSWORD}, token_from=path)
    assert User.by_name("Cleo").is_facilitator


def test_participants_cannot_make_facilitator_links(room, as_user):
    alice = as_user(room.alice)
    assert alice.get("/facilitators/invite").status_code == 404
    assert post(alice, "/facilitators/invite").status_code == 404


def test_a_new_reset_code_replaces_the_earlier_one(app, room, as_user):
    fran = as_user(room.facilitator)
    codes = [re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', post(
        fran, f"/groups/{room.group.id}/members/{room.alice.id}/reset-code", token_from=f"/groups/{room.group.id}"
    ).get_data(as_text=True)).group(1) for _ in range(2)]
    first = post(app.test_client(), "/reset", {"name": "Alice", "code": codes[0], "password": "new password!",
                                               "confirm": "new password!"}, token_from="/reset")
    assert "don't match, or the code has been used" in text(first)
    second = post(app.test_client(), "/reset", {"name": "Alice", "code": codes[1], "password": "new password!",
                                                "confirm": "new password!", "fresh": "yes"}, token_from="/reset")
    assert second.status_code == 302


def test_an_open_page_can_ask_whether_its_owner_is_signed_in_again(client, room, as_user):
    """static/js/autosave.js asks after a 401: the answer carries the new session's form token."""
    assert client.get("/session", headers={"Accept": "application/json"}).status_code == 401
    state = as_user(room.alice).get("/session", headers={"Accept": "application/json"}).get_json()
    assert state["user"] == room.alice.id and state["workbook"] is True and len(state["csrf"]) > 20


def test_the_join_form_does_not_let_anyone_list_who_has_an_account(app, room, tmp_path, throttles_clock_still):
    """A join code (shown in the room) opens the sign-up form, and a name must be unique, so the form has to say
    when one is taken: each such answer counts against a budget per address, like logins with made-up names. The
    answer beyond it is a wait that says nothing about the name; a name that is free never counts."""
    path = f"/join/{room.group.join_code}"
    free, _ = app.config["NAME_TAKEN_THROTTLE"]

    def try_name(name, address="10.0.0.5"):
        fields = {"name": name, "password": PASSWORD, "confirm": "not the same"}   # so nothing is ever made
        return text(post(client, path, fields, token_from=path, environ_base={"REMOTE_ADDR": address}))

    client = app.test_client()
    for _ in range(3 * free):   # someone choosing among free names is never held up
        assert "Please wait" not in try_name("A name nobody has")
    for name in ["Alice", "Bob", "Fran", "Oona", "Olly"] * free:
        page = try_name(name)
        if "already uses that name" not in page:
            break
    assert "Quite a few names already in use have been tried from here just now. Please wait" in page
    for name in ["Alice", "A name nobody has"]:   # taken or free: the same wait, nothing about the name
        page = try_name(name)
        assert "Please wait" in page and "already uses that name" not in page
    assert "already uses that name" in try_name("Alice", address="10.0.0.6")   # another device has its own
    log = (tmp_path / "instance" / "logs" / "p2p.log").read_text()
    assert "event=name-taken" in log and "event=name-check-throttled" in log and "Alice" not in log


def test_a_background_request_after_logout_leaves_the_logged_out_message_for_the_next_page(app, room, as_user):
    """A session page brings its progress panel up to date a moment after a save (static/js/autosave.js). Asked
    just as its person logs out, it must not fetch the log-in page in the background: rendering it would take the
    "You have logged out" message meant for the page the logout goes to (a flaky browser test found this)."""
    phone = as_user(room.alice)
    assert 'headers: {"HX-Request": "true"}' in (Path(app.root_path).parent / "static/js/autosave.js").read_text()
    post(phone, "/logout")
    panel = phone.get("/workbook/progress?session=module-1/session-1", headers={"HX-Request": "true"})
    assert panel.status_code == 204 and panel.headers["HX-Redirect"].startswith("/login")
    assert "You have logged out." in text(phone.get("/"))


def test_the_first_requests_after_logging_in_share_one_form_token_secret(app, room):
    """Logging in in one tab while another tab of the same browser asks whether its person is back (/session,
    static/js/autosave.js): both requests reach the server with the new sign-in's cookie at once, and the cookie of
    whichever answers last is the one the browser keeps. The page the first one drew must still send its forms."""
    tab = app.test_client()
    login(tab, room.alice.name)   # (not followed: nothing has been asked with the new cookie yet)
    cookie = tab.get_cookie("p2p_session").value
    other_tab = app.test_client()
    other_tab.set_cookie("p2p_session", cookie)
    form_token = csrf_token(tab, "/")   # the page this tab draws with the new cookie
    assert other_tab.get("/session", headers={"Accept": "application/json"}).status_code == 200
    tab.set_cookie("p2p_session", other_tab.get_cookie("p2p_session").value)   # its answer came last
    logged_out = tab.post("/logout", data={"csrf_token": form_token})
    assert logged_out.status_code == 302 and "You have logged out." in text(tab.get("/"))
