"""The code of behaviour board: the group proposes behaviours from their own devices, shapes them with the
facilitator, and responds to each, live on every screen and on the projector.

Live updates are polling with the board's version number (kept in the database, so several worker processes
agree): a screen asks "anything after version N?" every 1.5 s and gets 204 No Content when nothing changed,
which costs the server one indexed read. A change answers with the regions that show board state; the text box
a person is typing in is never among them, and htmx puts focus back on a control with the same id.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import permissions
from .db import db
from .groups import join_url, managed_or_404, membership_or_404
from .models import Board, Proposal, Response, Throttle, User
from .web import is_fragment_request, log

bp = Blueprint("board", __name__)

PHASE_TITLES = {
    "propose": "Propose behaviours",
    "shape": "Shape the list together",
    "respond": "Respond to each behaviour",
}
PHASE_HELP = {
    "propose": "What behaviours help you feel safe and able to take part? Add as many as you like.",
    "shape": "The facilitator is tidying the wording with the group.",
    "respond": "For each behaviour: agree, unsure or want to talk, or object. Passing is always fine.",
}
PROPOSAL_LIMIT = (20, 300)   # proposals per person per 5 minutes: plenty for a person, a brake for a script


def board_state(group, membership, view: str = "page") -> dict:
    """Everything the board's live regions show to this person (or to the projector)."""
    board = Board.for_group(group)
    facilitator = permissions.can_manage_group(membership)
    projector = view == "projector"
    proposals = list(board.proposals_for(current_user, facilitator and not projector))
    if projector:
        proposals = [p for p in proposals if not p.hidden]
    ids = [p.id for p in proposals]
    responses = list(Response.select(Response, User).join(User).where(Response.proposal.in_(ids))) if ids else []
    mine = {r.proposal_id: r for r in responses if r.user_id == current_user.id}
    needs_talk = {r.proposal_id for r in responses if r.kind == "object"}
    open_objectors = {}
    if facilitator and not projector:   # public objections: the facilitator can invite them to speak
        for r in responses:
            if r.kind == "object" and not r.private:
                open_objectors.setdefault(r.proposal_id, []).append(r.user.name)
    tallies = {}
    if board.tallies_shown:
        for r in responses:
            tallies.setdefault(r.proposal_id, {k: 0 for k in Response.KINDS})[r.kind] += 1
    waiting = (board.hide_until_reveal and not board.revealed and (projector or not facilitator))
    total = Proposal.select().where(Proposal.board == board, Proposal.hidden == False).count()  # noqa: E712
    return {"board": board, "group": group, "facilitator": facilitator and not projector, "view": view,
            "proposals": proposals, "mine": mine, "needs_talk": needs_talk, "open_objectors": open_objectors,
            "tallies": tallies, "waiting": waiting, "total": total, "responded": len({r.user_id for r in responses}),
            "phase_title": PHASE_TITLES[board.phase], "phase_help": PHASE_HELP[board.phase]}


@bp.get("/groups/<int:group_id>/board")
@login_required
def page(group_id: int):
    group, membership = membership_or_404(group_id)
    return render_template("board/page.html", **board_state(group, membership),
                           text_max=Proposal.TEXT_MAX)


@bp.get("/groups/<int:group_id>/board/projector")
@login_required
def projector(group_id: int):
    group, membership = managed_or_404(group_id)
    return render_template("board/projector.html", **board_state(group, membership, "projector"),
                           join_url=join_url(group) if group.join_code_active else None)


@bp.get("/groups/<int:group_id>/board/live")
@login_required
def live(group_id: int):
    """Polled by every screen. Membership is checked on every poll: someone removed stops seeing the board."""
    group, membership = membership_or_404(group_id)
    view = "projector" if request.args.get("view") == "projector" else "page"
    if view == "projector" and not permissions.can_manage_group(membership):
        abort(404)
    seen = request.args.get("v", type=int)
    current = Board.select(Board.version).where(Board.group == group).scalar()
    if current is not None and seen == current:
        return "", 204
    return render_template("board/_live.html", **board_state(group, membership, view))


def _back(group_id: int):
    if is_fragment_request():
        return "", 204   # the next poll shows the change everywhere, this screen included
    return redirect(url_for("board.page", group_id=group_id))


@bp.post("/groups/<int:group_id>/board/proposals")
@login_required
def propose(group_id: int):
    group, membership = membership_or_404(group_id)
    board = Board.for_group(group)
    text = " ".join(request.form.get("text", "").split())
    limit, window = PROPOSAL_LIMIT
    key = f"propose:{current_user.id}"
    if board.phase != "propose":
        problem = "Proposing has closed for now. Your words are still here if you want to keep them."
    elif not text:
        problem = "Please write a behaviour first."
    elif len(text) > Proposal.TEXT_MAX:
        problem = f"Please keep a behaviour to {Proposal.TEXT_MAX} characters, so it fits on the code."
    elif Throttle.blocked(key, limit, window):
        problem = "That is a lot of proposals at once. Please wait a moment and try again."
    else:
        problem = None
        Throttle.fail(key, window)
        with db.atomic():
            Proposal.create(board=board, author=current_user.id, text=text, named=board.named)
            board.changed()
        log.info("proposal-added group=%s", group.id)
    if is_fragment_request():  # the form answers in place: sent, or the problem with the text kept
        return render_template("board/_propose_form.html", board=board, group=group, text_max=Proposal.TEXT_MAX,
                               text=text if problem else "", problem=problem, just_sent=not problem)
    if problem:
        flash(problem)
    return redirect(url_for("board.page", group_id=group.id) + "#propose")


@bp.post("/groups/<int:group_id>/board/proposals/<int:proposal_id>/respond")
@login_required
def respond(group_id: int, proposal_id: int):
    group, membership = membership_or_404(group_id)
    board = Board.for_group(group)
    proposal = board.proposals_for(current_user, permissions.can_manage_group(membership)).where(
        Proposal.id == proposal_id).first()
    if proposal is None:
        abort(404)
    kind = request.form.get("kind", "")
    if board.phase != "respond" or kind not in (*Response.KINDS, "pass"):
        abort(400)
    with db.atomic():
        if kind == "pass":
            Response.delete().where(Response.proposal == proposal, Response.user == current_user.id).execute()
        else:
            private = kind == "object" and bool(request.form.get("private"))
            (Response.insert(proposal=proposal, user=current_user.id, kind=kind, private=private)
             .on_conflict(conflict_target=[Response.proposal, Response.user],
                          update={Response.kind: kind, Response.private: private}).execute())
        board.changed()
    return _back(group.id)


# ---------------------------------------------------------------------------------------------------
# The facilitator's controls.

SETTINGS = {  # action: (field, value)
    "named-on": ("named", True), "named-off": ("named", False),
    "hide-on": ("hide_until_reveal", True), "hide-off": ("hide_until_reveal", False),
    "reveal": ("revealed", True),
    "tallies-on": ("tallies_shown", True), "tallies-off": ("tallies_shown", False),
    "blank-on": ("blank", True), "blank-off": ("blank", False),
}


@bp.post("/groups/<int:group_id>/board/settings")
@login_required
def settings(group_id: int):
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    action = request.form.get("action", "")
    if action.startswith("phase:") and action[6:] in Board.PHASES:
        changes = {"phase": action[6:]}
    elif action in SETTINGS:
        field, value = SETTINGS[action]
        changes = {field: value}
        if action == "hide-on":
            changes["revealed"] = False   # from now on, people write without seeing each other's proposals
    else:
        abort(400)
    with db.atomic():
        Board.update(**changes).where(Board.id == board.id).execute()
        board.changed()
    log.info("board-changed group=%s action=%s", group.id, action)
    back = request.form.get("back") == "projector"
    return redirect(url_for("board.projector" if back else "board.page", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/proposals/<int:proposal_id>")
@login_required
def shape(group_id: int, proposal_id: int):
    """Shaping with the group: edit the wording, or hide an item (its author still sees it)."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    proposal = Proposal.get_or_none((Proposal.id == proposal_id) & (Proposal.board == board)) or abort(404)
    action = request.form.get("action", "")
    if action == "edit":
        text = " ".join(request.form.get("text", "").split())
        if not text or len(text) > Proposal.TEXT_MAX:
            flash(f"A behaviour needs some words, and at most {Proposal.TEXT_MAX} characters.")
            return redirect(url_for("board.page", group_id=group.id) + f"#proposal-{proposal.id}")
        changes = {"text": text}
    elif action in ("hide", "show"):
        changes = {"hidden": action == "hide"}
    else:
        abort(400)
    with db.atomic():
        Proposal.update(**changes).where(Proposal.id == proposal.id).execute()
        board.changed()
    return redirect(url_for("board.page", group_id=group.id) + f"#proposal-{proposal.id}")
