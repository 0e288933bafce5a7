"""Who may see and do what: small pure functions over a person and their membership of a group.

Routes call these through the helpers in groups.py, which answer 404 (never 403) before anything renders:
a group you are not in does not exist for you. tests/test_permissions.py checks them as a table.
"""

from __future__ import annotations

from .models import FACILITATOR, PARTICIPANT


def is_member(membership) -> bool:
    return membership is not None


def is_group_facilitator(membership) -> bool:
    return membership is not None and membership.role == FACILITATOR


def can_create_group(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_facilitator


def can_see_facilitator_notes(membership) -> bool:
    return is_group_facilitator(membership)


def can_manage_group(membership) -> bool:
    """Invite, rotate codes, remove members, issue reset codes, add co-facilitators."""
    return is_group_facilitator(membership)


def can_remove(actor, target, lead_user_id: int | None) -> bool:
    """Facilitators remove participants from their group. Only the lead facilitator (the longest-standing: who
    made the group, unless they have left) removes a co-facilitator; a co-facilitator never removes the lead, and
    nobody removes themselves this way, so a group always keeps a facilitator."""
    if not can_manage_group(actor) or target is None or target.group_id != actor.group_id:
        return False
    if target.user_id == actor.user_id:
        return False
    return target.role == PARTICIPANT or actor.user_id == lead_user_id


def can_issue_reset(actor, target) -> bool:
    """A facilitator can give a participant of their group a one-time reset code; never see or set a password."""
    return (can_manage_group(actor) and target is not None and target.group_id == actor.group_id
            and target.role == PARTICIPANT and not target.user.is_facilitator)


def can_confirm_after_reset(actor, target) -> bool:
    """A facilitator of the group confirms it is really the participant, after a reset with another facilitator's
    code put the group on hold for them (models.HeldMembership)."""
    return (can_manage_group(actor) and target is not None and target.group_id == actor.group_id
            and target.role == PARTICIPANT)


def can_record_follow_up(actor, target) -> bool:
    """Between sessions: a facilitator of the group (co-facilitators too) records, for a participant of that same
    group, the date agreed for the reflection and the follow-up conversation."""
    return (can_manage_group(actor) and target is not None and target.group_id == actor.group_id
            and target.role == PARTICIPANT)


def can_run_session(membership) -> bool:
    """Choose the group's current session, start and stop its timer, open and close discussion boards in a session,
    hide a thought on a discussion board."""
    return is_group_facilitator(membership)


def can_take_back(membership, made_it: bool) -> bool:
    """Only its author takes a thought back (`made_it`: their session recognises it as theirs, see
    models.MadeBySomeone), and only while still in the group: nobody removes another's words."""
    return membership is not None and made_it
