"""One stream per screen: live changes pushed to every screen the moment they are committed (server-sent events).

A live page (the board, its projector, a discussion board, a session page with the timer) says what it follows
with its pollers: each carries `data-live-feed` and the address it would poll, with the version it shows and
what else it last showed. static/js/live.js opens one stream for all of them, `/groups/<id>/stream?feed=<poll
address>&feed=…`, and swaps in what the stream sends: htmx's out-of-band pieces, only what changed on that
screen. While the stream is held, the pollers are quiet; when it cannot be held (no EventSource, a proxy that
buffers, the server's budget of streams used up: 204), they poll as they always did.

Each stream waits on its group's doorbell (p2p/live.py) and, when it rings, asks each of its followers (one per
feed; the modules that own the feeds make them, see `follows`) for what changed on its screen: its look, made
in the one thread that makes every stream's looks in turn (`looks`), not in the stream's own. A dropped Wi-Fi
ends the stream; live.js opens a new one with the pollers' addresses as they are then, so the new stream starts
from the version the screen shows: what it missed comes whole, nothing twice.

Budgets (docs/configuration.md): a process holds at most LIVE_STREAMS streams, each a server thread while it is
open; `p2p serve` runs THREADS more threads than that for everything else, so streams never starve ordinary
requests. And ordinary requests run at most THREADS at once (turns.InTurns): the other threads are the streams'.

What the followers of a live list have in common (the board's, a discussion's; below, ListFollower): after a
change, each kind of screen's regions and each item's HTML are made once per version (MadeOnce) and shared, with
stand-ins for what must be each person's own (for_this_person); each screen is then sent only what differs from
what it shows.
"""

from __future__ import annotations

import contextvars
import gc
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, abort, current_app, g, has_app_context, request, session, stream_with_context
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from . import activity, live, memory, permissions
from .db import db
from .models import Group, Login, Membership, User
from .turns import InTurns
from .web import new_request_key

bp = Blueprint("stream", __name__)
log = logging.getLogger(__name__)

# Idle streams must cost next to nothing (150 screens on a Pi). A stream sleeps until its group's bell rings; it
# wakes by itself only to write a comment line (a heartbeat, for proxies and NATs that drop a silent connection)
# every HEARTBEAT_SECONDS, and to look at the database (still a member, still signed in, and the versions as the
# database has them) every CHECK_SECONDS, or at once when live.recheck rings (a sign-out, a removal, a new join
# code). Whether a screen has gone (waitress reads ahead on the connection and says so, channel_request_lookahead)
# is asked for all streams by one thread every WAKE_SECONDS (Departures), which rings the group's bell, so the
# stream ends and frees its thread. Measured on 160 idle streams (docs/benchmarks.md): a heartbeat every 2 s and
# a check every 10 s cost 15-18 % of a core; each stream waking every 2 s to ask whether its screen had gone,
# ~1.5 %.
WAKE_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
CHECK_SECONDS = 60.0
RETRY_MS = 2000           # how soon a browser reconnects by itself
MOST_FEEDS = 4            # a page follows at most the board or a discussion, and the timer
PIECE_BYTES = 8000        # under waitress's STRBUF_LIMIT (8192): what it sends at once and does not keep

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


def looks() -> ThreadPoolExecutor:
    """The one thread that makes every stream's looks, one after another. Python runs one thread at a time
    anyway; made in each stream's own thread, a room's looks after a change took turns for Python's lock, a
    write's answer waited behind them for up to 5 ms at each of its queries, and each of 160 threads kept what
    malloc caches per thread. In one thread the writes' answers came sooner and the server held less
    (docs/benchmarks.md, "Fourteenth session"). The cost: a look is never cut short for another, so a group
    whose looks are slow (a facilitator's board of 300 behaviours) delays every other group's screens by its
    own; a looker for each group, or the groups taking turns, did worse in `make bench`."""
    return current_app.extensions["p2p.looks"]


class Departures:
    """Asks, for every open stream of this process, whether its screen has gone, all in one thread every
    WAKE_SECONDS, and rings the stream's group's bell when it has: the stream wakes, sees it, ends and frees its
    thread. (Each stream asking for itself woke 160 idle threads 80 times a second.)"""

    def __init__(self) -> None:
        self._watched: dict[object, tuple[int, Callable[[], bool]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._comings = 0   # streams watched so far (the count of those gone is in the doorbell's rings)
        self._app = None    # (whose shared pieces go when it is quiet: a process serves one app)
        self._quiet = memory.WhenQuiet(self._quiet_now)   # (this thread also hands memory back after a burst)

    def watch(self, key: object, group_id: int, gone: Callable[[], bool]) -> None:
        with self._lock:
            if has_app_context():   # (a stream's request: always)
                self._app = current_app._get_current_object()
            self._watched[key] = (group_id, gone)
            self._comings += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._ask, name="p2p-stream-departures", daemon=True)
                self._thread.start()

    def forget(self, key: object) -> None:
        with self._lock:
            self._watched.pop(key, None)

    def _ask(self) -> None:
        while True:
            time.sleep(WAKE_SECONDS)
            try:
                with self._lock:
                    left = [(key, group_id) for key, (group_id, gone) in self._watched.items() if gone()]
                    for key, _ in left:
                        del self._watched[key]
                live.doorbell.wake(*{group_id for _, group_id in left})
                self._quiet.note(self._activity(), time.monotonic())
            except Exception:   # never silently gone itself: streams would then hold gone screens' threads
                log.exception("could not ask whether live screens have gone")

    def _activity(self) -> int:
        """A count that moves with each change rung, each screen that comes or goes, and each other request
        answered: a room's pages and polls leave memory behind as its streams do (and fill `shared` again)."""
        turns = self._app.extensions.get("p2p.turns") if self._app is not None else None
        return live.doorbell.rung + self._comings + (turns.answered if turns is not None else 0)

    def _quiet_now(self) -> None:
        """After a burst, once it is quiet: what the screens shared goes (`shared`: a board's snapshot keeps each
        behaviour's HTML as every kind of screen had it, a few MB after a room of 150), and the database
        connections kept for the next burst (each with its page cache and schema: ~3 MB for a SQLite pool's
        dozen), then what is freed goes back to the system. The next request opens a connection again (~1 ms)."""
        if self._app is not None:
            self._app.extensions.pop("p2p.shared", None)
        if db.obj is not None:
            db.close_idle()
        gc.collect()
        memory.hand_back()


departures = Departures()


def shared(name: str) -> dict:
    """What this process's screens share, by `name` (a board's snapshot, a discussion as read): made once for them
    all, and let go once live activity has been quiet for a while (Departures): the next change makes it anew."""
    return current_app.extensions.setdefault("p2p.shared", {}).setdefault(name, {})


def _in_turn(run, *args):
    time.sleep(0)   # a request waiting for Python's lock (a write) has it between two looks, not after 5 ms
    return run(*args)


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
    """One server-sent event. Each line of its data is a `data:` line (the HTML's own newlines: the app's templates
    and typed text hold no carriage return, models.one_line)."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id else "")
    return head + "data: " + data.replace("\n", "\ndata: ") + "\n\n"


@bp.get("/groups/<int:group_id>/stream")
def stream(group_id: int):
    # Signed out, or no longer in the group: nothing to stream (204, which a browser takes quietly), and the
    # page's pollers get what their polls always got (the way to log in again, or "not found").
    group = Group.by_id(group_id) if current_user.is_authenticated else None
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
    gone = request.environ.get("waitress.client_disconnected", lambda: False)   # (gunicorn: a failed write says it)

    def still_allowed():
        nonlocal group, membership
        group = Group.by_id(group.id) or group   # its join code may be new (the projector)
        membership = Membership.of(user, group)
        login = Login.find(login_token, user.id)   # as web.load_user: the sign-in and its version still stand
        if login is None or User.from_login_id(login_id) is None or not permissions.is_member(membership):
            return False
        app_activity.note(login, poll=True)   # seen, as a poll would have been: the page is open
        return True

    def look(check: bool, first: bool) -> bytes | None:
        """What to send the screen now (an update event; None: nothing): each follower's changes since what it
        shows."""
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
        live.announce(g.pop("p2p_live_changes", []))   # a write made for this screen (settling merges)
        if not db.is_closed():
            db.close()
        return _event("update", "".join(sent), ",".join(str(f.version) for f in followers)).encode() if sent else None

    watched = object()   # this stream, to `departures`

    def events():
        nonlocal group, membership
        try:
            rings, checked, check, first = live.doorbell.rings(group.id), time.monotonic(), True, True
            written = checked
            rechecks = live.doorbell.rechecks
            departures.watch(watched, group.id, gone)
            while not gone():
                if check:
                    allowed = still_allowed()
                    db.close()   # (this thread's connection: the look has its own, in its own thread)
                    if not allowed:
                        return   # removed, or signed out: the next poll or stream says so as a page would
                # This request's context (its person, their session, the app) goes with the look.
                update = looks().submit(_in_turn, contextvars.copy_context().run, look, check, first).result()
                if first:   # hello once the first look has noted what the screen shows: it follows from there
                    yield f"retry: {RETRY_MS}\n" + _event("hello")
                    first = False
                if update:
                    # In pieces: waitress sends each at once and keeps none under 8 KB, but keeps a bigger one in
                    # the connection's buffer until the next (so does werkzeug), and a stream waits long between
                    # updates. A whole board is ~200 KB: 160 screens held some 100 MB they had already sent.
                    for start in range(0, len(update), PIECE_BYTES):
                        yield update[start:start + PIECE_BYTES]
                    update = None
                    written = time.monotonic()
                wake_at = min(written + HEARTBEAT_SECONDS, checked + CHECK_SECONDS)
                new_rings = live.doorbell.wait(group.id, rings, max(0.0, wake_at - time.monotonic()))
                now = time.monotonic()
                if new_rings == rings and now - written >= HEARTBEAT_SECONDS:
                    yield ": \n\n"   # a screen that has gone makes this write fail, and the stream end
                    written = now
                rings = new_rings
                check = now - checked >= CHECK_SECONDS or rechecks != live.doorbell.rechecks
                if check:
                    checked, rechecks = now, live.doorbell.rechecks
        finally:
            departures.forget(watched)
            budget().give_back()
            if not db.is_closed():
                db.close()

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"   # proxies that honour it (nginx) pass each event on at once
    return response


# ---------------------------------------------------------------------------------------------------
# What the followers of a live list share: HTML made once per version and kind of screen, each screen's own form
# token and keys put in as it is sent, and only what differs from what a screen shows sent to it.

# Fragments are shared between people, so they are rendered with this stand-in for the form token, and each
# answer puts its own person's token in place of it (for_this_person). Random: nobody can type it into their words.
CSRF_STAND_IN = f"csrf-{secrets.token_hex(16)}"
# Likewise a form that makes something (a merge) carries a key of its own on each screen (SentRequest): two
# facilitators merging at once must not share one, or the second merge would be taken for the first sent again.
REQUEST_KEY_STAND_IN = f"key-{secrets.token_hex(16)}"


def shared_html(template: str, **context) -> Markup:
    """HTML that every screen of a kind shares at one version (a live list's item, region or outline): rendered
    with stand-ins for the form token and request keys, which for_this_person makes each screen's own as it is
    sent. (Autoescaped as every template is: typed text in it is escaped.)"""
    return Markup(current_app.jinja_env.get_template(template).render(
        **{**context, "csrf_token": lambda: CSRF_STAND_IN, "request_key_stand_in": REQUEST_KEY_STAND_IN}))


def for_this_person(html: str, csrf_token: str | None = None) -> str:
    """Shared HTML made this person's: their form token, and a fresh key in each form that makes something."""
    html = html.replace(CSRF_STAND_IN, csrf_token or generate_csrf())
    return re.sub(REQUEST_KEY_STAND_IN, lambda _: new_request_key(), html) if REQUEST_KEY_STAND_IN in html else html


class MadeOnce:
    """What a live list's screens share at one version (kept with its snapshot, and gone with it): each piece made
    once, however many screens ask for it at once (after a change, a room's streams all do)."""

    def __init__(self) -> None:
        self._made: dict = {}
        self._making = threading.RLock()

    def __call__(self, key, make):
        """What `make()` makes for `key` at this version."""
        found = self._made.get(key)
        if found is None:
            with self._making:
                found = self._made.get(key)
                if found is None:
                    found = self._made[key] = make()
        return found


PLACEHOLDER = "\x00"   # around an item's id in a list's outline: no typed text can hold it (models.one_line)


def placeholder(item_id: int) -> str:
    """An item's place in its list's outline (what ListFollower.changes is given)."""
    return f"{PLACEHOLDER}{item_id}{PLACEHOLDER}"


class ListFollower:
    """A follower whose screen shows live regions and a list of items (each an `<li>` with an id): what its
    stream sent it, or its page had, so that each change sends it only what differs. A subclass works out, at
    each change, the regions' HTML, the list's outline (its HTML with a placeholder for each item), its lists
    and their items, and asks `changes` what to send."""

    announcement = ""   # the id of the region whose words are news each time they are said (a screen reader's)

    def __init__(self) -> None:
        self.sent: dict[str, str] | None = None   # region id -> its HTML on the screen; None: not known yet
        self.items: dict[int, str] = {}            # each item on it -> its HTML
        self.outline = ""                          # the list with a placeholder for each item
        self.lists: dict[str, list[int]] = {}      # each list (ul, ol) in it -> its items' ids, in order

    def changes(self, regions: list[tuple[str, str]], lists: dict[str, list[int]], outline: str, items: dict,
                up_to_date: bool) -> list[str]:
        """What to send for the screen to show these, and noted as what it shows. The first time, a screen whose
        page is `up_to_date` (it shows the version these are of) is sent nothing; one that is not, the list
        whole."""
        if self.sent is None and up_to_date:
            changed = []   # its page shows this version: only noted, nothing to send
            self.items = dict(items)
        else:
            # (the same words said again are sent again: they are news again)
            changed = [html for key, html in regions if (self.sent or {}).get(key) != html
                       or (key == self.announcement and has_words(html))]
            changed += self._list_changes(lists, outline, items, whole=self.sent is None)
        self.sent = dict(regions)
        self.lists, self.outline = lists, outline
        return changed

    def _list_changes(self, lists, outline: str, items: dict, whole: bool) -> list[str]:
        """The list as little as it takes: the items that changed, each in its place (out of band), and new ones
        added at the end of their list; the whole list when its outline changed any other way."""
        new = [item_id for item_id in items if item_id not in self.items]
        added = (not whole and outline != self.outline and lists.keys() == self.lists.keys()
                 and all(ids[:len(self.lists[key])] == self.lists[key] for key, ids in lists.items())
                 and _without(outline, new) == self.outline)
        before, self.items = self.items, dict(items)
        if whole or (outline != self.outline and not added):
            parts = outline.split(PLACEHOLDER)
            return ["".join(items[int(part)] if index % 2 else part for index, part in enumerate(parts))]
        changes = [_out_of_band(html) for item_id, html in items.items() if item_id in before and before[item_id] != html]
        for key, ids in lists.items():
            extra = ids[len(self.lists[key]):]
            if extra:
                changes.append(f'<ul data-hx-swap-oob="beforeend:#{key}">{"".join(items[i] for i in extra)}</ul>')
        return changes


def has_words(announcement: str) -> bool:
    """Whether an announcement (a `<p>` whose words are swapped in) has words to say (an empty one need not be
    sent)."""
    return not announcement.rstrip().endswith("></p>")


def _without(outline: str, ids) -> str:
    for item_id in ids:
        outline = outline.replace(placeholder(item_id), "", 1)
    return outline


def _out_of_band(item: str) -> str:
    """An item's HTML that replaces its own element, wherever it is on the screen."""
    return str(item).replace("<li ", '<li data-hx-swap-oob="true" ', 1)


def init_app(app) -> None:
    app.extensions["p2p.streams"] = Budget(app.config["LIVE_STREAMS"])
    app.extensions["p2p.looks"] = ThreadPoolExecutor(1, thread_name_prefix="p2p-looks")
    app.register_blueprint(bp)
    app.wsgi_app = app.extensions["p2p.turns"] = InTurns(app.wsgi_app, app.config["THREADS"])
