"""What people do, kept so that it cannot say who did what: when each sign-in was last used, for the idle time-out
(IDLE_MINUTES), and how much each person proposed or added lately, for the boards' rate limits (`paced`).

A sign-in's row written by the request that used it sat in the commit right before whatever the request made: the
database's history (its -wal) then said whose an anonymous proposal or a private objection was. Then the row was
written once a minute, but only for those who had done something that minute (not just watched): the next minute's
write still named the one person who had. So the database keeps only when each sign-in was last *seen*, any request
counting, a live page's polls too: every minute, one transaction, from a thread of its own, writes the minute of that
write for every sign-in due, in order of their ids. Everyone with a live page open is seen, and due, every minute,
whatever they do. Someone on no live page (their workbook) who taps Propose was seen in that minute only: their
write waits at least a minute, then a random while (up to SPREAD): the write right after what they made does not
come because of it, and the one that comes says no more than that they were about in the last few minutes.

When someone last *did* something (any request but a poll), which the idle time-out asks, travels in their own
signed session cookie (web.load_user): it says nothing about anyone in the database, and every worker process reads
the same one."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone

from flask import Flask

from .db import WritesBusy, db
from .logs import log
from .models import Login, utcnow

FLUSH_SECONDS = 60
SPREAD = timedelta(minutes=5)   # how long a sign-in seen by anything but a live page's poll may wait to be written
LONGEST_WAIT = timedelta(seconds=FLUSH_SECONDS) + SPREAD


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def minute_number(moment: datetime) -> int:
    """A (naive, UTC) time's minute, counted from 1970: what a session cookie carries as the last active minute."""
    return int(moment.replace(tzinfo=timezone.utc).timestamp()) // 60


def from_minute_number(number: int) -> datetime:
    return datetime.fromtimestamp(number * 60, timezone.utc).replace(tzinfo=None)


class Activity:
    """One app's notes, by sign-in id: the minute each was last seen here, and when it is due to be written."""

    def __init__(self, idle: timedelta) -> None:
        self._idle = idle
        self._seen: dict[int, datetime] = {}
        self._due: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self._flusher_pid: int | None = None
        self._done: dict[tuple[str, int], deque] = {}

    def paced(self, what: str, user_id: int, limit: int, window: int) -> bool:
        """Whether this person may do `what` (propose, add a thought) once more, at most `limit` in `window`
        seconds; if so, it is counted. In this process's memory only, never in the database: a counter row there,
        updated with each of someone's proposals, tied their anonymous ones together and to their named ones.
        (Several worker processes each keep their own count: a limit against floods, not a promise.)"""
        now = time.monotonic()
        with self._lock:
            done = self._done.setdefault((what, user_id), deque())
            while done and done[0] <= now - window:
                done.popleft()
            if len(done) >= limit:
                return False
            done.append(now)
            return True

    def note(self, login: Login, poll: bool) -> None:
        now = utcnow()
        with self._lock:
            self._seen[login.id] = minute(now)
            due = now if poll else now + timedelta(seconds=FLUSH_SECONDS) + SPREAD * random.random()
            self._due[login.id] = min(due, self._due.get(login.id, due))

    def seen(self, login: Login) -> datetime:
        """The later of the row's and what this process noted."""
        with self._lock:
            noted = self._seen.get(login.id)
        return max(login.seen_at, noted or login.seen_at)

    def forget(self, login_id: int) -> None:
        with self._lock:
            self._seen.pop(login_id, None)
            self._due.pop(login_id, None)

    def flush(self, until: datetime | None = None) -> int:
        """Write the sign-ins due (by `until`, or now), all as seen this minute, in one transaction; return how many.
        Only ever moves a time forward (a second process may have written a later one). Sign-ins not seen for the
        idle time go, with their secrets."""
        now = utcnow()
        with self._lock:
            due = sorted(login_id for login_id, at in self._due.items() if at <= (until or now))
            for login_id in due:
                del self._due[login_id]
            stale = [login_id for login_id, seen in self._seen.items() if seen < now - self._idle]
            for login_id in stale:   # the row says as much by now: nothing of it need stay in memory
                del self._seen[login_id]
        try:
            with db.atomic():
                for login_id in due:
                    Login.update(seen_at=minute(now)).where(Login.id == login_id, Login.seen_at < minute(now)).execute()
                Login.delete().where(Login.seen_at < now - self._idle).execute()
        except Exception:
            with self._lock:   # due again at the next try
                for login_id in due:
                    self._due.setdefault(login_id, now)
            raise
        return len(due)

    def keep_flushing(self, app: Flask) -> None:
        """Start this process's flushing thread, once per process (gunicorn forks after loading the app)."""
        if self._flusher_pid == os.getpid():
            return
        self._flusher_pid = os.getpid()
        threading.Thread(target=self._flush_every_minute, args=(app,), name="p2p-activity", daemon=True).start()

    def _flush_every_minute(self, app: Flask) -> None:
        stop, database = threading.Event(), db.obj
        while not stop.wait(FLUSH_SECONDS):
            if db.obj is not database:   # another app in this process took the database over (tests): this one is gone
                return
            try:
                with app.app_context():
                    db.connect(reuse_if_open=True)
                    try:
                        self.flush()
                    finally:
                        db.close()
            except WritesBusy:   # an overloaded server: the notes wait for the next minute, as they are
                log.warning("activity-flush-busy")
            except Exception:   # a briefly unreachable database: the notes of the next minute carry on
                log.exception("activity-flush-failed")


def init_app(app: Flask) -> None:
    activity = app.extensions["p2p.activity"] = Activity(timedelta(minutes=app.config["IDLE_MINUTES"]))
    if not app.testing:   # tests flush by hand (their apps come and go, each with its own database)
        app.before_request(lambda: activity.keep_flushing(app))


def of(app: Flask) -> Activity:
    return app.extensions["p2p.activity"]
