"""The code of behaviour board: the group proposes behaviours from their own devices, shapes them with the
facilitator, and responds to each, live on every screen and on the projector.

Live updates are polling with the board's version number (kept in the database, so several worker processes
agree): a screen asks "anything after version N?" every 1.5 s and gets 204 No Content when nothing changed,
which costs the server one indexed read. A change answers with the regions that show board state; the text box
a person is typing in is never among them, and htmx puts focus back on a control with the same id.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response as HttpResponse, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import permissions
from .db import db
from .groups import join_url, managed_or_404, membership_or_404
from .models import Board, CodeVersion, Commitment, Proposal, Response, Throttle, User, one_line
from .web import content, is_fragment_request, local_time, log

bp = Blueprint("board", __name__)

PHASE_TITLES = {
    "propose": "Propose behaviours",
    "shape": "Shape the list together",
    "respond": "Respond to each behaviour",
    "agree": "Agree our code",
    "commit": "Commit to our code",
}
PHASE_HELP = {
    "propose": "What behaviours help you feel safe and able to take part? Add as many as you like.",
    "shape": "The facilitator is tidying the wording with the group, and bringing duplicates together.",
    "respond": "For each behaviour: agree, unsure or want to talk, or object. Passing is always fine.",
    "agree": "The group is settling which behaviours make our code.",
    "commit": "Read our code, and commit to it when you are ready.",
}
# When responses of merged proposals meet, the most careful one speaks for the person.
CAUTION = {"agree": 0, "unsure": 1, "object": 2}


def effective_responses(items) -> dict[int, dict[int, Response]]:
    """Per visible item, each person's response. A merged item counts responses made to its originals (they
    moved with them); a response made to the merged wording itself wins; between originals, the most careful."""
    origin = {item.id: item.id for item in items}
    for original in Proposal.select(Proposal.id, Proposal.merged_into).where(
            Proposal.merged_into.in_([item.id for item in items])):
        origin[original.id] = original.merged_into_id
    found: dict[int, dict[int, Response]] = {item.id: {} for item in items}
    direct: set[tuple[int, int]] = set()
    for r in Response.select(Response, User).join(User).where(Response.proposal.in_(list(origin))):
        item, key = origin[r.proposal_id], (origin[r.proposal_id], r.user_id)
        current = found[item].get(r.user_id)
        if r.proposal_id == item:
            found[item][r.user_id] = r
            direct.add(key)
        elif key not in direct and (current is None or CAUTION[r.kind] > CAUTION[current.kind]):
            found[item][r.user_id] = r
    return found
PROPOSAL_LIMIT = (20, 300)   # proposals per person per 5 minutes: plenty for a person, a brake for a script


def board_state(group, membership, view: str = "page") -> dict:
    """Everything the board's live regions show to this person (or to the projector)."""
    # The board (its version) is read first: each later read may see newer changes (READ COMMITTED, or SQLite
    # outside a transaction), never older ones, so a screen never holds a version whose change it lacks.
    board = Board.for_group(group)
    facilitator = permissions.can_manage_group(membership)
    projector = view == "projector"
    proposals = list(board.proposals_for(current_user, facilitator and not projector))
    if projector:   # the room's screen: nothing hidden, and nothing at all while proposals wait to be revealed
        waiting_room = board.hide_until_reveal and not board.revealed
        proposals = [] if waiting_room else [p for p in proposals if not p.hidden]
    responses = effective_responses(proposals)
    mine = {item: by_user[current_user.id] for item, by_user in responses.items() if current_user.id in by_user}
    needs_talk = {item for item, by_user in responses.items() if any(r.kind == "object" for r in by_user.values())}
    open_objectors = {}
    if facilitator and not projector:   # public objections: the facilitator can invite them to speak
        for item, by_user in responses.items():
            names = [r.user.name for r in by_user.values() if r.kind == "object" and not r.private]
            if names:
                open_objectors[item] = names
    counts = {item: {k: sum(r.kind == k for r in by_user.values()) for k in Response.KINDS}
              for item, by_user in responses.items()}
    tallies = counts if board.tallies_shown else {}
    # The board suggests: no objection, and most of those who responded agree.
    suggested = {item for item, c in counts.items() if not c["object"] and c["agree"] * 2 > sum(c.values())}
    merges: dict[int, list[Proposal]] = {}
    for original in (Proposal.select(Proposal, User).join(User)
                     .where(Proposal.merged_into.in_([p.id for p in proposals])).order_by(Proposal.created_at)):
        merges.setdefault(original.merged_into_id, []).append(original)
    version = CodeVersion.latest(board)
    committed = (list(Commitment.select(Commitment, User).join(User).where(Commitment.version == version)
                      .order_by(Commitment.committed_at)) if version else [])
    waiting = (board.hide_until_reveal and not board.revealed and (projector or not facilitator))
    total = Proposal.select().where(Proposal.board == board, Proposal.hidden == False,  # noqa: E712
                                    Proposal.merged_into.is_null()).count()
    return {"board": board, "group": group, "facilitator": facilitator and not projector, "view": view,
            "proposals": proposals, "mine": mine, "needs_talk": needs_talk, "open_objectors": open_objectors,
            "tallies": tallies, "waiting": waiting, "total": total, "suggested": suggested,
            "responded": len({u for by_user in responses.values() for u in by_user}),
            "version": version, "committed": committed, "merges": merges,
            "i_committed": any(c.user_id == current_user.id for c in committed),
            "members": group.memberships().count(),
            "phase_title": PHASE_TITLES[board.phase], "phase_help": PHASE_HELP[board.phase]}


@bp.get("/groups/<int:group_id>/board")
@login_required
def page(group_id: int):
    group, membership = membership_or_404(group_id)
    return render_template("board/page.html", **board_state(group, membership),
                           text_max=Proposal.TEXT_MAX, text=_from_workbook(request.args.get("from", "")))


def _from_workbook(place: str) -> str:
    """"Propose to the group" from a workbook answer: the owner's own words, pre-filled for them to edit before
    sending. Only the place travels in the link; the words are read from their workbook, and nothing is sent
    until they press Propose."""
    if not place:
        return ""
    from .answers import resolve
    from .workbook import open_workbook
    spot, workbook = resolve(content(), place), open_workbook()
    if spot is None or workbook is None or not getattr(spot.block, "to_board", False):
        return ""
    saved = workbook.get(place)
    return " ".join(saved.value.split())[:Proposal.TEXT_MAX] if saved else ""


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
    text = one_line(request.form.get("text", ""))
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
    """Shaping with the group: edit the wording, hide an item (its author still sees it), split a merge back out,
    and (agreeing) mark it agreed."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    proposal = Proposal.get_or_none((Proposal.id == proposal_id) & (Proposal.board == board)) or abort(404)
    action = request.form.get("action", "")
    if action == "edit":
        text = one_line(request.form.get("text", ""))
        if not text or len(text) > Proposal.TEXT_MAX:
            flash(f"A behaviour needs some words, and at most {Proposal.TEXT_MAX} characters.")
            return redirect(url_for("board.page", group_id=group.id) + f"#proposal-{proposal.id}")
        changes = {"text": text}
    elif action in ("hide", "show"):
        changes = {"hidden": action == "hide"}
    elif action in ("agree", "unagree"):
        changes = {"agreed": action == "agree"}
    elif action == "split":   # the originals come back, each with its own responses; the merged wording goes
        with db.atomic():
            Proposal.update(merged_into=None).where(Proposal.merged_into == proposal.id).execute()
            proposal.delete_instance()
            board.changed()
        return redirect(url_for("board.page", group_id=group.id) + "#board-list")
    else:
        abort(400)
    with db.atomic():
        Proposal.update(**changes).where(Proposal.id == proposal.id).execute()
        board.changed()
    return redirect(url_for("board.page", group_id=group.id) + f"#proposal-{proposal.id}")


@bp.post("/groups/<int:group_id>/board/merge")
@login_required
def merge(group_id: int):
    """Merge duplicates, chosen by ticking them (never by dragging): one behaviour with the chosen wording,
    "proposed by N people"; the originals and their responses move with it and can be split back out."""
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    chosen = [p for p in board.proposals_for(current_user, True)
              if str(p.id) in request.form.getlist("proposal")]
    text = one_line(request.form.get("text", ""))
    if len(chosen) < 2:
        flash("Tick two or more behaviours to merge them.")
    else:
        text = text or chosen[0].text
        with db.atomic():
            merged = Proposal.create(board=board, author=current_user.id, text=text[:Proposal.TEXT_MAX], named=False,
                                     agreed=any(p.agreed for p in chosen))
            chosen_ids = [p.id for p in chosen]
            # A merge of merges keeps one level: the earlier merges' originals come along, their wordings go.
            earlier = list({p.merged_into_id for p in Proposal.select(Proposal.merged_into)
                            .where(Proposal.merged_into.in_(chosen_ids))})
            Proposal.update(merged_into=merged).where(Proposal.merged_into.in_(earlier)).execute()
            Proposal.update(merged_into=merged).where(Proposal.id.in_(chosen_ids), Proposal.id.not_in(earlier)).execute()
            if earlier:
                Response.delete().where(Response.proposal.in_(earlier)).execute()
                Proposal.delete().where(Proposal.id.in_(earlier)).execute()
            board.changed()
        log.info("proposals-merged group=%s count=%s", group.id, len(chosen))
    return redirect(url_for("board.page", group_id=group.id) + "#board-list")


@bp.post("/groups/<int:group_id>/board/version")
@login_required
def make_version(group_id: int):
    """The agreed behaviours become the next version of the code; then everyone is asked to commit to it."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    agreed = [p.text for p in board.proposals_for(current_user, True) if p.agreed and not p.hidden]
    if not agreed:
        flash("Mark at least one behaviour as agreed first.")
        return redirect(url_for("board.page", group_id=group.id))
    with db.atomic():
        board.lock()   # two facilitators at once: the second numbers its version after the first
        latest = CodeVersion.latest(board)
        CodeVersion.create(board=board, number=(latest.number + 1) if latest else 1, items=json.dumps(agreed))
        Board.update(phase="commit").where(Board.id == board.id).execute()
        board.changed()
    log.info("code-version-made group=%s", group.id)
    return redirect(url_for("board.code", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/commit")
@login_required
def commit(group_id: int):
    group, _ = membership_or_404(group_id)
    board = Board.for_group(group)
    version = CodeVersion.latest(board) or abort(404)
    with db.atomic():
        Commitment.insert(version=version, user=current_user.id).on_conflict_ignore().execute()
        board.changed()
    if is_fragment_request():
        return "", 204
    flash("Thank you. You have committed to our code.")
    return redirect(url_for("board.code", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/round")
@login_required
def new_round(group_id: int):
    """Sessions 2–4 open by revisiting the code: everyone responds again to each behaviour ("still agree" or
    "want to revisit"), may propose changes, and a new version is agreed and committed."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    with db.atomic():
        Response.delete().where(Response.proposal.in_(Proposal.select(Proposal.id).where(Proposal.board == board))
                                ).execute()
        Board.update(phase="respond", tallies_shown=False).where(Board.id == board.id).execute()
        board.changed()
    log.info("reaffirm-round-started group=%s", group.id)
    return redirect(url_for("board.page", group_id=group.id))


def code_context(group) -> dict:
    board = Board.for_group(group)
    versions = list(CodeVersion.select().where(CodeVersion.board == board).order_by(CodeVersion.number.desc()))
    version = versions[0] if versions else None
    previous = versions[1] if len(versions) > 1 else None
    committed = (list(Commitment.select(Commitment, User).join(User).where(Commitment.version == version)
                      .order_by(Commitment.committed_at)) if version else [])
    changes = None
    if version and previous:
        now, before = version.behaviours, previous.behaviours
        changes = {"added": [b for b in now if b not in before], "removed": [b for b in before if b not in now]}
    return {"group": group, "board": board, "version": version, "previous": previous, "changes": changes,
            "committed": committed, "versions": versions,
            "i_committed": any(c.user_id == current_user.id for c in committed)}


@bp.get("/groups/<int:group_id>/code")
@login_required
def code(group_id: int):
    """The group's code: the current version, who has committed (names if the group chose named), what changed."""
    group, _ = membership_or_404(group_id)
    return render_template("board/code.html", **code_context(group))


@bp.get("/groups/<int:group_id>/code.md")
@login_required
def code_markdown(group_id: int):
    group, _ = membership_or_404(group_id)
    context = code_context(group)
    version = context["version"]
    if version is None:
        return redirect(url_for("board.code", group_id=group.id))
    lines = [f"# Our code of behaviour — {group.name}", "",
             f"Version {version.number}, agreed on {local_time(version.made_at, current_app.config['TIMEZONE']):%-d %B %Y}.", ""]
    lines += [f"- {behaviour}" for behaviour in version.behaviours]
    lines += ["", f"{len(context['committed'])} people have committed to it."]
    if context["board"].named and context["committed"]:
        lines += ["", "Committed: " + ", ".join(c.user.name for c in context["committed"])]
    response = HttpResponse(("\n".join(lines) + "\n"), mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="code-of-behaviour-v{version.number}.md"'
    return response


def code_to_commit(group, user) -> CodeVersion | None:
    """The group's current code, if this person has not committed to it yet (people who join later too)."""
    version = (CodeVersion.select().join(Board).where(Board.group == group)
               .order_by(CodeVersion.number.desc()).first())
    if version and not Commitment.select().where(Commitment.version == version, Commitment.user == user.id).exists():
        return version
    return None
