"""Groups: creating, inviting by link / QR / short code, joining, codes expiring and rotating, members."""

from datetime import timedelta

from conftest import PASSWORD, login, post, text

from p2p.models import FACILITATOR, Group, Membership, Throttle, User, format_join_code, utcnow


def test_a_facilitator_creates_a_group_and_is_its_facilitator(room, as_user):
    fran = as_user(room.facilitator)
    response = post(fran, "/groups/new", {"name": "Thursday  evenings", "programme": "p2p",
                                          "starts_on": "2026-12-01", "ends_on": "2027-02-01"}, token_from="/groups/new")
    group = Group.get(Group.name == "Thursday evenings")
    assert response.headers["Location"] == f"/groups/{group.id}/invite"
    assert Membership.of(room.facilitator, group).role == FACILITATOR
    assert group.join_code_active and len(group.join_code) == 6
    assert str(group.starts_on) == "2026-12-01"


def test_the_group_form_explains_problems_and_keeps_what_was_typed(room, as_user):
    fran = as_user(room.facilitator)
    page = text(post(fran, "/groups/new", {"name": "", "programme": "nope", "starts_on": "2027-02-01",
                                           "ends_on": "2027-01-01"}, token_from="/groups/new"))
    assert "Please give the group a name" in page
    assert "Please choose the programme" in page
    assert "The end date is before the start date" in page
    page = text(post(fran, "/groups/new", {"name": "x" * 81, "programme": "p2p", "starts_on": "31/02/2027"},
                     token_from="/groups/new"))
    assert "80 characters or fewer" in page and "day, month and year" in page
    assert Group.select().count() == 2


def test_participants_cannot_create_groups(room, as_user):
    assert as_user(room.alice).get("/groups/new").status_code == 404


def test_a_facilitator_edits_the_group(room, as_user):
    fran = as_user(room.facilitator)
    post(fran, f"/groups/{room.group.id}/edit", {"name": "Renamed", "programme": "peer-support-training"},
         token_from=f"/groups/{room.group.id}/edit")
    group = Group.get_by_id(room.group.id)
    assert (group.name, group.programme) == ("Renamed", "peer-support-training")


def test_the_invite_page_shows_code_link_and_qr(room, as_user):
    fran = as_user(room.facilitator)
    page = text(fran.get(f"/groups/{room.group.id}/invite"))
    code = room.group.join_code
    assert format_join_code(code) in page
    assert f"/join/{code}" in page
    qr = fran.get(f"/groups/{room.group.id}/invite/qr.svg?v={code}")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data and b"<title>Join Tuesday group</title>" in qr.data
    # Its address names its code (the projector's): kept for the day on the facilitator's device; any other not.
    assert qr.headers["Cache-Control"] == "private, max-age=86400"
    assert fran.get(f"/groups/{room.group.id}/invite/qr.svg?v=OLDCODE").headers["Cache-Control"] == "no-store"


def test_joining_by_link_creates_an_account_in_the_group(app, room):
    client = app.test_client()
    path = f"/join/{room.group.join_code}"
    assert "Join Tuesday group" in text(client.get(path))
    response = post(client, path, {"name": "Dana", "password": PASSWORD}, token_from=path)
    # Straight to the group (its board, once it has one: tests/test_joining.py); the recovery card waits until
    # the workbook is first opened.
    assert response.headers["Location"] == f"/groups/{room.group.id}"
    dana = User.by_name("Dana")
    assert Membership.of(dana, room.group).role == "participant"
    assert "Welcome to Tuesday group, Dana" in text(client.get(response.headers["Location"]))


def test_typing_the_code_works_with_lower_case_spaces_and_dash(app, room):
    client = app.test_client()
    code = room.group.join_code
    typed = f" {code[:3].lower()} - {code[3:].lower()} "
    response = post(client, "/join", {"code": typed}, token_from="/join")
    assert response.headers["Location"] == f"/join/{code}"


def test_a_wrong_code_gets_a_calm_message(app, room):
    client = app.test_client()
    page = text(post(client, "/join", {"code": "ZZZ-ZZZ"}, token_from="/join"))
    assert "That code isn't working" in page
    assert client.get("/join/ZZZZZZ").status_code == 404


def test_an_expired_code_stops_working(app, room):
    Group.update(join_code_expires_at=utcnow() - timedelta(seconds=1)).where(Group.id == room.group.id).execute()
    client = app.test_client()
    assert client.get(f"/join/{room.group.join_code}").status_code == 404


def test_a_new_code_replaces_the_old_one_at_once(app, room, as_user):
    fran = as_user(room.facilitator)
    old = room.group.join_code
    fragment = post(fran, f"/groups/{room.group.id}/invite/new-code", headers={"HX-Request": "true"},
                    token_from=f"/groups/{room.group.id}/invite")
    new = Group.get_by_id(room.group.id).join_code
    assert new != old
    body = text(fragment)
    assert body.lstrip().startswith('<section id="invite"') and "<html" not in body  # just the component
    assert format_join_code(new) in body
    assert app.test_client().get(f"/join/{old}").status_code == 404
    assert app.test_client().get(f"/join/{new}").status_code == 200


def test_closing_joining_removes_the_code(app, room, as_user):
    fran = as_user(room.facilitator)
    code = room.group.join_code
    post(fran, f"/groups/{room.group.id}/invite/close", token_from=f"/groups/{room.group.id}/invite")
    assert app.test_client().get(f"/join/{code}").status_code == 404
    assert "Joining is closed" in text(fran.get(f"/groups/{room.group.id}/invite"))
    assert fran.get(f"/groups/{room.group.id}/invite/qr.svg").status_code == 404


def test_guessing_codes_from_one_address_slows_it_down_for_seconds_not_minutes(app, room, throttles_clock_still):
    limit, _ = app.config["JOIN_THROTTLE"]
    client, right = app.test_client(), f"/join/{room.group.join_code}"
    for _ in range(limit):
        assert client.get("/join/ZZZZZZ").status_code == 404
    # This address now waits a moment between tries, even with the right code...
    waiting = client.get(right)
    assert waiting.status_code == 429 and "Please wait 1 second and try again" in text(waiting)
    Throttle.update(next_at=0).execute()   # ...once its wait is over, it is in
    assert client.get(right).status_code == 200
    # ...and another address in the building never waited.
    other = app.test_client()
    assert other.get(right, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_a_right_code_is_not_counted_so_a_room_on_one_address_all_get_in(app, room):
    limit, _ = app.config["JOIN_THROTTLE"]
    room_phones = app.test_client()
    for _ in range(limit * 2):
        assert room_phones.get(f"/join/{room.group.join_code}").status_code == 200


def test_many_addresses_guessing_at_once_never_hold_back_a_newcomer(app, room):
    limit, window = app.config["JOIN_THROTTLE_GLOBAL"]
    for _ in range(limit):   # 200 wrong codes from 10 addresses, as seen
        Throttle.fail("join:all", window)
    newcomer = app.test_client()
    assert newcomer.get(f"/join/{room.group.join_code}", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200
    guesser = app.test_client()   # while an address that guesses gets 3 tries at once, not 20
    codes = [guesser.get("/join/ZZZZZZ", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_a_taken_name_is_explained_and_nothing_is_created(app, room):
    client = app.test_client()
    path = f"/join/{room.group.join_code}"
    page = text(post(client, path, {"name": "ALICE", "password": PASSWORD, "confirm": PASSWORD}, token_from=path))
    assert "already uses that name" in page
    assert User.select().where(User.name_key == "alice").count() == 1


def test_someone_with_an_account_joins_a_second_group(app, room, as_user):
    alice = as_user(room.alice)
    path = f"/join/{room.other_group.join_code}"
    assert "Join Other group?" in text(alice.get(path))
    post(alice, path, token_from=path)
    post(alice, path, token_from="/")  # a double submit joins once
    assert Membership.select().where(Membership.user == room.alice).count() == 2
    home = text(alice.get("/"))
    assert "Tuesday group" in home and "Other group" in home


def test_log_in_from_the_join_page_comes_back_to_it(app, room):
    client = app.test_client()
    path = f"/join/{room.other_group.join_code}"
    response = post(client, "/login", {"name": "Alice", "password": PASSWORD, "next": path}, token_from="/login")
    assert response.headers["Location"] == path


def test_the_facilitator_sees_members_and_participants_do_not(room, as_user):
    page = text(as_user(room.facilitator).get(f"/groups/{room.group.id}"))
    assert "People in this group (3)" in page and "Remove Alice" in page and "Give Alice a reset code" in page
    page = text(as_user(room.alice).get(f"/groups/{room.group.id}"))
    assert "People in this group" not in page and "Remove" not in page


def test_a_removed_participant_loses_access_at_once(app, room, as_user):
    fran, bob = as_user(room.facilitator), as_user(room.bob)
    path = f"/groups/{room.group.id}/members/{room.bob.id}/remove"
    assert "Remove Bob from Tuesday group?" in text(fran.get(path))
    post(fran, path, token_from=path)
    assert Membership.of(room.bob, room.group) is None
    assert bob.get(f"/groups/{room.group.id}").status_code == 302  # their session has ended
    login(bob, "Bob")
    assert bob.get(f"/groups/{room.group.id}").status_code == 404


def test_nobody_removes_themselves_or_the_last_facilitator(room, as_user):
    fran = as_user(room.facilitator)
    assert fran.get(f"/groups/{room.group.id}/members/{room.facilitator.id}/remove").status_code == 404


def test_a_facilitator_adds_a_co_facilitator(room, as_user):
    fran = as_user(room.facilitator)
    page = text(fran.get(f"/groups/{room.group.id}"))
    assert '<option value="%d">Oona</option>' % room.other_facilitator.id in page
    post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": room.other_facilitator.id},
         token_from=f"/groups/{room.group.id}")
    assert Membership.of(room.other_facilitator, room.group).role == FACILITATOR
    # Oona manages the group with Fran, who made it: Fran may remove her, she may not remove Fran (the lead).
    oona = as_user(room.other_facilitator)
    assert oona.get(f"/groups/{room.group.id}/invite").status_code == 200
    assert fran.get(f"/groups/{room.group.id}/members/{room.other_facilitator.id}/remove").status_code == 200
    lead = f"/groups/{room.group.id}/members/{room.facilitator.id}/remove"
    assert oona.get(lead).status_code == 404
    assert post(oona, lead, token_from=f"/groups/{room.group.id}").status_code == 404
    assert Membership.of(room.facilitator, room.group).role == FACILITATOR
    assert oona.get(f"/groups/{room.group.id}/members/{room.alice.id}/remove").status_code == 200


def test_a_facilitator_account_that_joined_as_a_participant_can_be_made_co_facilitator(room, as_user):
    fran = as_user(room.facilitator)
    Membership.join(room.other_facilitator, room.group)   # Oona joined with the code, as a participant
    page = text(fran.get(f"/groups/{room.group.id}"))
    assert '<option value="%d">Oona</option>' % room.other_facilitator.id in page
    assert '<option value="%d">Fran</option>' % room.facilitator.id not in page
    post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": room.other_facilitator.id},
         token_from=f"/groups/{room.group.id}")
    assert Membership.of(room.other_facilitator, room.group).role == FACILITATOR


def test_only_facilitator_accounts_can_be_made_co_facilitators(room, as_user):
    fran = as_user(room.facilitator)
    post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": room.outsider.id},
         token_from=f"/groups/{room.group.id}")
    assert Membership.of(room.outsider, room.group) is None


def test_the_join_link_uses_the_lan_address_only_when_serving_the_lan(app, room, as_user, monkeypatch):
    monkeypatch.setattr("p2p.web.lan_addresses", lambda: ("192.168.1.20",))
    fran = as_user(room.facilitator)
    assert f"http://192.168.1.20/join/{room.group.join_code}" in text(fran.get(f"/groups/{room.group.id}/invite"))
    app.config["HOST"] = "127.0.0.1"
    assert f"http://localhost/join/{room.group.join_code}" in text(fran.get(f"/groups/{room.group.id}/invite"))
