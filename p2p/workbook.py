"""The private workbook: autosave, ladder snapshots, and the owner's overview.

Every route here reads or writes only the signed-in person's own answers, opened with the key their session
carries. There is no route that takes another person's id: a facilitator has no way in.
"""

from __future__ import annotations

from base64 import b64encode

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import crypto, document
from .answers import (
    DONE_FOR_NOW,
    LADDER_MARKED,
    AnswerProblem,
    Outcome,
    RecoveryCardFirst,
    SnapshotTaken,
    Spot,
    Workbook,
    answer_anchor,
    delete_workbook,
    fields_of,
    locate,
    progress,
    resolve,
    session_at,
    where_from,
)
from .auth import workbook_key
from .models import EarlierKey, FollowUp, Group, Membership, PasswordReset, SentRequest, Share, utcnow
from .web import content, is_fragment_request, local_time, log, redirect_to, safe_next, wants_json, whole_number

bp = Blueprint("workbook", __name__)
bp.add_app_template_global(fields_of)
bp.add_app_template_global(LADDER_MARKED, "LADDER_MARKED")


@bp.app_template_global()
def drafts_key() -> str:
    """For the signed-in person's pages (base.html): the key their unsent text is sealed with on this device
    (see crypto.drafts_key and static/js/autosave.js); "" when this session does not carry their workbook key."""
    key = workbook_key() if current_user.is_authenticated else None
    return b64encode(crypto.drafts_key(key)).decode() if key else ""


@bp.app_template_global()
def ladder_history(snapshots) -> list[document.Moment]:
    """A ladder's snapshots newest first, dated and timed in the host's time zone, with what moved (document.py)."""
    return document.ladder_history(snapshots, current_app.config["TIMEZONE"])


bp.add_app_template_global(document.statement_lines)
bp.add_app_template_global(document.snapshot_reflections)


@bp.app_template_global()
def fields_block(place: str):
    """The content block an answer place belongs to (templates ask what it allows)."""
    spot = locate(content(), place)
    return spot.block if spot else None


@bp.app_template_global()
def question_of(place: str) -> str:
    """The question an answer place answers, as it is named out of its page (answers.fields_of)."""
    spot = resolve(content(), place)
    return spot.field.label if spot else ""


def open_workbook() -> Workbook | None:
    """The signed-in person's workbook, or None when this session does not carry their key."""
    key = workbook_key()
    # current_user is this request's User row already (the session's loader read it): no second query.
    return Workbook(current_user._get_current_object(), key) if key else None


# The recovery card before the first answer (answers.RecoveryCardFirst). Someone who joined with a join code went
# from the QR code to the board without it; it is offered when they first open their workbook (its overview, or a
# session page with exercises), and any write that comes another way (an old tab, a link) is refused, kindly.

CARD_FIRST = ("Not saved yet: before your first answer, please open My workbook to see your recovery card. "
              "Your text is kept on this device.")


def card_first_page(workbook: Workbook | None):
    """For a workbook page: its owner's recovery card first, then back to this page; None once it was confirmed."""
    if workbook is None or workbook.user.recovery_card_confirmed:
        return None
    return redirect(url_for("auth.recovery_code", next=request.full_path.rstrip("?")))


@bp.app_errorhandler(RecoveryCardFirst)
def card_first(_error):
    card = url_for("auth.recovery_code", next=safe_next(request.form.get("back"), url_for("workbook.overview")))
    log.info("workbook-card-first user=%s", current_user.id)
    if wants_json():   # autosave.js says it beside the answer and keeps the text
        return jsonify(problem=CARD_FIRST, card=card), 403
    return redirect_to(card)


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
    return redirect(f"{safe_next(request.form.get('back'))}#{answer_anchor(request.form.get('place', ''))}-form")


CHANGED_ELSEWHERE = ("This answer was also changed in another tab or on another device. Nothing is lost: "
                     "both versions are here. Please choose the one to keep.")


def _both_versions(spot: Spot, value: str, outcome: Outcome):
    """A save that met a version its writer had not seen: nothing is written, and both versions go back to the
    person. The autosave script shows the other version beside theirs; without script, a page shows both."""
    other = outcome.other
    if wants_json():
        return jsonify(problem=CHANGED_ELSEWHERE, revision=other.revision, other=other.value,
                       other_display=spot.field.display(other.value)), 409
    back = safe_next(request.form.get("back"))
    return render_template("workbook/both_versions.html", spot=spot, mine=value, other=other, back_path=back,
                           back=f"{back}#{answer_anchor(spot.place)}-form"), 409


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
    if request.form.get("clear"):   # "Clear my answer": the choice the form still holds is not sent on
        raw = ""
    elif spot.field.kind == "choices":
        raw = ",".join(request.form.getlist("value"))
    else:
        raw = request.form.get("value", "")
    try:
        value = spot.field.clean(raw)
    except AnswerProblem as problem:
        return _answered(422, str(problem))
    # An empty revision means the page saw no saved answer: if one exists now, another tab wrote it.
    seen = request.form.get("revision", "")
    outcome = workbook.save(place, value, whole_number(seen) or 0)
    if outcome.other is not None:
        return _both_versions(spot, value, outcome)
    return _answered(200, None, revision=outcome.revision)


def _session_or_404(base: str):
    """A session of a programme of one of the person's groups, by its place ("p2p/module-1/session-2")."""
    programme, _, session = session_at(content(), base)
    if session is None or base.count("/") != 2 or programme.id not in my_programmes():
        abort(404)
    return session


def progress_panel(session, base: str, answers: dict, acted: bool = False) -> str:
    return render_template("workbook/_progress.html", base=base, progress=progress(session, answers, base),
                           acted=acted)


@bp.get("/workbook/progress")
@login_required
def progress_now():
    """The session's progress panel, drawn again a moment after the person's answers are saved."""
    base = request.args.get("session", "")
    session, workbook = _session_or_404(base), _workbook_or_login()
    return progress_panel(session, base, workbook.all(under=base))


@bp.post("/workbook/done-for-now")
@login_required
def done_for_now():
    """A session marked "done for now" by its owner, or not any more: a mark for them alone, sealed with their
    answers, whatever the count of answered questions says."""
    base = request.form.get("session", "")
    session, workbook = _session_or_404(base), _workbook_or_login()
    workbook.save(f"{base}/{DONE_FOR_NOW}", "yes" if request.form.get("done") == "1" else "", None)
    if is_fragment_request():
        return progress_panel(session, base, workbook.all(under=base), acted=True)
    return redirect(f"{safe_next(request.form.get('back'))}#progress")


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


def _moment(workbook: Workbook, snapshot) -> str:
    """A snapshot's moment as people read it, in the host's time zone, as its ladder's history tells it apart from
    the others: "30 November 2026 at 09:05" (with seconds where another was taken in the same minute)."""
    for moment in ladder_history(workbook.snapshots(snapshot.place)):
        if moment.snapshot.id == snapshot.id:
            return moment.when
    return f"{local_time(snapshot.taken_at, current_app.config['TIMEZONE']):%-d %B %Y at %H:%M}"


def said_of_snapshot(workbook: Workbook, taken: SnapshotTaken) -> tuple[str, str]:
    """What to say beside the ladder's button after "Save today's snapshot", and its flash category."""
    if taken.outcome == SnapshotTaken.SAVED:
        return (f"Your snapshot of {_moment(workbook, taken.snapshot)} is saved. Your ticks stay as they are.",
                SNAPSHOT_SAID)
    if taken.outcome == SnapshotTaken.UNCHANGED:
        return (f"Nothing has changed since your snapshot of {_moment(workbook, taken.snapshot)}, so there is no "
                "need for another one. It is kept below.", SNAPSHOT_NOTE)
    return ("There is nothing to keep in a snapshot yet. Tick a statement that feels real to you now, or write "
            "about a stage, then save your snapshot.", SNAPSHOT_NOTE)


# Said beside the ladder's buttons (templates/programme/blocks/_ladder.html), not at the top of the page, which a
# phone shows screens away: _macros.html's flashes() leaves these categories out.
SNAPSHOT_SAID, SNAPSHOT_NOTE = "snapshot", "snapshot-note"
bp.add_app_template_global((SNAPSHOT_SAID, SNAPSHOT_NOTE), "SNAPSHOT_CATEGORIES")


def snapshot_anchor(block_id: str) -> str:
    """Where a page goes back to after a snapshot is saved or deleted: what is said beside the buttons. Focusable,
    so going to it focuses it (a screen reader reads it); app.css keeps the buttons above it in view too."""
    return f"{block_id}-snapshot-said"


@bp.post("/workbook/ladder")
@login_required
def ladder_snapshot():
    """Save the statements ticked on the page, with the stages' reflections, as a dated and timed snapshot; earlier
    snapshots are kept for comparison. The ladder's form sends its ticks here, as the person sees them: they are
    saved as the current ticks too (and stay ticked), so a tick whose autosave was still on its way when the button
    was pressed is neither left out nor undone (see Workbook.take_snapshot)."""
    back = safe_next(request.form.get("back"))
    workbook = open_workbook()
    if workbook is None:
        flash("Please log in again to open your workbook.")
        return redirect(url_for("auth.login", next=back))
    place, ticked = request.form.get("place", ""), set(request.form.getlist("value"))
    if "statement" in request.form:   # a page from before the ticks were an answer, open across an update
        place, ticked = f"{place}/{LADDER_MARKED}", set(request.form.getlist("statement"))
    spot = _spot_or_problem(place)
    if spot is None or spot.block.type != "ladder" or spot.part != LADDER_MARKED:
        abort(404)
    numbers = [int(n) for n in spot.field.choices if n in ticked]
    ladder_place = spot.place.removesuffix("/" + LADDER_MARKED)
    taken = []

    def take() -> str:
        taken.append(workbook.take_snapshot(ladder_place, numbers))
        return f"{taken[0].outcome}:{taken[0].snapshot.id if taken[0].snapshot else ''}"

    # Pressed twice, or sent again after a lost answer: one snapshot, and what the first was told said again.
    made, result = SentRequest.once(request.form.get("request_key"), take)
    if not made:
        outcome, _, snapshot_id = (result or "").partition(":")
        snapshot = workbook.snapshot(int(snapshot_id)) if snapshot_id.isdigit() else None
        # (None if it was made and has been deleted since: nothing to say of it.)
        taken = [SnapshotTaken(outcome, snapshot)] if snapshot or outcome == SnapshotTaken.EMPTY else []
    if taken:
        flash(*said_of_snapshot(workbook, taken[0]))
    return redirect(f"{back}#{snapshot_anchor(spot.block.id)}")


def _my_snapshot(snapshot_id: int):
    workbook = _workbook_or_login()
    snapshot = workbook.snapshot(snapshot_id)
    if snapshot is None:
        abort(404)
    return workbook, snapshot


@bp.route("/workbook/ladder/<int:snapshot_id>/delete", methods=["GET", "POST"])
@login_required
def delete_snapshot(snapshot_id: int):
    """One snapshot deleted by its owner, after a page that says what goes (that snapshot) and what stays."""
    workbook, snapshot = _my_snapshot(snapshot_id)
    spot = locate(content(), snapshot.place)
    block = spot.block if spot and spot.block.type == "ladder" else None
    # Back to the ladder's page, beside its buttons, where what happened is said; else to the overview, which says
    # it at the top.
    back = safe_next(request.values.get("back"), "")
    beside = bool(block and back)
    anchor = f"#{snapshot_anchor(block.id)}" if beside else ""
    back = back or url_for("workbook.overview")
    when = _moment(workbook, snapshot)
    if request.method == "POST":
        workbook.delete_snapshot(snapshot.id)
        log.info("ladder-snapshot-deleted user=%s", workbook.user.id)
        flash(f"Your snapshot of {when} is deleted. Everything else is as it was.",
              SNAPSHOT_SAID if beside else "message")
        return redirect(back + anchor)
    return _private(Response(render_template("workbook/delete_snapshot.html", snapshot=snapshot, block=block,
                                             when=when, back=back, cancel=back + anchor)))


# ---------------------------------------------------------------------------------------------------
# The owner's overview, print view, downloads and deletion.


def _workbook_or_login() -> Workbook:
    workbook = open_workbook()
    if workbook is None:
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    return workbook


def _document(workbook: Workbook) -> document.WorkbookDoc:
    return document.build(content(), workbook, my_programmes())


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/workbook")
@login_required
def overview():
    workbook = _workbook_or_login()
    if first := card_first_page(workbook):
        return first
    return render_template("workbook/overview.html", doc=_document(workbook),
                           first_group=Group.first_by_programme(current_user),
                           earlier_keys=EarlierKey.select().where(EarlierKey.user == workbook.user.id).count())


@bp.get("/workbook/print")
@login_required
def print_view():
    if request.args.get("blank"):   # for people who prefer paper: every exercise, nothing written in it
        doc = document.build(content(), None, my_programmes()).only(request.args.get("module"))
    else:
        doc = _document(_workbook_or_login()).only(request.args.get("module"))
    return render_template("workbook/print.html", doc=doc)


@bp.get("/workbook/story")
@login_required
def story():
    """The recovery story, read as one piece: the section titles and the owner's words, without the questions."""
    found = document.find_story(_document(_workbook_or_login()), request.args.get("place", ""))
    if found is None:
        abort(404)
    session, block = found
    return render_template("workbook/story.html", session=session, story=block)


@bp.get("/workbook/download.<any(md, json):kind>")
@login_required
def download(kind: str):
    workbook = _workbook_or_login()
    now = utcnow()
    doc = _document(workbook)
    groups = {g.id: g.name for g in Group.for_user(workbook.user)}
    between = [(groups[group_id], record) for group_id, record in FollowUp.by_group_for(workbook.user).items()
               if group_id in groups and not record.is_empty]
    body, mimetype = ((document.as_markdown(doc, now, current_app.config["TIMEZONE"], between), "text/markdown")
                      if kind == "md" else (document.as_json(doc, now, between), "application/json"))
    # Logged with every other download, by logs.py: "downloaded user=… endpoint=workbook.download format=…".
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="my-workbook-{now:%Y-%m-%d}.{kind}"'
    return _private(response)


@bp.route("/workbook/delete", methods=["GET", "POST"])
@login_required
def delete():
    if request.method == "POST":
        delete_workbook(current_user.id)
        log.info("workbook-deleted user=%s", current_user.id)
        flash("Your workbook has been deleted. Your account and groups are as they were.")
        return redirect(url_for("workbook.overview"))
    return render_template("workbook/delete.html")


@bp.route("/workbook/earlier", methods=["GET", "POST"])
@login_required
def earlier():
    """After a reset without the recovery code: the old recovery code brings the earlier workbook back."""
    workbook = _workbook_or_login()
    earlier_keys = list(EarlierKey.select().where(EarlierKey.user == workbook.user.id))
    if not earlier_keys:
        return redirect(url_for("workbook.overview"))
    error = None
    if request.method == "POST":
        code = request.form.get("code", "")
        for earlier_key in earlier_keys:
            try:
                old_key = earlier_key.unlock(code)
            except crypto.CannotOpen:
                continue
            moved = workbook.adopt(earlier_key, old_key)
            # A recovery code from before a reset proves it is the person: the groups that reset held open again.
            opened = PasswordReset.proven(workbook.user, earlier_key.generation)
            log.info("earlier-workbook-restored user=%s groups-opened=%s", workbook.user.id, opened)
            flash(f"Your earlier workbook is back ({moved} answers and snapshots)."
                  + (" Your groups are open to you again." if opened else ""))
            return redirect(url_for("workbook.overview"))
        error = "That code doesn't open an earlier workbook. Please check it and try again."
    return render_template("workbook/earlier.html", error=error)


# ---------------------------------------------------------------------------------------------------
# Sharing by choice: nothing leaves the private workbook without one of these explicit acts.


def share_panel_context(place: str, group_id: int) -> dict:
    return {"place": place, "group_id": group_id,
            "shares": {s.kind: s for s in Share.select().where(Share.user == current_user.id, Share.place == place)}}


@bp.post("/workbook/share")
@login_required
def share():
    workbook = _workbook_or_login()
    place, action = request.form.get("place", ""), request.form.get("action", "")
    spot = _spot_or_problem(place)
    workbook.writable()   # a mark "to discuss" on a workbook nothing may be written in yet: the card first
    group = Group.get_or_none(Group.id == whole_number(request.form.get("group_id")))
    membership = Membership.of(current_user, group) if group else None
    if spot is None or spot.field.kind != "text" or membership is None or group.programme != spot.programme_id:
        abort(404)
    message = None
    if action in ("discuss", "undiscuss"):
        Share.mark(workbook.user.id, place, action == "discuss")
    elif action == "share":
        saved = workbook.get(place)
        if not saved or not saved.value.strip():
            message = "There is nothing written here yet to share."
        else:
            Share.show(workbook.user.id, place, membership, saved.value)
            log.info("answer-shared user=%s group=%s", workbook.user.id, group.id)
    elif action == "unshare":
        Share.withdraw(workbook.user.id, place)
        log.info("answer-unshared user=%s group=%s", workbook.user.id, group.id)
    else:
        abort(400)
    if is_fragment_request():
        return render_template("workbook/_share.html", **share_panel_context(place, group.id), message=message)
    if message:
        flash(message)
    return redirect(f"{safe_next(request.form.get('back'))}#{answer_anchor(place)}-form")


@bp.get("/workbook/to-discuss")
@login_required
def to_discuss():
    """The answers this person marked to take to a conversation with their facilitator."""
    workbook = _workbook_or_login()
    marked = Share.of(workbook.user).where(Share.kind == Share.DISCUSS).order_by(Share.shared_at)
    saved = workbook.all()
    items = []
    for mark in marked:
        spot = resolve(content(), mark.place)
        items.append({"label": spot.field.label if spot else mark.place, "place": mark.place,
                      "where": where_from(content(), mark.place),
                      "session": spot and spot.session_id,
                      "module": spot and spot.module_id, "programme": spot and spot.programme_id,
                      "value": saved[mark.place].value if mark.place in saved else ""})
    return render_template("workbook/to_discuss.html", items=items, first_group=Group.first_by_programme(current_user))
