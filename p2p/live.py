"""The doorbell of the live screens: who is told, in this process and in the others, that something they show has
changed (a board, a discussion, the timer; models.Live bumps their version).

Screens hold one stream each (p2p/stream.py) and wait here on their group's bell, so a change reaches them the
moment it is committed, with no screen asking in between. What changed is not sent with the ring: each stream
reads it from the database (through the board's per-version snapshot, once per process, not once per screen),
because live state stays in the database. The ring only carries each row's new version, so a stream whose
screen already shows it has nothing to do.

- In one process (`p2p serve`, waitress, SQLite): the ring is a condition variable per group.
- Across processes (gunicorn on PostgreSQL): each process also listens on PostgreSQL's `p2p_live` channel, and a
  change is announced there with NOTIFY. PostgreSQL delivers a notification only once its transaction commits.
- Either way a ring is sent only after the change is committed: a request's changes are rung after the request
  (after its transactions), so a woken stream never reads the state from before the change.

A missed ring (a listener reconnecting) costs at most one check interval: streams also look at the database
every minute by themselves (stream.CHECK_SECONDS).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from flask import Flask, g, has_request_context

from .db import db, is_postgresql

log = logging.getLogger(__name__)

CHANNEL = "p2p_live"

# (kind, group id, key) -> the newest version this process has heard of. kind: "board", "timer", "discussion";
# key: what tells apart several of a kind in one group (a discussion's place), "" if none.
Topic = tuple[str, int, str]


class Doorbell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bells: dict[int, threading.Condition] = {}
        self._rings: dict[int, int] = {}
        self._versions: dict[Topic, int] = {}
        self.rechecks = 0   # how many times sign-ins or memberships ended: every stream looks at its own at once
        self.rung = 0       # how many times any bell rang (stream.Departures: whether it has been quiet)

    def _bell(self, group_id: int) -> threading.Condition:
        with self._lock:
            bell = self._bells.get(group_id)
            if bell is None:
                bell = self._bells[group_id] = threading.Condition(threading.Lock())
            return bell

    def ring(self, topics: Iterable[tuple[Topic, int]]) -> None:
        """Wake every stream waiting on these topics' groups; remember each topic's newest version."""
        groups = set()
        with self._lock:
            for topic, version in topics:
                if version > self._versions.get(topic, -1):
                    self._versions[topic] = version
                groups.add(topic[1])
        self.wake(*groups)

    def wake(self, *group_ids: int) -> None:
        """Wake every stream waiting on these groups' bells (to look again: at what changed, or whether its screen
        is still there)."""
        for group_id in group_ids:
            bell = self._bell(group_id)
            with bell:
                self._rings[group_id] = self._rings.get(group_id, 0) + 1
                bell.notify_all()
            self.rung += 1

    def ring_everyone(self, forget: bool = True) -> None:
        """Every stream looks again at the database: after notifications may have been missed (`forget` what was
        heard), or when someone was signed out or left a group (a stream of theirs ends)."""
        with self._lock:
            if forget:
                self._versions.clear()
            else:
                self.rechecks += 1
            groups = list(self._bells)
        self.wake(*groups)

    def rings(self, group_id: int) -> int:
        return self._rings.get(group_id, 0)

    def wait(self, group_id: int, seen: int, timeout: float) -> int:
        """Until the group's bell rings after `seen` rings (or `timeout` seconds pass); the rings so far."""
        bell = self._bell(group_id)
        with bell:
            bell.wait_for(lambda: self._rings.get(group_id, 0) != seen, timeout)
            return self._rings.get(group_id, 0)

    def version(self, topic: Topic) -> int | None:
        """The newest version of `topic` this process heard of; None if it has heard of none (then: ask the
        database)."""
        return self._versions.get(topic)

    def heard(self, topic: Topic, version: int) -> None:
        """A version read from the database: newer than any heard of (or the first: 0 for what has no row yet, a
        timer never started), it is the newest now, and the streams following it need not ask again."""
        with self._lock:
            if version > self._versions.get(topic, -1):
                self._versions[topic] = version


doorbell = Doorbell()


def changed(topic: Topic, version: int) -> None:
    """Called by models.Live when a row's version goes up. In a request, rung after it (its transactions have
    committed by then; a stream rings its own after each look); elsewhere (a command), at once."""
    if has_request_context():
        g.setdefault("p2p_live_changes", []).append((topic, version))
        return
    announce([(topic, version)])


RECHECK: Topic = ("recheck", 0, "")


def recheck() -> None:
    """Someone's sign-ins ended, a membership changed, or the group did (its join code): each stream reads its
    group and its person's sign-in and membership again at once (otherwise at its next check,
    stream.CHECK_SECONDS), and ends if they may no longer see what it shows."""
    changed(RECHECK, 0)


def announce(changes: list[tuple[Topic, int]]) -> None:
    if not changes:
        return
    if RECHECK in (topic for topic, _ in changes):
        doorbell.ring_everyone(forget=False)
    doorbell.ring([change for change in changes if change[0] != RECHECK])
    if is_postgresql():   # the other processes hear it through PostgreSQL (and this one again: harmless)
        try:
            with db.connection_context():
                for (kind, group_id, key), version in changes:
                    db.execute_sql("SELECT pg_notify(%s, %s)", (CHANNEL, f"{kind}\t{group_id}\t{version}\t{key}"))
        except Exception:   # the change is saved; the other processes' streams see it at their next check
            log.exception("could not announce a live change to the other processes")


def _parse(payload: str) -> tuple[Topic, int] | None:
    try:
        kind, group_id, version, key = payload.split("\t", 3)
        return (kind, int(group_id), key), int(version)
    except ValueError:
        return None


class Listener:
    """One thread per process, started with the first stream (after gunicorn has forked), holding one
    PostgreSQL connection that LISTENs on the channel and rings this process's doorbell for each notification."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self, url: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, args=(url,), name="p2p-live-listener", daemon=True)
                self._thread.start()

    def _run(self, url: str) -> None:
        import psycopg

        pause = 0.5
        while True:
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    doorbell.ring_everyone()   # anything said while not listening: streams look for themselves
                    pause = 0.5
                    for notice in connection.notifies():
                        found = _parse(notice.payload)
                        if found and found[0] == RECHECK:
                            doorbell.ring_everyone(forget=False)
                        elif found:
                            doorbell.ring([found])
            except Exception:
                log.warning("live updates: lost PostgreSQL's notifications; listening again", exc_info=True)
            self.connected.clear()
            time.sleep(pause)
            pause = min(pause * 2, 10)


listener = Listener()


def listen(app: Flask) -> None:
    """Make sure this process hears the changes made in the others (PostgreSQL; one process on SQLite hears its
    own)."""
    if is_postgresql():
        listener.start(app.config["DATABASE_URL"])


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _ring(_exc):   # a request that failed may have rolled back: a ring then costs a look, nothing more
        announce(g.pop("p2p_live_changes", []))
