"""Pages that belong to no one feature: home, privacy, and support."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from .backup import backup_suffix, newest_made_before
from .config import support_path
from .content import render_markdown
from .models import FollowUp, Group
from .models.schema import UPGRADES, step_name
from .web import log

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("pages/welcome.html")
    return render_template("pages/home.html", groups=list(Group.for_user(current_user)),
                           follow_ups=FollowUp.by_group_for(current_user))


@bp.get("/privacy")
def privacy():
    return render_template("pages/privacy.html", idle_minutes=current_app.config["IDLE_MINUTES"],
                           old_backups_name_authors_made=old_backups_name_authors_made())


def old_backups_name_authors_made():
    """Backups made before the upgrade to pseudonyms (its schema step) still say who wrote each anonymous proposal
    and thought and who objected privately, then: when the newest of them was made, if any is still kept."""
    step = [step_name(step) for step in UPGRADES].index("pseudonyms") + 1
    return newest_made_before(Path(current_app.instance_path) / "backups", backup_suffix(current_app.config), step)


SUPPORT_FILE_MAX = 100_000   # characters: a page of helplines, not a book


def host_support_text() -> tuple[str, str]:
    """The host's support text and where it came from ("file", "config", or "" for none). Read on every request,
    so an edited instance/support.md shows at once; an unreadable file falls back, with a line in the log."""
    path = support_path(current_app.config, Path(current_app.instance_path))
    try:
        text = path.read_text(encoding="utf-8")[:SUPPORT_FILE_MAX]
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as error:
        log.warning("support-file-unreadable error=%s", type(error).__name__)
        text = ""
    if text.strip():
        return text, "file"
    text = current_app.config.get("SUPPORT_TEXT") or ""
    return (text, "config") if text.strip() else ("", "")


@bp.get("/support")
def support():
    """Helplines and who to talk to, as the host wrote them (Markdown, raw HTML off), or a calm default."""
    text, source = host_support_text()
    return render_template("pages/support.html", support=render_markdown(text) if text else None, source=source,
                           support_file=current_app.config["SUPPORT_FILE"])


@bp.get("/healthz")
def health():
    """For a host's monitoring (and the benchmarks' bare route): the app answers and its database opens."""
    Group.select().limit(1).count()
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
