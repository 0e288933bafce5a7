"""What every request and response shares: login, CSRF, htmx, security headers, calm error pages."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone
from ipaddress import ip_address
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, Response, current_app, flash, g, has_request_context, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_htmx import HTMX
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from . import activity
from .answers import answer_anchor
from .backup import KEEP_APART_DAYS
from .db import WritesBusy
from .logs import log  # noqa: F401 - the one logger of the app (configured in logs.py), imported from here by features
from .models import Group, Login, User, utcnow
from .netinfo import lan_addresses

htmx = HTMX()
csrf = CSRFProtect()
login_manager = LoginManager()

# No inline script or style anywhere: htmx is configured from a <meta> tag and its own indicator
# styles are turned off (includeIndicatorStyles: false), so the policy needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def content():
    """The programme library loaded at start-up (see content.py)."""
    return current_app.extensions["p2p.content"]


def is_fragment_request() -> bool:
    """True when htmx asks for a fragment. A history restore wants the whole page, so it is not one."""
    return bool(htmx) and not htmx.history_restore_request


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: `next=` must never send someone to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def new_request_key() -> str:
    """A fresh key for a form that makes something (see models.SentRequest)."""
    return secrets.token_urlsafe(16)


def page_to_return_to() -> str:
    """Where to go back to after logging in again: the page the person was on. A live page's poll, or a form it
    sent, has its own address (a fragment, a POST-only route): logging in would land there, on an empty answer
    or a 405. htmx names the page in HX-Current-URL; a plain form may say where it was sent from (`back`)."""
    if request.method == "GET" and not htmx:
        return safe_next(request.full_path.rstrip("?"))
    page = urlsplit(request.headers.get("HX-Current-URL", ""))
    if page.path and (not page.netloc or page.netloc == request.host):
        return safe_next(page.path + (f"?{page.query}" if page.query else ""))
    return safe_next(request.form.get("back"))


def backup_policy(config) -> dict:
    """What the server's own backups keep, as the privacy page and the delete pages say it."""
    daily = bool(config["BACKUP_EVERY_HOURS"])
    daily_days = -(-config["BACKUP_KEEP"] * config["BACKUP_EVERY_HOURS"] // 24) if daily else 0
    return {"daily": daily, "keep": config["BACKUP_KEEP"], "apart_days": KEEP_APART_DAYS,
            "longest_days": max(daily_days, KEEP_APART_DAYS)}


# Row ids fit PostgreSQL's integer (and SQLite's, far beyond): a larger number in an address is no row of ours.
ID_MAX = 2**31 - 1


def seen_already(version: int) -> bool:
    """A live page's poll that shows this version already (its `v`): the answer is 204, nothing to send (models.Live)."""
    return request.args.get("v", type=int) == version


class RowId(IntegerConverter):
    """`<int:…>` in routes: a number too large to be an id answers 404, as any id that is not ours does (it made
    the database driver fail with a 500); so does one in other digits than 0–9 ("١" is one to Python: one address
    per row)."""

    regex = r"[0-9]+"

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, **{"max": ID_MAX, **kwargs})


def whole_number(value: str | None) -> int | None:
    """A number sent in a form (an id, a revision): plain ASCII digits that fit the database's integer, or None
    (then: nothing found). int() takes "²" and "١٢" too, or fails on them; a column cannot hold 2^63."""
    return int(value) if value and value.isascii() and value.isdigit() and int(value) <= ID_MAX else None


def local_time(moment: datetime, zone: str) -> datetime:
    """Times are stored in UTC; people read them in the host's time zone (TIMEZONE, default Europe/London)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    return moment.replace(tzinfo=timezone.utc).astimezone(tz)


def local_today(zone: str) -> date:
    """Today's date where the group meets (TIMEZONE), not in UTC: at 00:30 in London it is already tomorrow."""
    return local_time(datetime.now(timezone.utc).replace(tzinfo=None), zone).date()


def wants_json() -> bool:
    """Callers of the autosave API (static/js/autosave.js) ask for JSON: they get status codes, not pages."""
    return request.accept_mimetypes.best == "application/json"


def redirect_to(location: str) -> Response:
    """A redirect that also works for htmx callers, which would otherwise swap the next page into a fragment."""
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)


# Live pages' polls (every 1.5-2 s while a board, a discussion or a session page with the timer is open). They are
# not use: a board, or a session page with someone's answers, left open on a tablet must not keep its person
# signed in for ever. But they are not the end of a sign-in either while the page is open: the board a room is
# watching (not private) stays live, and whatever the person does next (a tap, a save, another page) after
# IDLE_MINUTES without use asks them to log in again.
POLLS = {"board.live", "sessions.timer_live", "sessions.discussion_live", "stream.stream"}

SIGNED_OUT_IDLE = ("You were logged out after a while without using the app, so that nobody else could open your "
                   "pages. Please log in again.")


def idle_time() -> timedelta:
    return timedelta(minutes=current_app.config["IDLE_MINUTES"])


def current_login() -> Login | None:
    """This request's sign-in (models.Login), once the signed-in person is loaded; None otherwise."""
    return g.get("login") if current_user.is_authenticated else None


def load_user(login_id: str) -> User | None:
    """The signed-in person, if the cookie names their current sign-in version and a sign-in of theirs that has
    not ended: not logged out, no password changed, and used within IDLE_MINUTES (see POLLS)."""
    user = User.from_login_id(login_id)
    login = Login.find(session.get("login"), user.id) if user else None
    poll = request.endpoint in POLLS
    if login is None:
        # A stale cookie: nothing of it is kept. Not by a poll, whose answer may come back after the logout that
        # made it stale, on the same page: clearing it there took the logout's own cookie, and its message.
        if not poll:
            session.clear()
        return None
    activities, now = activity.of(current_app), utcnow()
    # A poll asks whether the page was still open (seen, in the database); anything else whether the person did
    # something in that time (active: the minute of their last such request, in their own signed cookie).
    last = activities.seen(login) if poll else _last_active(login)
    if last < now - idle_time():
        login.delete_instance()
        activities.forget(login.id)
        session.clear()
        flash(SIGNED_OUT_IDLE)
        log.info("sign-in-ended user=%s reason=idle", user.id)
        return None
    activities.note(login, poll)
    if not poll and session.get("active") != (this_minute := activity.minute_number(now)):
        session["active"] = this_minute
    g.login = login
    return user


def _last_active(login: Login) -> datetime:
    """When this sign-in's person last did something, from their cookie (one from before it said so: last seen)."""
    active = session.get("active")
    if isinstance(active, int) and not isinstance(active, bool):
        return activity.from_minute_number(active)
    return activity.of(current_app).seen(login)


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (directly, or through a configured proxy),
    so a VPS behind Caddy needs no extra setting; on a LAN over plain HTTP it could not be sent back if it were."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowId
    app.session_interface = SessionCookies()
    # The cookie is sent again only when the session changes (a sign-in keeps it fresh: load_user notes each minute
    # its person is active). Sent with every answer, a poll's or a stream's that came back after a logout or a
    # change on the same page put the cookie from before it back, and "You have logged out" or a status line went
    # with it; each answer also carried ~300 bytes more over the room's Wi-Fi.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    htmx.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    # The cookie holds "id:sign_in_version" and its sign-in's token; a bumped version (logout, password change,
    # removal) makes every older cookie stale at once, and an ended sign-in (models.Login) takes its secret along.
    login_manager.user_loader(load_user)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if wants_json():
            return {"login": url_for("auth.login")}, 401  # the page adds next=, it knows where it is
        return redirect_to(url_for("auth.login", next=page_to_return_to()))

    app.jinja_env.globals.update(zip=zip, new_request_key=new_request_key, answer_anchor=answer_anchor)
    app.jinja_env.filters["local"] = lambda moment: local_time(moment, app.config["TIMEZONE"])

    @app.context_processor
    def _globals():
        return {"programmes": content(), "backups": backup_policy(app.config)}

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        # One URL answers a whole page or an htmx fragment: caches must keep them apart.
        response.vary.add("HX-Request")
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            # Signed-in pages are personal: never kept by a shared tablet's browser cache (a route that says
            # otherwise says so for what is not: the projector's QR code, groups.invite_qr).
            headers.setdefault("Cache-Control", "no-store")
        return response

    def calm_error(status: int, title: str, message: str):
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        # The endpoint, not the path: a path can hold a join code or a one-time token.
        log.info("csrf-rejected user=%s endpoint=%s", current_user.id if current_user.is_authenticated else "-",
                 request.endpoint)
        if wants_json():  # autosave after the session ended: the page keeps the text and asks to log in
            return {"login": url_for("auth.login")}, 401
        if request.endpoint == "auth.logout" and not current_user.is_authenticated:
            return redirect(url_for("pages.home"))  # already logged out (the session had ended): nothing to do
        if htmx and not current_user.is_authenticated:
            # A tap on a live page after the session ended (its token went with it): to the login page, and back.
            return redirect_to(url_for("auth.login", next=page_to_return_to()))
        return calm_error(400, "That form had gone stale",
                          "This page was open a long time or you signed in elsewhere in between. "
                          "Go back, reload the page, and send it again.")

    @app.errorhandler(400)
    def _bad_request(error):
        return calm_error(400, "Something in that request was not right",
                          "Please go back and try again.")

    @app.errorhandler(404)
    def _not_found(error):
        return calm_error(404, "This page isn't here",
                          "It may have moved, or it belongs to a group you are not in.")

    @app.errorhandler(405)
    def _method_not_allowed(error):
        return calm_error(405, "That didn't work from here", "Please go back and use the buttons on the page.")

    @app.errorhandler(413)
    def _too_large(error):
        if wants_json():
            return {"problem": "This is too long to save in one go. Your text is still here; please shorten it."}, 413
        return calm_error(413, "That was more than the app can take in one go",
                          "Please go back and send a shorter text.")

    @app.errorhandler(WritesBusy)
    def _busy(error):
        log.warning("writes-busy endpoint=%s", request.endpoint)   # (overloaded: worth a host's look)
        if wants_json():  # autosave: the page says "Not saved — retrying", keeps the text and sends it again
            return {"problem": "Not saved — retrying"}, 503
        return calm_error(503, "Many people are sending things at once",
                          "What you sent did not get through, and nothing was changed. "
                          "Please go back and send it again in a moment.")

    @app.errorhandler(500)
    def _server_error(error):
        if wants_json():  # autosave: the page says "Not saved — retrying" and keeps the text
            return {"problem": "Not saved — retrying"}, 500
        return calm_error(500, "Something went wrong on our side",
                          "Nothing you did caused this. Please try again in a moment.")


def join_url(group: Group) -> str:
    """The address people in the room can open. On the host itself "localhost" means nothing to a phone,
    so use the machine's LAN address instead."""
    base = request.host_url.rstrip("/")
    host = urlsplit(base).hostname or ""
    try:
        local = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        local = False
    # Only when the server listens on every interface: one bound to 127.0.0.1 is not reachable from the LAN.
    if local and current_app.config["HOST"] in ("0.0.0.0", "::", ""):
        addresses = lan_addresses()
        if addresses:
            port = urlsplit(base).port
            base = f"{urlsplit(base).scheme}://{addresses[0]}" + (f":{port}" if port else "")
    return base + url_for("groups.join_with_code", code=group.join_code)
