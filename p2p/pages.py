"""Pages that belong to no one feature: home and the privacy page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from .models import FollowUp, Group

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("pages/welcome.html")
    return render_template("pages/home.html", groups=list(Group.for_user(current_user)),
                           follow_ups=FollowUp.by_group_for(current_user))


@bp.get("/privacy")
def privacy():
    return render_template("pages/privacy.html")


@bp.get("/healthz")
def health():
    """For a host's monitoring (and the benchmarks' bare route): the app answers and its database opens."""
    Group.select().limit(1).count()
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
