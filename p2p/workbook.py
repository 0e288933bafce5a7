"""The private workbook: autosave, ladder snapshots, and the owner's overview.

Every route here reads or writes only the signed-in person's own answers, opened with the key their session
carries. There is no route that takes another person's id: a facilitator has no way in.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .answers import AnswerProblem, Workbook, locate, resolve
from .auth import workbook_key
from .models import Group, User
from .web import content, safe_next, wants_json

bp = Blueprint("workbook", __name__)


def open_workbook() -> Workbook | None:
    """The signed-in person's workbook, or None when this session does not carry their key."""
    key = workbook_key()
    return Workbook(User.get_by_id(current_user.id), key) if key else None


def my_programmes() -> set[str]:
    return {g.programme for g in Group.for_user(current_user)}


def _spot_or_problem(place: str):
    """A place the person may answer: it exists in the content and belongs to a programme of one of their groups."""
    spot = resolve(content(), place)
    if spot is None or spot.programme_id not in my_programmes():
        return None
    return spot


def _answered(status: int, message: str | None = None, **data):
    """Autosave (JSON) callers get the status and data; a plain form post goes back to its page."""
    if wants_json():
        return jsonify(problem=message, **data), status
    flash(message or "Saved.")
    back = safe_next(request.form.get("back"))
    anchor = "a-" + request.form.get("place", "").replace("/", "--") + "-form"
    return redirect(f"{back}#{anchor}")


@bp.post("/workbook/save")
@login_required
def save():
    """One answer saved (autosave from static/js/autosave.js, or the form's Save button without script).
    "Saved" is shown only after this commit returns."""
    workbook = open_workbook()
    if workbook is None:
        if not wants_json():
            flash("Please log in again to open your workbook.")
            return redirect(url_for("auth.login", next=safe_next(request.form.get("back"))))
        return jsonify(login=url_for("auth.login"), problem="Please log in again to keep saving."), 401
    place = request.form.get("place", "")
    spot = _spot_or_problem(place)
    if spot is None:
        return _answered(404, "This question is not in your workbook any more. Your text is still on this page.")
    raw = ",".join(request.form.getlist("value")) if spot.field.kind == "choices" else request.form.get("value", "")
    try:
        value = spot.field.clean(raw)
    except AnswerProblem as problem:
        return _answered(422, str(problem))
    revision, conflict = workbook.save(place, value, request.form.get("revision", type=int))
    return _answered(200, None, revision=revision, conflict=conflict)


@bp.get("/workbook/picks")
@login_required
def picks_diagram():
    """The diagram of chosen options, re-drawn by htmx after each save of the choices."""
    workbook = open_workbook()
    place = request.args.get("place", "")
    spot = _spot_or_problem(place)
    if workbook is None or spot is None or spot.block.type != "pick_n" or spot.part != "choices":
        abort(404)
    saved = workbook.get(place)
    return render_template("workbook/_picks_diagram.html", block=spot.block, place=place,
                           answers={place: saved} if saved else {})


@bp.post("/workbook/revisions")
@login_required
def revisions():
    """Which version of each answer is saved now: a tab coming back to the front checks it is up to date."""
    workbook = open_workbook()
    if workbook is None:
        return jsonify(login=url_for("auth.login")), 401
    wanted = set(request.form.getlist("place"))
    saved = workbook.all()
    return jsonify({place: saved[place].revision for place in wanted if place in saved})


@bp.post("/workbook/ladder")
@login_required
def ladder_snapshot():
    """Save the statements marked now as a dated snapshot; earlier snapshots are kept for comparison."""
    back = safe_next(request.form.get("back"))
    workbook = open_workbook()
    if workbook is None:
        flash("Please log in again to open your workbook.")
        return redirect(url_for("auth.login", next=back))
    place = request.form.get("place", "")
    spot = locate(content(), place)
    if spot is None or spot.block.type != "ladder" or spot.part or spot.programme_id not in my_programmes():
        abort(404)
    valid = {s.number for s in spot.block.statements}
    numbers = sorted({int(n) for n in request.form.getlist("statement") if n.isdigit() and int(n) in valid})
    workbook.take_snapshot(place, numbers)
    flash("Your snapshot is saved with today’s date.")
    return redirect(f"{back}#{spot.block.id}")
