"""Between sessions (Preparing for P2P): per participant, the facilitator records the date agreed to finish the
reflection, and that the follow-up conversation took place, with its date and the next step agreed.

Never workbook content: a date, who talked, and a short plain-text note the participant sees word for word, on
their home page and the group page. The log says that something was recorded, with ids only, never the note.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import permissions
from .access import managed_member_or_404
from .db import db
from .models import FACILITATOR, FollowUp, User
from .web import local_today, log

bp = Blueprint("follow_up", __name__)

# A date further away than this is almost always a slip of the year (2062 for 2026).
FAR = timedelta(days=366)
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y")


def parse_date(raw: str) -> date | None:
    """The browser's date picker sends 2026-03-03; someone typing by hand may write 3/3/2026 or 3 March 2026."""
    raw = " ".join(raw.split())
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(raw)


def clean_note(raw: str) -> str:
    """Plain text as typed: line breaks kept (as \\n), control characters (NUL…) dropped, ends trimmed. Joiners
    and other format characters stay: an emoji or a name in another script must come back as it was written."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")).strip()


def read_form(record: FollowUp | None, facilitators: list[User], today: date) -> tuple[dict, dict, dict]:
    """The allow-listed fields: (what to store, what was typed, what is wrong). A date left as it was stored is
    kept as it is, however long ago: editing the note of an old record must not trip over its old date."""
    form = request.form
    typed = {name: form.get(name, "") for name in ("finish_by", "talked_on", "talked_with", "next_step")}
    values, errors = {}, {}
    for name, latest in (("finish_by", today + FAR), ("talked_on", today)):
        raw = typed[name].strip()
        if not raw:
            values[name] = None
            continue
        try:
            day = parse_date(raw)
        except ValueError:
            errors[name] = "Please give the date as day, month and year, for example 3/3/2026, or leave it empty."
            continue
        values[name] = day
        if record is not None and getattr(record, name) == day:
            continue
        if day < today - FAR:
            errors[name] = "That date is more than a year ago. Please check the year."
        elif day > latest:
            errors[name] = ("That date is still to come. You can record the conversation once it has taken place."
                            if name == "talked_on" else "That date is more than a year away. Please check the year.")
    note = clean_note(typed["next_step"])
    values["next_step"] = note or None
    if len(note) > FollowUp.NOTE_MAX:
        errors["next_step"] = (f"Please keep the next step to {FollowUp.NOTE_MAX} characters or fewer "
                               f"(it has {len(note)} now). Your words are still here to shorten.")
    chosen = {str(user.id): user for user in facilitators}.get(typed["talked_with"])
    if values.get("talked_on") is None and "talked_on" not in errors:
        values["talked_with"] = None
        if note:
            errors["talked_on"] = "Please add the date of the conversation, so the next step has its day."
    elif chosen is None and "talked_on" not in errors:
        errors["talked_with"] = "Please choose who talked with them."
    else:
        values["talked_with"] = chosen.id if chosen else None
    return values, typed, errors


def _changed(record: FollowUp | None, values: dict) -> bool:
    if record is None:
        return any(value is not None for value in values.values())
    return any(getattr(record, name if name != "talked_with" else "talked_with_id") != value
               for name, value in values.items())


@bp.route("/groups/<int:group_id>/members/<int:user_id>/between-sessions", methods=["GET", "POST"])
@login_required
def edit(group_id: int, user_id: int):
    group, _, target = managed_member_or_404(group_id, user_id, permissions.can_record_follow_up)
    record = FollowUp.of(target)
    facilitators = [m.user for m in group.memberships(FACILITATOR)]
    if record and record.talked_with and record.talked_with.id not in {user.id for user in facilitators}:
        facilitators.append(record.talked_with)   # a co-facilitator who has since left the group stays choosable
    errors: dict = {}
    if request.method == "POST":
        values, typed, errors = read_form(record, facilitators, local_today(current_app.config["TIMEZONE"]))
        if not errors:
            if _changed(record, values):
                with db.atomic():
                    FollowUp.record(target, current_user.id, **values)
                log.info("follow-up-recorded group=%s membership=%s by=%s", group.id, target.id, current_user.id)
                flash(f"Saved. {target.user.name} sees this on their home page and the group page.")
            else:
                flash("Nothing had changed, so there was nothing to save.")
            return redirect(url_for("follow_up.edit", group_id=group.id, user_id=target.user_id))
    else:
        typed = {
            "finish_by": record.finish_by.isoformat() if record and record.finish_by else "",
            "talked_on": record.talked_on.isoformat() if record and record.talked_on else "",
            "talked_with": str(record.talked_with_id if record and record.talked_with_id else current_user.id),
            "next_step": record.next_step or "" if record else "",
        }
    # A date picker cannot hold "31/02/2026": what someone typed by hand comes back in a text box, as typed.
    kinds = {name: "date" if _is_iso(typed[name]) or not typed[name] else "text" for name in ("finish_by", "talked_on")}
    return render_template("follow_up/edit.html", group=group, target=target, record=record, typed=typed,
                           errors=errors, facilitators=facilitators, note_max=FollowUp.NOTE_MAX, kinds=kinds)


def _is_iso(raw: str) -> bool:
    try:
        date.fromisoformat(raw.strip())
    except ValueError:
        return False
    return True
