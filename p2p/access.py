"""Who may open what: every group route goes through one of these, which answer 404 before anything renders,
so a group someone is not in looks the same as one that does not exist. A membership on hold after a reset
(models.HeldMembership) is none: Membership.of leaves it out. What each role may do is in permissions.py."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from . import permissions
from .models import Group, Membership


def membership_or_404(group_id: int) -> tuple[Group, Membership]:
    group = Group.by_id(group_id)
    membership = Membership.of(current_user, group) if group else None
    if not permissions.is_member(membership):
        abort(404)
    return group, membership


def managed_or_404(group_id: int) -> tuple[Group, Membership]:
    group, membership = membership_or_404(group_id)
    if not permissions.can_manage_group(membership):
        abort(404)
    return group, membership


def managed_member_or_404(group_id: int, user_id: int, allowed) -> tuple[Group, Membership, Membership]:
    """Someone in a group this person facilitates, for an action on them that `allowed(actor, target)` permits:
    the group, the actor's membership and the target's. Anything else is 404."""
    group, membership = managed_or_404(group_id)
    target = Membership.get_or_none((Membership.group == group) & (Membership.user == user_id))
    if target is None or not allowed(membership, target):
        abort(404)
    return group, membership, target


def running_or_404(group_id: int) -> tuple[Group, Membership]:
    group, membership = membership_or_404(group_id)
    if not permissions.can_run_session(membership):
        abort(404)
    return group, membership
