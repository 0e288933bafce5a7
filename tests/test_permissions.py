"""The authorisation matrix: every URL rule × every kind of person, with and without htmx.

A rule missing from ACCESS fails the suite, so a new route cannot ship without deciding who may use it.
Outside their rights, signed-in people get 404 (the thing does not exist for them), never 403; anonymous
people are sent to log in (htmx callers by HX-Redirect).
"""

import pytest
from conftest import PASSWORD, csrf_token, login

from p2p import permissions
from p2p.models import FACILITATOR, PARTICIPANT, Group, Membership, PasswordReset, User

PUBLIC = "anyone"
SIGNED_IN = "anyone signed in"
FACILITATORS = "facilitator accounts"
MEMBERS = "members of the group"
GROUP_FACILITATORS = "facilitators of the group"
PROGRAMME_MEMBERS = "anyone in a group that follows the programme"

ACCESS = {
    "static": PUBLIC,
    "pages.home": PUBLIC,
    "pages.privacy": PUBLIC,
    "pages.health": PUBLIC,
    "pages.support": PUBLIC,
    "auth.login": PUBLIC,
    "auth.reset": PUBLIC,
    "auth.setup": PUBLIC,
    "groups.join": PUBLIC,
    "groups.join_with_code": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.account": SIGNED_IN,
    "auth.session_state": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.recovery_code": SIGNED_IN,
    "auth.new_recovery_code": SIGNED_IN,
    "auth.put_reset_note_away": SIGNED_IN,
    "auth.invite_facilitator": FACILITATORS,
    "groups.create": FACILITATORS,
    "groups.show": MEMBERS,
    "programme.module": MEMBERS,
    "programme.session": MEMBERS,
    # A content text's session link: it opens the session in one of the person's groups following the programme.
    "programme.open_session": PROGRAMME_MEMBERS,
    "groups.edit": GROUP_FACILITATORS,
    "groups.invite": GROUP_FACILITATORS,
    "groups.invite_qr": GROUP_FACILITATORS,
    "groups.new_code": GROUP_FACILITATORS,
    "groups.close_code": GROUP_FACILITATORS,
    "groups.remove_member": GROUP_FACILITATORS,
    "groups.reset_code": GROUP_FACILITATORS,
    "groups.confirm_member": GROUP_FACILITATORS,
    "groups.add_facilitator": GROUP_FACILITATORS,
    # The workbook: every route works on the signed-in person's own answers only; none takes another's id.
    "workbook.save": SIGNED_IN,
    "workbook.revisions": SIGNED_IN,
    "workbook.picks_diagram": PROGRAMME_MEMBERS,
    "workbook.progress_now": PROGRAMME_MEMBERS,
    "workbook.done_for_now": PROGRAMME_MEMBERS,
    "workbook.ladder_snapshot": SIGNED_IN,
    "workbook.delete_snapshot": SIGNED_IN,   # one of their own snapshots only (tests/test_ladder.py)
    "workbook.overview": SIGNED_IN,
    "workbook.print_view": SIGNED_IN,
    "workbook.story": PROGRAMME_MEMBERS,
    "workbook.download": SIGNED_IN,
    "workbook.delete": SIGNED_IN,
    "workbook.earlier": SIGNED_IN,
    "auth.delete_account": SIGNED_IN,
    "workbook.share": SIGNED_IN,
    # The code of behaviour board: the group's members take part; its facilitators steer and project.
    "board.page": MEMBERS,
    "board.live": MEMBERS,
    # What each feed may show is checked as its poll checks it (tests/test_stream.py). Anyone else is told
    # nothing (204): a browser takes that quietly, and the page's pollers are answered as below.
    "stream.stream": MEMBERS,
    "board.propose": MEMBERS,
    "board.respond": MEMBERS,
    "board.projector": GROUP_FACILITATORS,
    "board.settings": GROUP_FACILITATORS,
    "board.shape": GROUP_FACILITATORS,
    "board.merge": GROUP_FACILITATORS,
    "board.merge_choices": GROUP_FACILITATORS,
    "board.agree_all": GROUP_FACILITATORS,
    "board.make_version": GROUP_FACILITATORS,
    "board.confirm_round": GROUP_FACILITATORS,
    "board.new_round": GROUP_FACILITATORS,
    "board.bring_back": GROUP_FACILITATORS,
    "board.commit": MEMBERS,
    "board.code": MEMBERS,
    "board.code_markdown": MEMBERS,
    "workbook.to_discuss": SIGNED_IN,
    # Between sessions: the group's facilitators record, for a participant of the group (user_id is Alice).
    "follow_up.edit": GROUP_FACILITATORS,
    # Running a session: members see where the group is, the timer and the discussion boards, and add thoughts
    # (and take back their own); only the group's facilitators choose the session, run the timer, hide thoughts.
    "sessions.run": GROUP_FACILITATORS,
    "sessions.choose": GROUP_FACILITATORS,
    "sessions.timer": GROUP_FACILITATORS,
    "sessions.timer_live": MEMBERS,
    "sessions.discussion": MEMBERS,
    "sessions.discussion_live": MEMBERS,
    "sessions.add_thought": MEMBERS,
    "sessions.take_back": MEMBERS,
    "sessions.shape_thought": GROUP_FACILITATORS,
    # Discussion boards of their own in any session: only the group's facilitators open and close them.
    "sessions.open_board": GROUP_FACILITATORS,
    "sessions.board_state": GROUP_FACILITATORS,
    # The room's screen: a discussion board and the timer, put there by a facilitator of the group.
    "sessions.timer_projector": GROUP_FACILITATORS,
    "sessions.discussion_projector": GROUP_FACILITATORS,
    "sessions.discussion_projector_live": GROUP_FACILITATORS,
}

# Who each kind of person is, and which of the rights above they hold in "the group".
PERSONAS = {  # both groups of the room follow the same programme
    "anonymous": set(),
    "member participant": {SIGNED_IN, MEMBERS, PROGRAMME_MEMBERS},
    "other-group participant": {SIGNED_IN, PROGRAMME_MEMBERS},
    "own facilitator": {SIGNED_IN, FACILITATORS, MEMBERS, GROUP_FACILITATORS, PROGRAMME_MEMBERS},
    "other facilitator": {SIGNED_IN, FACILITATORS, PROGRAMME_MEMBERS},
    "removed member": {SIGNED_IN},
    # In the group, but on hold since a reset with the code of a facilitator who does not run it: the group
    # answers as if they were not in it.
    "member on hold after a reset": {SIGNED_IN},
}


def test_every_url_rule_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ACCESS), (
        f"decide who may use: {sorted(endpoints - set(ACCESS))}; stale: {sorted(set(ACCESS) - endpoints)}")


@pytest.fixture
def people(app, room):
    removed = User.create_account("Rae", PASSWORD)
    Membership.join(removed, room.group)
    Membership.delete().where(Membership.user == removed).execute()
    removed.end_sign_ins()
    held = User.create_account("Hana", PASSWORD)
    Membership.join(held, room.group)
    PasswordReset.record(held, room.other_facilitator, kept_workbook=False)
    users = {"member participant": room.bob, "other-group participant": room.outsider,
             "own facilitator": room.facilitator, "other facilitator": room.other_facilitator,
             "removed member": removed, "member on hold after a reset": held}
    clients = {"anonymous": app.test_client()}
    for persona, user in users.items():
        clients[persona] = app.test_client()
        login(clients[persona], user.name)
    return clients


def url_for_rule(app, rule, room):
    values = {"group_id": room.group.id, "programme_id": "p2p", "module_id": "module-1", "session_id": "session-1",
              "user_id": room.alice.id, "token": "not-a-real-token", "code": "ZZZZZZ", "filename": "css/app.css",
              "kind": "md", "proposal_id": 999, "snapshot_id": 999, "thought_id": 999, "block_id": "boundaries",
              "scenario_id": "scenario-1"}
    if rule.endpoint in DISCUSSIONS:
        values.update(module_id="course", session_id="positive-risk-taking-and-boundaries")
    query = {"workbook.picks_diagram": {"place": "p2p/module-1/session-4/strengths/choices"},
             "workbook.story": {"place": "p2p/preparing/personal-recovery-story/recovery-story"},
             "workbook.progress_now": {"session": "p2p/module-1/session-1"}}.get(rule.endpoint, {})
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments}, **query)


# Discussion boards belong to scenarios, and the four boundaries scenarios are in the Peer Support Training course:
# their rules are tried with both groups of the room following that programme.
DISCUSSIONS = {"sessions.discussion", "sessions.discussion_live", "sessions.add_thought", "sessions.discussion_projector",
               "sessions.discussion_projector_live"}


# On SQLite only: who may use a route is decided in Python (permissions.py) from the same rows on either database,
# and every route's own tests run on PostgreSQL too. The matrix on both cost ~30 s of the 10-minute budget.
@pytest.mark.sqlite_only
@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_access(app, room, people, endpoint):
    needed = ACCESS[endpoint]
    if endpoint in DISCUSSIONS:
        Group.update(programme="peer-support-training").where(
            Group.id.in_([room.group.id, room.other_group.id])).execute()
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]:
        url = url_for_rule(app, rule, room)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for persona, client in people.items():
            allowed = needed == PUBLIC or needed in PERSONAS[persona]
            for method in methods:
                if allowed and method == "POST":
                    continue  # what an allowed POST does is tested feature by feature
                for htmx in (False, True):
                    headers = {"HX-Request": "true"} if htmx else {}
                    data = {"csrf_token": csrf_token(client, "/login" if persona == "anonymous" else "/")}
                    response = client.open(url, method=method, headers=headers,
                                           data=data if method == "POST" else None)
                    where = f"{method} {url} as {persona}{' (htmx)' if htmx else ''}"
                    assert response.status_code < 500, where
                    if allowed:
                        # (Snapshot 999 is nobody's: a person's own snapshots only, tests/test_ladder.py.)
                        assert response.status_code != 404 or endpoint in (
                            "auth.setup", "groups.join_with_code", "workbook.delete_snapshot"), where
                        assert "/login?next" not in response.headers.get("Location", ""), where
                    elif endpoint == "stream.stream":
                        assert response.status_code == 204 and not response.headers.get("HX-Redirect"), where
                    elif persona == "anonymous":
                        if htmx:
                            assert response.status_code == 204, where
                            assert response.headers["HX-Redirect"].startswith("/login?next="), where
                        else:
                            assert response.status_code == 302, where
                            assert response.headers["Location"].startswith("/login?next="), where
                    else:
                        assert response.status_code == 404, where


# The pure functions, as a table.

class M:
    """A membership-shaped stand-in: the permission functions only read these fields."""

    def __init__(self, user_id, group_id, role, is_facilitator_account=False):
        self.user_id, self.group_id, self.role = user_id, group_id, role
        self.user = type("U", (), {"is_facilitator": is_facilitator_account})()


@pytest.mark.parametrize("actor, target, lead, expected", [
    (M(1, 1, FACILITATOR), M(2, 1, PARTICIPANT), 1, True),
    (M(3, 1, FACILITATOR), M(2, 1, PARTICIPANT), 1, True),      # a co-facilitator removes participants
    (M(1, 1, FACILITATOR), M(1, 1, FACILITATOR), 1, False),     # not yourself
    (M(1, 1, FACILITATOR), M(3, 1, FACILITATOR), 1, True),      # the lead removes a co-facilitator
    (M(3, 1, FACILITATOR), M(1, 1, FACILITATOR), 1, False),     # a co-facilitator never removes the lead
    (M(3, 1, FACILITATOR), M(4, 1, FACILITATOR), 1, False),     # nor another co-facilitator
    (M(1, 1, FACILITATOR), M(2, 2, PARTICIPANT), 1, False),     # another group's member
    (M(2, 1, PARTICIPANT), M(4, 1, PARTICIPANT), 1, False),
    (None, M(2, 1, PARTICIPANT), 1, False),
])
def test_can_remove(actor, target, lead, expected):
    assert permissions.can_remove(actor, target, lead) is expected


@pytest.mark.parametrize("actor, target, expected", [
    (M(1, 1, FACILITATOR), M(2, 1, PARTICIPANT), True),
    (M(1, 1, FACILITATOR), M(2, 1, PARTICIPANT, is_facilitator_account=True), False),
    (M(1, 1, FACILITATOR), M(3, 1, FACILITATOR, is_facilitator_account=True), False),
    (M(1, 1, FACILITATOR), M(2, 2, PARTICIPANT), False),
    (M(2, 1, PARTICIPANT), M(4, 1, PARTICIPANT), False),
    (None, M(4, 1, PARTICIPANT), False),
])
def test_can_issue_reset(actor, target, expected):
    assert permissions.can_issue_reset(actor, target) is expected


@pytest.mark.parametrize("actor, target, expected", [
    (M(1, 1, FACILITATOR), M(2, 1, PARTICIPANT), True),
    (M(5, 1, FACILITATOR), M(2, 1, PARTICIPANT), True),        # a co-facilitator
    (M(1, 1, FACILITATOR), M(3, 1, FACILITATOR), False),       # records are for participants
    (M(1, 1, FACILITATOR), M(2, 2, PARTICIPANT), False),       # another group's participant
    (M(2, 1, PARTICIPANT), M(4, 1, PARTICIPANT), False),
    (M(2, 1, PARTICIPANT), M(2, 1, PARTICIPANT), False),       # a participant reads theirs, never edits it
    (None, M(2, 1, PARTICIPANT), False),
    (M(1, 1, FACILITATOR), None, False),
])
def test_can_record_follow_up(actor, target, expected):
    assert permissions.can_record_follow_up(actor, target) is expected


@pytest.mark.parametrize("actor, target, expected", [
    (M(1, 1, FACILITATOR), M(2, 1, PARTICIPANT), True),
    (M(5, 1, FACILITATOR), M(2, 1, PARTICIPANT), True),        # a co-facilitator
    (M(1, 1, FACILITATOR), M(2, 2, PARTICIPANT), False),       # another group's participant
    (M(2, 1, PARTICIPANT), M(4, 1, PARTICIPANT), False),       # participants confirm nobody
    (M(2, 1, PARTICIPANT), M(2, 1, PARTICIPANT), False),       # nor themselves (that takes their recovery code)
    (M(1, 1, FACILITATOR), M(3, 1, FACILITATOR), False),
    (None, M(2, 1, PARTICIPANT), False),
    (M(1, 1, FACILITATOR), None, False),
])
def test_can_confirm_after_reset(actor, target, expected):
    assert permissions.can_confirm_after_reset(actor, target) is expected


def test_running_a_session_is_for_the_groups_facilitators_only():
    assert permissions.can_run_session(M(1, 1, FACILITATOR))
    assert not permissions.can_run_session(M(2, 1, PARTICIPANT))
    assert not permissions.can_run_session(None)


@pytest.mark.parametrize("actor, made_it, expected", [
    (M(2, 1, PARTICIPANT), True, True),
    (M(2, 1, PARTICIPANT), False, False),    # another participant's thought
    (M(1, 1, FACILITATOR), False, False),    # facilitators hide a thought; they never remove someone's words
    (None, True, False),                     # no longer in the group
])
def test_only_its_author_takes_a_thought_back(actor, made_it, expected):
    assert permissions.can_take_back(actor, made_it) is expected


def test_facilitator_notes_are_for_the_groups_facilitators_only():
    assert permissions.can_see_facilitator_notes(M(1, 1, FACILITATOR))
    assert not permissions.can_see_facilitator_notes(M(2, 1, PARTICIPANT))
    assert not permissions.can_see_facilitator_notes(None)
