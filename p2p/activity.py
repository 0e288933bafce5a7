"""What people do, kept so that it cannot say who did what: when each sign-in was last used, for the idle time-out
(IDLE_MINUTES), and how much each person proposed or added lately, for the boards' rate limits (`paced`).

Writing a sign-in's row from the request that used it put that write in the commit right before whatever the
request made: the database's history (its -wal) then said whose an anonymous proposal or a private objection was.
So a request only notes its sign-in here, in this process's memory; every minute, one transaction writes the
minute of every sign-in noted since, in order of their ids, from a thread of its own: a write no request causes,
holding everyone who used the app in that minute. The idle check reads the row and what is noted here.

A request that is a live page's poll notes that the page is still open (seen); any other request that someone
used it (active). A poll never keeps a sign-in going by itself (web.load_user)."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from datetime import datetime, timedelta

from flask import Flask

from .db import db
from .logs import log
from .models import Login, utcnow

FLUSH_SECONDS = 60


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class Activity:
    """One app's notes, by sign-in id: [last active minute or None, last seen minute]."""

    def __init__(self) -> None:
        self._noted: dict[int, list] = {}
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
        now = _minute(utcnow())
        with self._lock:
            noted = self._noted.setdefault(login.id, [None, now])
            noted[1] = now
            if not poll:
                noted[0] = now

    def last(self, login: Login) -> tuple[datetime, datetime]:
        """(active, seen): the later of the row's and what this process noted since it was written."""
        with self._lock:
            active, seen = self._noted.get(login.id, (None, None))
        return max(login.active_at, active or login.active_at), max(login.seen_at, seen or login.seen_at)

    def ended_by_idleness(self, login: Login, idle: timedelta, poll: bool) -> bool:
        """Unused for `idle`: for a poll, the page was not seen (open) in that time; for anything else, nobody did
        anything with it in that time."""
        active, seen = self.last(login)
        return (seen if poll else active) < utcnow() - idle

    def forget(self, login_id: int) -> None:
        with self._lock:
            self._noted.pop(login_id, None)

    def flush(self) -> int:
        """Write what was noted, in one transaction; return how many sign-ins. Only ever moves a time forward (a
        second process may have written a later one)."""
        with self._lock:
            noted, self._noted = self._noted, {}
        if not noted:
            return 0
        try:
            with db.atomic():
                for login_id in sorted(noted):
                    active, seen = noted[login_id]
                    Login.update(seen_at=seen).where(Login.id == login_id, Login.seen_at < seen).execute()
                    if active is not None:
                        Login.update(active_at=active).where(Login.id == login_id,
                                                             Login.active_at < active).execute()
        except Exception:
            with self._lock:   # kept for the next try, beside anything noted meanwhile
                for login_id, (active, seen) in noted.items():
                    now = self._noted.setdefault(login_id, [active, seen])
                    now[0], now[1] = max(filter(None, (now[0], active)), default=None), max(now[1], seen)
            raise
        return len(noted)

    def keep_flushing(self, app: Flask) -> None:
        """Start this process's flushing thread, once per process (gunicorn forks after loading the app)."""
        if self._flusher_pid == os.getpid():
            return
        self._flusher_pid = os.getpid()
        threading.Thread(target=self._flush_every_minute, args=(app,), name="p2p-activity", daemon=True).start()

    def _flush_every_minute(self, app: Flask) -> None:
        stop = threading.Event()
        while not stop.wait(FLUSH_SECONDS):
            try:
                with app.app_context():
                    db.connect(reuse_if_open=True)
                    try:
                        self.flush()
                    finally:
                        db.close()
            except Exception:   # a busy or briefly unreachable database: the notes of the next minute carry on
                log.exception("activity-flush-failed")


def init_app(app: Flask) -> None:
    activity = app.extensions["p2p.activity"] = Activity()
    if not app.testing:   # tests flush by hand (their apps come and go, each with its own database)
        app.before_request(lambda: activity.keep_flushing(app))


def of(app: Flask) -> Activity:
    return app.extensions["p2p.activity"]
