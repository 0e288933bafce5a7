"""One stream per screen: live changes pushed to every screen the moment they are committed (server-sent events).

A live page (the board, its projector, a discussion board, a session page with the timer) says what it follows
with its pollers: each carries `data-live-feed` and the address it would poll, with the version it shows and
what else it last showed. static/js/live.js opens one stream for all of them, `/groups/<id>/stream?feed=<poll
address>&feed=…`, and swaps in what the stream sends: htmx's out-of-band pieces, only what changed on that
screen. While the stream is held, the pollers are quiet; when it cannot be held (no EventSource, a proxy that
buffers, the server's budget of streams used up: 204), they poll as they always did.

Each stream waits on its group's doorbell (p2p/live.py) and, when it rings, asks each of its followers (one per
feed; the modules that own the feeds make them, see `follows`) for what changed on its screen. A dropped Wi-Fi
ends the stream; live.js opens a new one with the pollers' addresses as they are then, so the new stream starts
from the version the screen shows: what it missed comes whole, nothing twice.

Budgets (docs/configuration.md): a process holds at most LIVE_STREAMS streams, each a server thread while it is
open; `p2p serve` runs THREADS more threads than that for everything else, so streams never starve ordinary
requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, abort, current_app, g, request, session, stream_with_context
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from . import activity, live, permissions
from .db import db
from .models import Group, Login, Membership, User

bp = Blueprint("stream", __name__)

# Idle streams must cost next to nothing (150 screens on a Pi): each wakes every WAKE_SECONDS to see whether its
# screen has gone (waitress reads ahead on the connection and says so, channel_request_lookahead) and frees its
# thread; it writes a comment line (a heartbeat, for proxies and NATs that drop a silent connection) only every
# HEARTBEAT_SECONDS; and it looks at the database (still a member, still signed in, and the versions as the
# database has them) every CHECK_SECONDS, or at once when live.recheck rings (a sign-out, a removal, a new join
# code). Measured on 160 idle streams (docs/benchmarks.md): a heartbeat every 2 s and a check every 10 s cost
# 15-18 % of a core.
WAKE_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
CHECK_SECONDS = 60.0
RETRY_MS = 2000           # how soon a browser reconnects by itself
MOST_FEEDS = 4            # a page follows at most the board or a discussion, and the timer

# endpoint of a poll -> what makes a follower of it: (group, membership, the poll's view args, its query) -> a
# follower, with `topic` (live.Topic), `version` (what its screen shows), `version_now(group)` (the database's)
# and `update(group, membership, version) -> HTML or None` (what to send; None: nothing, as when the screen
# shows that version already). It may abort (404) as its poll would.
FOLLOWERS: dict[str, Callable] = {}


def follows(endpoint: str):
    """Registers what follows the live region polled at `endpoint` (board.py, sessions.py)."""
    def register(make: Callable) -> Callable:
        FOLLOWERS[endpoint] = make
        return make
    return register


class Budget:
    """How many streams this process holds at once, at most."""

    def __init__(self, most: int) -> None:
        self.most, self.open = most, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.most:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


def budget() -> Budget:
    return current_app.extensions["p2p.streams"]


def _followers(group, membership) -> list:
    adapter = current_app.url_map.bind("", url_scheme=request.scheme)
    found = []
    for address in request.args.getlist("feed")[:MOST_FEEDS]:
        parts = urlsplit(address)
        try:
            endpoint, view_args = adapter.match(parts.path, method="GET")
        except HTTPException:
            abort(400)
        make = FOLLOWERS.get(endpoint)
        if make is None or view_args.get("group_id") != group.id:
            abort(400)
        found.append(make(group, membership, view_args, MultiDict(parse_qsl(parts.query))))
    if not found:
        abort(400)
    return found


def _event(name: str, data: str = "", event_id: str | None = None) -> str:
    lines = [f"event: {name}"] + ([f"id: {event_id}"] if event_id else [])
    lines += [f"data: {line}" for line in (data.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


@bp.get("/groups/<int:group_id>/stream")
def stream(group_id: int):
    # Signed out, or no longer in the group: nothing to stream (204, which a browser takes quietly), and the
    # page's pollers get what their polls always got (the way to log in again, or "not found").
    group = Group.get_or_none(Group.id == group_id) if current_user.is_authenticated else None
    membership = Membership.of(current_user, group) if group else None
    if not permissions.is_member(membership):
        return "", 204
    followers = _followers(group, membership)
    if not budget().take():
        return "", 204   # the screen polls instead
    live.listen(current_app._get_current_object())
    db.close()   # no connection held while waiting: each look opens one (from the pool, on PostgreSQL)
    user, login_token, login_id = current_user._get_current_object(), session.get("login"), session.get("_user_id")
    app_activity = activity.of(current_app)
    gone = request.environ.get("waitress.client_disconnected", lambda: False)

    def still_allowed():
        nonlocal group, membership
        group = Group.get_or_none(Group.id == group.id) or group   # its join code may be new (the projector)
        membership = Membership.of(user, group)
        login = Login.find(login_token, user.id)   # as web.load_user: the sign-in and its version still stand
        if login is None or User.from_login_id(login_id) is None or not permissions.is_member(membership):
            return False
        app_activity.note(login, poll=True)   # seen, as a poll would have been: the page is open
        return True

    def events():
        nonlocal group, membership
        try:
            yield f"retry: {RETRY_MS}\n" + _event("hello")
            rings, checked, check, first = live.doorbell.rings(group.id), time.monotonic(), True, True
            written = checked
            rechecks = live.doorbell.rechecks
            while not gone():
                if check and not still_allowed():
                    return   # removed, or signed out: the next poll or stream says so as a page would
                sent = []
                for follower in followers:
                    known = None if check else live.doorbell.version(follower.topic)
                    if known is None:
                        known = follower.version_now(group)
                        live.doorbell.heard(follower.topic, known)
                    if known != follower.version or first:   # the first look notes what the screen shows
                        html = follower.update(group, membership, known)
                        if html:
                            sent.append(html)
                first = False
                live.announce(g.pop("p2p_live_changes", []))   # a write made for this screen (settling merges)
                if not db.is_closed():
                    db.close()
                if sent:
                    yield _event("update", "".join(sent), ",".join(str(f.version) for f in followers))
                    written = time.monotonic()
                new_rings = live.doorbell.wait(group.id, rings, WAKE_SECONDS)
                now = time.monotonic()
                if new_rings == rings and now - written >= HEARTBEAT_SECONDS:
                    yield ": \n\n"   # a screen that has gone makes this write fail, and the stream end
                    written = now
                rings = new_rings
                check = now - checked >= CHECK_SECONDS or rechecks != live.doorbell.rechecks
                if check:
                    checked, rechecks = now, live.doorbell.rechecks
        finally:
            budget().give_back()
            if not db.is_closed():
                db.close()

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"   # proxies that honour it (nginx) pass each event on at once
    return response


def init_app(app) -> None:
    app.extensions["p2p.streams"] = Budget(app.config["LIVE_STREAMS"])
    app.register_blueprint(bp)
