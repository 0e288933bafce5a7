"""Reading the programme: a group's modules and sessions, with facilitator notes for facilitators only."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from . import permissions
from .access import membership_or_404
from .answers import fields_of, place_of, progress, session_at
from .content import Story
from .document import block_title
from .models import Group, Share
from .web import content
from .workbook import card_first_page, open_workbook


def shares_under(base: str) -> dict[str, dict[str, Share]]:
    found: dict[str, dict[str, Share]] = {}
    for share in Share.of(current_user, under=base):
        found.setdefault(share.place, {})[share.kind] = share
    return found

def landmarks(session) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """What a long session page holds, for its "On this page": each titled part (anchor, heading), a story's parts
    under it. A short page (under five blocks and eight questions) needs none."""
    found = []
    for block in session.blocks:
        if block.type == "free_text" or (block.type == "reading" and not block.title):
            continue   # a question, or a passage of the reading before it: found under its part
        parts = [(f"{block.id}-{part.id}", part.title) for part in block.sections] if isinstance(block, Story) else []
        found.append((block.id, block_title(block), parts))
    long = len(session.blocks) >= 5 or sum(len(fields_of(block)) for block in session.exercises) >= 8
    return found if long and len(found) + sum(len(parts) for _, _, parts in found) >= 3 else []


bp = Blueprint("programme", __name__)


def _programme_or_404(group):
    programme = content().programme(group.programme)
    if programme is None:
        abort(404)
    return programme


@bp.get("/groups/<int:group_id>/modules/<module_id>")
@login_required
def module(group_id: int, module_id: str):
    group, membership = membership_or_404(group_id)
    programme = _programme_or_404(group)
    module = programme.module(module_id) or abort(404)
    workbook = open_workbook()
    answers = workbook.all(under=f"{programme.id}/{module.id}") if workbook else {}
    return render_template("programme/module.html", group=group, module=module, programme=programme,
                           progress={s.id: progress(s, answers, place_of(programme.id, module.id, s.id))
                                     for s in module.sessions if s.exercises} if workbook else {},
                           show_notes=permissions.can_see_facilitator_notes(membership))


@bp.get("/groups/<int:group_id>/modules/<module_id>/sessions/<session_id>")
@login_required
def session(group_id: int, module_id: str, session_id: str):
    group, membership = membership_or_404(group_id)
    programme = _programme_or_404(group)
    module = programme.module(module_id) or abort(404)
    session = module.session(session_id) or abort(404)
    index = module.sessions.index(session)
    workbook = open_workbook()
    if session.exercises and (first := card_first_page(workbook)):
        return first   # opening the workbook for the first time: its recovery card first
    base = place_of(programme.id, module.id, session.id)
    answers = workbook.all(under=base) if workbook else {}
    return render_template(
        "programme/session.html", group=group, programme=programme, module=module, session=session,
        workbook_open=workbook is not None, base=base, answers=answers,
        snapshots={f"{base}/{b.id}": workbook.snapshots(f"{base}/{b.id}")
                   for b in session.blocks if b.type == "ladder"} if workbook else {},
        session_shares=shares_under(base) if workbook else {},
        progress=progress(session, answers, base) if workbook else None,
        landmarks=landmarks(session),
        previous=module.sessions[index - 1] if index > 0 else None,
        next=module.sessions[index + 1] if index + 1 < len(module.sessions) else None,
        show_notes=permissions.can_see_facilitator_notes(membership),
    )


@bp.get("/programmes/<programme_id>/modules/<module_id>/sessions/<session_id>")
@login_required
def open_session(programme_id: str, module_id: str, session_id: str):
    """Where a content text's session link goes (content.SESSION_LINK): content is written once for every group, so
    the link names no group; it opens the session in the newest of the reader's groups following that programme
    (answers belong to the programme, not the group, so any of them shows the same workbook)."""
    group_id = Group.first_by_programme(current_user).get(programme_id)
    if group_id is None or session_at(content(), f"{programme_id}/{module_id}/{session_id}")[2] is None:
        abort(404)
    return redirect(url_for("programme.session", group_id=group_id, module_id=module_id, session_id=session_id))
