"""A reset code never hands a person over (issue 10): a facilitator who issues a reset code for someone and spends
it themselves ("start a fresh workbook") gets nothing of the groups other facilitators run, until the person or
those groups' facilitators confirm it is them; and the person is told, at their next sign-in on any device."""

import re

import pytest
from conftest import PASSWORD, login, post, text
from test_workbook_keys import reset_code_for

from p2p.models import HeldMembership, Membership, PasswordReset, User

NEW = "a password the taker chose"


@pytest.fixture
def alice_in_both(room):
    """Alice is in Fran's group and in Oona's."""
    Membership.join(room.alice, room.other_group)
    return room


def said(response) -> str:
    """The page's words as a person reads them: entities decoded, and lines run together as a browser shows them."""
    return " ".join(text(response).split())


def spend(app, code, name="Alice", password=NEW, recovery=None):
    """Use a reset code from a browser of one's own: with the recovery code, or starting a fresh workbook."""
    client = app.test_client()
    fields = {"name": name, "code": code, "password": password, "confirm": password}
    fields.update({"recovery": recovery} if recovery else {"fresh": "yes"})
    response = post(client, "/reset", fields, token_from="/reset")
    assert response.status_code == 302, text(response)
    return client


def recovery_code_on(client) -> str:
    page = text(client.get("/account/recovery-code"))
    return re.search(r'class="recovery-code"[^>]*>([A-Z0-9-]+)<', page).group(1)


def other_groups_pages(room) -> list[str]:
    g = room.other_group.id
    return [f"/groups/{g}", f"/groups/{g}/board", f"/groups/{g}/board/live", f"/groups/{g}/code",
            f"/groups/{g}/modules/module-1", f"/groups/{g}/modules/module-1/sessions/session-1",
            f"/groups/{g}/timer/live"]


def test_the_facilitator_reads_what_a_reset_does_before_making_the_code(app, alice_in_both, as_user):
    page = said(as_user(alice_in_both.facilitator).get(
        f"/groups/{alice_in_both.group.id}/members/{alice_in_both.alice.id}/reset-code"))
    assert "Alice will be told about the reset when they next sign in" in page
    assert "groups that other facilitators run stay closed to them until" in page


def test_a_reset_code_opens_nothing_of_the_groups_other_facilitators_run(app, alice_in_both, as_user):
    room = alice_in_both
    before = as_user(room.alice)
    assert before.get(f"/groups/{room.other_group.id}").status_code == 200
    taker = spend(app, reset_code_for(as_user, room, room.alice))   # Fran's code, spent by whoever has it

    home = said(taker.get("/"))
    assert "Tuesday group" in home and "Other group" not in home
    for path in other_groups_pages(room):
        for headers in ({}, {"HX-Request": "true"}):
            assert taker.get(path, headers=headers).status_code == 404, path
    # Nothing says which groups are closed, or that there are any.
    assert "Other group" not in said(taker.get("/workbook")) and "Oona" not in home
    # The group's join code (shown in the room, so not secret) does not open it either.
    join = f"/join/{room.other_group.join_code}"
    assert "closed to this account for now" in said(taker.get(join))
    assert "closed to this account for now" in said(post(taker, join, token_from=join))
    assert Membership.of(User.get_by_id(room.alice.id), room.other_group) is None
    # The person's own device is signed out.
    assert before.get("/").status_code == 200 and "Log in" in said(before.get("/"))
    assert before.get(f"/groups/{room.group.id}").status_code == 302


def test_the_person_is_told_at_their_next_sign_in_on_any_device(app, alice_in_both, as_user):
    room = alice_in_both
    taker = spend(app, reset_code_for(as_user, room, room.alice))
    # The session the reset made does not show the note: whoever used the code knows.
    assert "Your password was reset" not in said(taker.get("/"))

    device = app.test_client()
    login(device, "Alice", NEW)
    home = said(device.get("/"))
    assert "Your password was reset on" in home and "with a reset code from Fran" in home
    assert "A fresh, empty workbook was started." in home
    assert "If it wasn’t, please talk to" in home
    assert "Groups that Fran doesn’t run stay closed to this account" in home
    assert "Your password was reset on" in said(device.get(f"/groups/{room.group.id}"))   # on every page
    # Put away, it is gone: from this device and the next.
    put_away = post(device, "/account/reset-note", {"upto": PasswordReset.get().id, "back": "/workbook"})
    assert put_away.headers["Location"] == "/workbook"
    assert "Your password was reset" not in said(device.get("/"))
    again = app.test_client()
    login(again, "Alice", NEW)
    assert "Your password was reset" not in said(again.get("/"))


def test_the_person_who_did_not_ask_is_told_when_they_try_their_old_password(app, alice_in_both, as_user):
    """The taker can put the note away; the person, whose password no longer works, finds out at the login page."""
    room = alice_in_both
    taker = spend(app, reset_code_for(as_user, room, room.alice))
    post(taker, "/account/reset-note", {"upto": PasswordReset.get().id})
    page = said(post(app.test_client(), "/login", {"name": "Alice", "password": PASSWORD}, token_from="/login"))
    assert "That was your password until" in page and "with a reset code from Fran" in page
    assert "If you didn't, please talk to a facilitator you trust" in page
    # Anyone else, with any other password, reads the usual words only.
    page = said(post(app.test_client(), "/login", {"name": "Alice", "password": "a guess at it"}, token_from="/login"))
    assert "That name and password don't match" in page and "That was your password" not in page and "Fran" not in page


def test_a_facilitator_of_the_group_confirms_and_it_opens(app, alice_in_both, as_user):
    room = alice_in_both
    taker = spend(app, reset_code_for(as_user, room, room.alice))
    group = f"/groups/{room.other_group.id}"
    oona = as_user(room.other_facilitator)
    page = said(oona.get(group))
    assert "Alice’s password was reset on" in page
    assert "with a reset code from Fran, who doesn’t run this group" in page
    assert "Confirm it is Alice" in page
    # Fran, who gave the code, cannot confirm it in Oona's group: it is not hers.
    fran = as_user(room.facilitator)
    confirm = f"{group}/members/{room.alice.id}/confirm"
    assert post(fran, confirm).status_code == 404
    assert taker.get(group).status_code == 404

    done = post(oona, confirm, token_from=group)
    assert done.status_code == 302
    assert "Thank you. Alice can use Other group again." in said(oona.get(done.headers["Location"]))
    assert "Confirm it is Alice" not in said(oona.get(group))
    assert taker.get(group).status_code == 200 and "Other group" in said(taker.get("/"))


def test_the_person_confirms_with_the_recovery_code_they_had_before(app, alice_in_both, as_user):
    room = alice_in_both
    group = f"/groups/{room.other_group.id}"
    taker = spend(app, reset_code_for(as_user, room, room.alice))
    # The recovery code given with the fresh workbook is the taker's own: a second reset, and that code proves
    # nothing about the time before.
    takers_code = recovery_code_on(taker)
    again = spend(app, reset_code_for(as_user, room, room.alice))
    post(again, "/workbook/earlier", {"code": takers_code}, token_from="/workbook/earlier")
    assert again.get(group).status_code == 404

    response = post(again, "/workbook/earlier", {"code": room.alice.recovery_code}, token_from="/workbook/earlier")
    assert "Your groups are open to you again." in said(again.get(response.headers["Location"]))
    assert again.get(group).status_code == 200
    assert not HeldMembership.select().exists()


def test_a_reset_with_the_recovery_code_holds_nothing(app, alice_in_both, as_user):
    room = alice_in_both
    client = spend(app, reset_code_for(as_user, room, room.alice), recovery=room.alice.recovery_code)
    assert client.get(f"/groups/{room.other_group.id}").status_code == 200
    assert not HeldMembership.select().exists()
    device = app.test_client()
    login(device, "Alice", NEW)
    assert "You kept your workbook with your recovery code." in said(device.get("/"))


def test_a_reset_by_the_groups_own_facilitator_opens_it(app, alice_in_both, as_user):
    """Fran's code holds Oona's group; a later code from Oona (to the person she takes for Alice) opens it, and
    holds Fran's group instead."""
    room = alice_in_both
    spend(app, reset_code_for(as_user, room, room.alice))
    page = said(post(as_user(room.other_facilitator), f"/groups/{room.other_group.id}/members/{room.alice.id}/"
                     "reset-code", token_from=f"/groups/{room.other_group.id}"))
    code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    client = spend(app, code, password="Alice's own new password")
    assert client.get(f"/groups/{room.other_group.id}").status_code == 200
    assert client.get(f"/groups/{room.group.id}").status_code == 404
    # The note of the first reset comes back with the second: whoever put it away may not have been Alice.
    device = app.test_client()
    login(device, "Alice", "Alice's own new password")
    home = said(device.get("/"))
    assert "with a reset code from Fran" in home and "with a reset code from Oona" in home


def test_resets_are_logged_with_ids_only(app, alice_in_both, as_user, tmp_path):
    room = alice_in_both
    spend(app, reset_code_for(as_user, room, room.alice))
    post(as_user(room.other_facilitator), f"/groups/{room.other_group.id}/members/{room.alice.id}/confirm",
         token_from=f"/groups/{room.other_group.id}")
    lines = (tmp_path / "instance" / "logs" / "p2p.log").read_text()
    reset = PasswordReset.get()
    assert (f"event=password-reset user={room.alice.id} kept-workbook=False reset={reset.id} "
            f"by={room.facilitator.id}") in lines
    assert f"event=reset-confirmed group={room.other_group.id} user={room.alice.id} by={room.other_facilitator.id}" \
        in lines
    assert "Alice" not in lines and "Oona" not in lines


def test_a_code_whose_facilitator_has_left_holds_every_group(app, alice_in_both, as_user):
    """The account that gave the code was deleted before it was used: no group can be said to be theirs."""
    from p2p.models import OneTimeToken
    room = alice_in_both
    code = reset_code_for(as_user, room, room.alice)
    OneTimeToken.update(created_by=None).execute()   # as ON DELETE SET NULL leaves it
    taker = spend(app, code)
    assert taker.get(f"/groups/{room.group.id}").status_code == 404
    assert taker.get(f"/groups/{room.other_group.id}").status_code == 404
    device = app.test_client()
    login(device, "Alice", NEW)
    home = said(device.get("/"))
    assert "with a reset code from a facilitator who has since left" in home
    assert "Your groups stay closed to this account until it is confirmed that it is you" in home
    page = said(as_user(room.facilitator).get(f"/groups/{room.group.id}"))
    assert "with a reset code from a facilitator who has since left. Until you confirm that it is Alice" in page


def test_after_a_fresh_workbook_the_person_responds_again_only_from_the_next_round(app, room, as_user):
    """Their responses from before the reset are under pseudonyms nobody can make any more, and still count: a
    second response to the same behaviour would count them twice (and a named objection would clash with the
    first). So this round the board says so instead of offering the choices; the next round they respond."""
    from test_board import board_url, propose, respond, settings

    from p2p.models import BoardResponse, Proposal
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Listen well")
    settings(fran, room, "phase:respond")
    respond(alice, room, Proposal.get(), "object")
    taker = spend(app, reset_code_for(as_user, room, room.alice))
    page = said(taker.get(board_url(room)))
    assert "You can respond again from the next round" in page and 'name="kind"' not in page
    answer = post(taker, board_url(room, f"/proposals/{Proposal.get().id}/respond"), {"kind": "agree"},
                  token_from=board_url(room))
    assert answer.status_code == 302 and "You can respond again from the next round" in said(taker.get(answer.location))
    assert [(r.kind, r.user_id) for r in BoardResponse.select()] == [("object", room.alice.id)]   # once, as it was
    assert 'name="kind"' in said(as_user(room.bob).get(board_url(room)))   # everyone else responds
    settings(fran, room, "phase:agree")
    from test_board import shape
    shape(fran, room, Proposal.get(), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    post(fran, board_url(room, "/round"), token_from=board_url(room))
    page = said(taker.get(board_url(room)))
    assert "You can respond again" not in page and 'name="kind"' in page
    respond(taker, room, Proposal.get(), "agree")
    # Each round kept: the first round's objection, counted once, and this round's own response.
    assert [(r.round, r.kind) for r in BoardResponse.select().order_by(BoardResponse.round)] == [(1, "object"),
                                                                                              (2, "agree")]


def test_a_fresh_workbook_before_anyone_responded_keeps_nobody_from_responding(app, room, as_user):
    from test_board import board_url, propose, respond, settings

    from p2p.models import BoardResponse, Proposal
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Listen well")
    taker = spend(app, reset_code_for(as_user, room, room.alice))   # while the group still proposes
    settings(fran, room, "phase:respond")
    page = said(taker.get(board_url(room)))
    assert "You can respond again" not in page and 'name="kind"' in page
    respond(taker, room, Proposal.get(), "agree")
    assert [r.kind for r in BoardResponse.select()] == ["agree"]
