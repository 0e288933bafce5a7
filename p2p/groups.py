"""Groups: create and edit, invite (link, QR code, short code), join, members, co-facilitators."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import permissions
from .access import managed_member_or_404, managed_or_404, membership_or_404
from .auth import new_account_problems, sign_up_once
from .db import checkpoint, db
from .models import (
    FACILITATOR,
    Board,
    CodeVersion,
    DemoPart,
    FollowUp,
    Group,
    HeldMembership,
    Membership,
    OneTimeToken,
    SentRequest,
    Share,
    Throttle,
    User,
    format_join_code,
    normalise_join_code,
    one_line,
)
from .web import content, is_fragment_request, join_url, log, whole_number

bp = Blueprint("groups", __name__)

GROUP_NAME_MAX = 80
CODE_NOT_WORKING = ("That code isn't working. It may have expired or been changed. "
                    "Please check it, or ask your facilitator for the current code.")


def too_many_codes(seconds: int) -> str:
    return (f"Quite a few codes have been tried from here just now. Please wait {seconds} "
            f"second{'s' if seconds != 1 else ''} and try again, or ask your facilitator to show the code again.")


# ---------------------------------------------------------------------------------------------------
# Creating and editing a group.


def _read_group_form() -> tuple[dict, dict]:
    """The allow-listed fields of the group form, and what is wrong with them."""
    form = request.form
    fields = {"name": one_line(form.get("name", "")), "programme": form.get("programme", "")}
    errors = {}
    if not fields["name"]:
        errors["name"] = "Please give the group a name, for example the place and the month."
    elif len(fields["name"]) > GROUP_NAME_MAX:
        errors["name"] = f"Please keep the name to {GROUP_NAME_MAX} characters or fewer."
    if content().programme(fields["programme"]) is None:
        errors["programme"] = "Please choose the programme this group will follow."
    for key in ("starts_on", "ends_on"):
        raw = form.get(key, "").strip()
        try:
            fields[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            fields[key] = None
            errors[key] = "Please give the date as day, month and year, or leave it empty."
    if fields["starts_on"] and fields["ends_on"] and fields["ends_on"] < fields["starts_on"]:
        errors["ends_on"] = "The end date is before the start date."
    return fields, errors


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def create():
    if not permissions.can_create_group(current_user):
        abort(404)
    fields, errors = ({}, {}) if request.method == "GET" else _read_group_form()
    if request.method == "POST" and not errors:
        def make_group():
            group = Group.create_for(User.get_by_id(current_user.id), current_app.config["JOIN_CODE_DAYS"], **fields)
            log.info("group-created group=%s by=%s", group.id, current_user.id)
            flash(f"“{group.name}” is ready. Invite people with the link, the QR code or the short code.")
            return url_for("groups.invite", group_id=group.id)
        # Sent twice (a double click, a lost answer): the second goes where the first did, to the one group made.
        return redirect(SentRequest.once(request.form.get("request_key"), make_group)[1])
    return render_template("groups/form.html", fields=fields or request.form, errors=errors, group=None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@login_required
def edit(group_id: int):
    group, _ = managed_or_404(group_id)
    if request.method == "POST":
        fields, errors = _read_group_form()
        if not errors:
            group.change(**fields)
            flash("The group's details are saved.")
            return redirect(url_for("groups.show", group_id=group.id))
    else:
        fields, errors = {"name": group.name, "programme": group.programme, "starts_on": group.starts_on,
                          "ends_on": group.ends_on}, {}
    return render_template("groups/form.html", fields=fields, errors=errors, group=group)


@bp.get("/groups/<int:group_id>")
@login_required
def show(group_id: int):
    group, membership = membership_or_404(group_id)
    manage = permissions.can_manage_group(membership)
    members = list(group.memberships()) if manage else []
    lead = Membership.lead_of(group)
    # Facilitator accounts not yet facilitating here, including one who joined the group as a participant.
    facilitating = {m.user_id for m in members if m.role == FACILITATOR}
    return render_template(
        "groups/show.html", group=group, membership=membership, manage=manage, members=members,
        programme=content().programme(group.programme),
        can_remove=lambda target: permissions.can_remove(membership, target, lead),
        can_reset=lambda target: permissions.can_issue_reset(membership, target),
        other_facilitators=[u for u in DemoPart.facilitators_for(group) if u.id not in facilitating] if manage else [],
        demo=DemoPart.is_group(group),
        shared=_shared_with_facilitators(group) if manage else [],
        code_to_commit=CodeVersion.awaiting(group, current_user),
        can_follow_up=lambda target: permissions.can_record_follow_up(membership, target),
        follow_ups=FollowUp.by_membership(group) if manage else {},
        my_follow_up=None if manage else FollowUp.of(membership),
        held=HeldMembership.in_group(group) if manage else {},
    )


def _shared_with_facilitators(group: Group) -> list[dict]:
    """Answers participants chose to share with this group's facilitators, each with its question."""
    from .answers import resolve, where_from
    items = []
    for share in Share.for_group(group):
        spot = resolve(content(), share.place)
        items.append({"name": share.membership.user.name, "question": spot.field.label if spot else share.place,
                      "where": where_from(content(), share.place), "text": share.text, "shared_at": share.shared_at})
    return items


# ---------------------------------------------------------------------------------------------------
# Inviting: one short code per group, also carried by the link and the QR code.


def _invite(template: str, group: Group):
    return render_template(template, group=group, url=join_url(group) if group.join_code_active else None)


@bp.get("/groups/<int:group_id>/invite")
@login_required
def invite(group_id: int):
    group, _ = managed_or_404(group_id)
    return _invite("groups/invite.html", group)


@bp.get("/groups/<int:group_id>/invite/qr.svg")
@login_required
def invite_qr(group_id: int):
    import segno  # (here: only the projector's QR code needs it, and it holds ~0.5 MB once imported)
    group, _ = managed_or_404(group_id)
    if not group.join_code_active:
        abort(404)
    svg = io.BytesIO()
    segno.make(join_url(group), error="m").save(svg, kind="svg", scale=8, border=2, xmldecl=False,
                                               title=f"Join {group.name}")
    response = Response(svg.getvalue(), mimetype="image/svg+xml")
    if request.args.get("v") == group.join_code:
        # Its address names the code it shows (the projector's does): kept on the facilitator's device for the
        # day, so the projector's page is one request when opened again. A new code has a new address.
        response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.post("/groups/<int:group_id>/invite/new-code")
@login_required
def new_code(group_id: int):
    group, _ = managed_or_404(group_id)
    group.rotate_join_code(current_app.config["JOIN_CODE_DAYS"])
    Board.touch(group)   # the projector shows the code
    log.info("join-code-rotated group=%s by=%s", group.id, current_user.id)
    return (_invite("groups/_invite.html", group) if is_fragment_request()
            else redirect(url_for("groups.invite", group_id=group.id)))


@bp.post("/groups/<int:group_id>/invite/close")
@login_required
def close_code(group_id: int):
    group, _ = managed_or_404(group_id)
    group.close_join_code()
    Board.touch(group)
    log.info("join-code-closed group=%s by=%s", group.id, current_user.id)
    return (_invite("groups/_invite.html", group) if is_fragment_request()
            else redirect(url_for("groups.invite", group_id=group.id)))


# ---------------------------------------------------------------------------------------------------
# Joining. Codes tried are counted per address, in the database: an address trying code after code is slowed
# down step by step (Throttle.take), never locked out, and a right code gives its attempt back. Wrong codes are
# also counted across the server: many addresses guessing at once get fewer attempts each, while an address that
# has not guessed (a newcomer with the right code) is never held back by the others.


def _code_attempt() -> str | None:
    """Before a join code is looked up: None to go ahead (the attempt is counted), else what to say."""
    cfg = current_app.config
    free, window = cfg["JOIN_THROTTLE"]
    limit, across = cfg["JOIN_THROTTLE_GLOBAL"]
    key = f"join:{request.remote_addr}"
    if Throttle.count_of(key, window) and Throttle.count_of("join:all", across) >= limit:
        free = min(free, 3)
    wait = Throttle.take(key, free, window)
    if wait:
        log.warning("join-throttled")
        return too_many_codes(wait)
    return None


def _code_was(right: bool) -> None:
    if right:
        Throttle.give_back(f"join:{request.remote_addr}")
    else:
        Throttle.fail("join:all", current_app.config["JOIN_THROTTLE_GLOBAL"][1])
        log.info("join-code-wrong")


@bp.route("/join", methods=["GET", "POST"])
def join():
    error, code = None, request.form.get("code", "")
    if request.method == "POST":
        error = _code_attempt()
        if not error:
            right = Group.by_join_code(code) is not None
            _code_was(right)
            if right:
                return redirect(url_for("groups.join_with_code", code=normalise_join_code(code)))
            error = CODE_NOT_WORKING
    return render_template("groups/join_code.html", error=error, code=code)


@bp.route("/join/<code>", methods=["GET", "POST"])
def join_with_code(code: str):
    waiting = _code_attempt()
    if waiting:
        return render_template("groups/join_code.html", error=waiting, code=""), 429
    group = Group.by_join_code(code)
    _code_was(group is not None)
    if group is None:
        return render_template("groups/join_code.html", error=CODE_NOT_WORKING, code=format_join_code(
            normalise_join_code(code))), 404

    if current_user.is_authenticated:
        if Membership.of(current_user, group):
            return redirect(url_for("groups.show", group_id=group.id))
        if HeldMembership.exists_for(current_user, group):
            # A join code (shown in the room, so not secret) must not open a group a reset put on hold.
            return render_template("groups/join_held.html", group=group)
        if request.method == "POST":
            Membership.join(User.get_by_id(current_user.id), group)
            Board.touch(group)   # the board counts who has committed out of how many
            log.info("joined group=%s user=%s", group.id, current_user.id)
            flash(f"Welcome to {group.name}.")
            return redirect(_where_joiners_go(group))
        return render_template("groups/join_confirm.html", group=group, code=group.join_code)

    # One screen from the QR code to the room: a name and one password (with "Show password", not a second box),
    # then straight to the board. The recovery card waits until the workbook is first opened (workbook.card_first):
    # nothing can be written in it before then, so nothing is at stake until the card has been seen.
    errors, name = {}, request.form.get("name", "")
    if request.method == "POST":
        def member(user: User) -> None:
            user.save()
            Membership.join(user, group)
            Board.touch(group)
            log.info("joined group=%s user=%s new-account", group.id, user.id)
        user = sign_up_once(member, card_later=True)
        if user:
            flash(f"Welcome to {group.name}, {user.name}.")
            return redirect(_where_joiners_go(group))
        errors = new_account_problems()
    return render_template("groups/join.html", group=group, code=group.join_code, errors=errors, name=name)


def _where_joiners_go(group: Group) -> str:
    """The group's board once the group has one (its facilitator has opened it: in the room, it is on the projector
    with the QR code people scanned; later, latecomers find the code to commit to there); before that, the group's
    page."""
    if Board.select().where(Board.group == group).exists():
        return url_for("board.page", group_id=group.id)
    return url_for("groups.show", group_id=group.id)


# ---------------------------------------------------------------------------------------------------
# Members.


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
@login_required
def remove_member(group_id: int, user_id: int):
    group, _, target = managed_member_or_404(group_id, user_id, lambda actor, target: permissions.can_remove(
        actor, target, Membership.lead_of(group_id)))
    if request.method == "POST":
        with db.atomic():
            target.delete_instance()
            target.user.end_sign_ins()  # their open pages stop working at once, not at the next login
            Board.touch(group)
        checkpoint()   # what they had shared with the group, and their sign-ins' secrets, out of the WAL
        log.info("member-removed group=%s user=%s by=%s", group.id, target.user_id, current_user.id)
        flash(f"{target.user.name} has been removed from {group.name}.")
        return redirect(url_for("groups.show", group_id=group.id))
    return render_template("groups/remove.html", group=group, target=target)


@bp.route("/groups/<int:group_id>/members/<int:user_id>/reset-code", methods=["GET", "POST"])
@login_required
def reset_code(group_id: int, user_id: int):
    """Before the code is made, the facilitator reads what it does to the participant's workbook."""
    group, _, target = managed_member_or_404(group_id, user_id, permissions.can_issue_reset)
    if request.method == "GET":
        return render_template("groups/reset_confirm.html", group=group, target=target)
    code = OneTimeToken.new_reset_code(target.user, User.get_by_id(current_user.id),
                                       current_app.config["RESET_CODE_HOURS"])
    log.info("reset-code-issued group=%s user=%s by=%s", group.id, target.user_id, current_user.id)
    return render_template("groups/reset_code.html", group=group, target=target, code=code,
                           hours=current_app.config["RESET_CODE_HOURS"])


@bp.post("/groups/<int:group_id>/members/<int:user_id>/confirm")
@login_required
def confirm_member(group_id: int, user_id: int):
    """A facilitator of the group confirms that the person whose password was reset with another facilitator's
    code is who they say: the group opens to their account again."""
    group, _, target = managed_member_or_404(group_id, user_id, permissions.can_confirm_after_reset)
    if HeldMembership.release(target):
        log.info("reset-confirmed group=%s user=%s by=%s", group.id, target.user_id, current_user.id)
        flash(f"Thank you. {target.user.name} can use {group.name} again.")
    return redirect(url_for("groups.show", group_id=group.id) + "#members-heading")


@bp.post("/groups/<int:group_id>/facilitators")
@login_required
def add_facilitator(group_id: int):
    group, _ = managed_or_404(group_id)
    user = User.get_or_none(User.id == whole_number(request.form.get("user_id")))
    if user is None or not user.is_facilitator or (DemoPart.is_account(user) and not DemoPart.is_group(group)):
        flash("Please choose a facilitator from the list.")   # (the demo's accounts stay in the demo group)
    else:
        (Membership.insert(user=user, group=group, role=FACILITATOR)
         .on_conflict(conflict_target=[Membership.user, Membership.group], update={Membership.role: FACILITATOR})
         .execute())
        Board.touch(group)   # their open board page gains the facilitator's controls
        log.info("co-facilitator-added group=%s user=%s by=%s", group.id, user.id, current_user.id)
        flash(f"{user.name} now co-facilitates {group.name}.")
    return redirect(url_for("groups.show", group_id=group.id) + "#facilitators")
