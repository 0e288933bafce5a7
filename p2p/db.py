"""The database: one deferred peewee Database, its pragmas, and per-request connections.

SQLite (a file in instance/) unless DATABASE_URL (or P2P_DATABASE_URL) names a PostgreSQL database: the same
tables, the same numbered upgrades (models/schema.py) and the same behaviour on both; what only SQLite has
(pragmas, the WAL, its file backups and checks) is kept behind `is_postgresql()` branches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from peewee import BaseQuery, DatabaseProxy, OperationalError, PostgresqlDatabase, SqliteDatabase
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase, PooledSqliteDatabase

db = DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",      # a Pi gets unplugged: a commit that said "Saved" must survive it
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "secure_delete": 1,         # deleted rows are overwritten, not left readable in free pages
}

TURN_SECONDS = 10.0   # a write waits this long for its turn (WritesBusy) before it is given up


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server could not be reached at start-up; the message says which one and what to check."""


class WritesBusy(OperationalError):
    """A write waited TURN_SECONDS for its turn and was not made: the server is overloaded. Said calmly (web.py),
    as "busy, send it again", never as an error of the app's."""


class _SqlitePool(PooledSqliteDatabase):
    """Two habits of its own:

    Writes from this process take turns in Python, not in SQLite. SQLite has one write lock; a writer that finds
    it taken sleeps in growing steps (up to 100 ms each) however soon it is free, and not in turn. Measured with
    8 threads autosaving: p95 67-308 ms and worst 1.1-2.0 s waiting in SQLite, 36-140 ms and worst 0.26 s taking
    turns here; with 50 at once on a busy machine some waited past the busy timeout ("database is locked", a
    500), and so did a room's board writes on a server slowed tenfold (docs/benchmarks.md). A turn is a whole
    transaction (IMMEDIATE: SQLite's write lock is held from its start anyway) or one write statement outside
    one. Other processes (a second server on the same file, `p2p` commands) still wait in SQLite's busy timeout.

    It keeps at most `keep_idle` connections open while unused; more are closed as they come back. Each holds its
    own copy of the schema and a page cache (~150 KB): after a room's streams had all looked at once, the pool
    kept ~50 of them, 10 MB that nothing used until the next burst (docs/benchmarks.md)."""

    def __init__(self, *args, keep_idle: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keep_idle = keep_idle
        self._writes = threading.RLock()   # (re-entered by the statements of a transaction that holds it)

    def _can_reuse(self, conn) -> bool:   # (called as a connection comes back, under the pool's lock)
        return len(self._connections) < self.keep_idle

    @contextmanager
    def _turn(self):
        self._take_turn()
        try:
            yield
        finally:
            self._writes.release()

    def _take_turn(self) -> None:
        if not self._writes.acquire(timeout=TURN_SECONDS):
            raise WritesBusy("no turn to write within %s s" % TURN_SECONDS)

    # A transaction's turn: from its BEGIN until its COMMIT or ROLLBACK (peewee rolls back a commit that failed).
    def begin(self, *args, **kwargs):
        self._take_turn()
        try:
            super().begin(*args, **kwargs)
        except BaseException:
            self._writes.release()
            raise

    def commit(self):
        super().commit()
        self._writes.release()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._writes.release()

    def execute_sql(self, sql, params=None):
        if sql.startswith("SELECT") or self.transaction_depth():   # a read, or a transaction that has its turn
            return super().execute_sql(sql, params)
        with self._turn():
            return super().execute_sql(sql, params)


def open_database(path: str, max_connections: int = 20, keep_idle: int = 12) -> SqliteDatabase:
    """The SQLite database at `path`, its connections pooled like PostgreSQL's: a request returns its connection
    at teardown instead of closing it. Opening one (the file, its -wal and -shm, five pragmas) and closing it (the
    last one out folds the WAL into the file) took 1-2 ms of every request, and peewee does both under one lock
    for every thread: under a burst of autosaves, requests queued there. A pooled connection is used by one
    thread at a time, so it may move between threads (check_same_thread off)."""
    # IMMEDIATE: in WAL mode, upgrading a read lock to a write lock fails at once under contention
    # ("database is locked") even with a busy timeout; taking the write lock up front waits instead.
    return _SqlitePool(path, pragmas=PRAGMAS, lock_type="IMMEDIATE", check_same_thread=False,
                       max_connections=max_connections, keep_idle=keep_idle, stale_timeout=300, timeout=10)


class _Postgresql(PooledPostgresqlDatabase):
    def _connect(self):
        connection = super()._connect()
        connection.adapters.register_dumper(str, _text_dumper())
        return connection


@cache
def _text_dumper():
    """PostgreSQL cannot store the NUL character in text (SQLite can). It means nothing in anything a person
    writes, so it is dropped on the way in, instead of a name or a proposal failing with an error page."""
    from psycopg.types.string import StrDumperUnknown  # psycopg's default for str: the server infers the type

    class TextWithoutNul(StrDumperUnknown):
        def dump(self, obj: str):
            return super().dump(obj.replace("\x00", ""))
    return TextWithoutNul


def open_postgresql(url: str, max_connections: int = 20) -> PostgresqlDatabase:
    """A PostgreSQL database from a URL (postgresql://user:password@host:port/name), through psycopg 3.

    Pooled: a request returns its connection at teardown instead of closing it, so a poll every 1.5 s from
    every phone does not start a new server process each time. Transactions run at PostgreSQL's default,
    READ COMMITTED; the few read-then-write paths lock the rows they change (see models and answers)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if not url.startswith("postgresql://"):
        raise ValueError(f"DATABASE_URL must start with postgresql:// (this one starts with {url.split(':')[0]!r}).")
    return _Postgresql(url, prefer_psycopg3=True, max_connections=max_connections, stale_timeout=300, timeout=10)


def describe_url(url: str) -> str:
    """Where a database URL points, without its password: for messages and logs."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or query.get("host", ["localhost"])[0]   # ?host=/var/run/postgresql: the local socket
    return f"PostgreSQL database {parts.path.lstrip('/') or '(default)'} on {host}:{parts.port or 5432}"


def is_postgresql() -> bool:
    return isinstance(db.obj, PostgresqlDatabase)


def open_configured(config) -> None:
    """Point `db` at the configured database and connect; on PostgreSQL, a server that cannot be reached is said
    plainly (DatabaseUnavailable)."""
    url = config["DATABASE_URL"]
    if not url:
        # As many as the server has threads (and a few for its own: backups, the activity notes): a SQLite
        # connection costs no server process, and a request waiting for one (behind sign-ins holding theirs
        # through Argon2id, say) would wait for nothing. Each is opened only when that many are in use at once.
        # (2 × THREADS + 4 was tried: 160 screens opening their streams at once then waited for connections,
        # some for 10 s, and resident memory went only from ~330 to ~280 MB.)
        connections = config["THREADS"] + config["LIVE_STREAMS"] + 4
        db.initialize(open_database(config["DATABASE"], max_connections=connections, keep_idle=config["THREADS"] + 4))
        db.connect(reuse_if_open=True)
        return
    try:
        db.initialize(open_postgresql(url, max_connections=config["THREADS"] + 4))
        db.connect(reuse_if_open=True)
    except ValueError as error:
        raise DatabaseUnavailable(str(error)) from None
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"Could not connect to the {describe_url(url)} ({str(error).strip()}). Is the server running, and is "
            "DATABASE_URL (or P2P_DATABASE_URL) right?") from None


def for_update(query):
    """The rows this query reads stay locked until the transaction ends (PostgreSQL: SELECT ... FOR UPDATE; a
    writer waiting on the lock then reads the row as committed). SQLite needs none: its IMMEDIATE transactions
    hold the database's one write lock already."""
    return query.for_update() if is_postgresql() else query


_written: dict = {}


def _written_once(shape: str, make: Callable[..., BaseQuery], values: tuple) -> tuple[BaseQuery, str, list]:
    """The query `make` makes for this shape, its SQL (written the first time, with stand-ins for the values) and
    its parameters with these values put in."""
    key = (type(db.obj), shape)   # SQLite and PostgreSQL write a query differently
    found = _written.get(key)
    if found is None:
        stand_ins = [f"\x00{shape}:{index}" if isinstance(value, str) else
                     datetime(1111, 1, 1) + timedelta(seconds=index) if isinstance(value, datetime) else
                     -1_000_000_007 - index for index, value in enumerate(values)]
        query = make(*stand_ins)
        sql, params = query.sql()
        places = [stand_ins.index(param) if param in stand_ins else None for param in params]
        if sorted(place for place in places if place is not None) != list(range(len(values))):
            raise ValueError(f"each value of {shape!r} must reach its SQL once, as it is")
        found = _written[key] = (query, sql, params, places)
    query, sql, params, places = found
    return query, sql, [param if place is None else values[place] for param, place in zip(params, places)]


def written_once(shape: str, make: Callable[..., BaseQuery], *values: int | str | datetime):
    """The rows of `make(*values)`, a query run again and again with other values (a room's snapshot at every
    change, each request's sign-in and membership), its SQL written once per `shape` and the values put in.

    Peewee takes longer to write a query's SQL, in Python, than SQLite takes to run it: writing them was most of
    a request's time (six queries each) and a tenth of a room's snapshots. The SQL is written once, with stand-ins
    for the values (ids, text and times, which reach the SQL's parameters as they are), so no value (a sign-in's token
    digest) is kept. The rows are what the query gives (models or tuples), through peewee's own conversions."""
    query, sql, params = _written_once(shape, make, values)
    return query._get_cursor_wrapper(db.execute_sql(sql, params))   # (peewee's own step after writing the SQL)


def run_once(shape: str, make: Callable[..., BaseQuery], *values: int | str | datetime | None) -> int:
    """A write (insert, update, delete) done again and again with other values, its SQL written once per `shape`
    as written_once's; how many rows it changed. Anything else in its SQL is written once with it: a value the
    query fills in for itself (a column's default, such as the time) would be the first call's for every call,
    so an insert gives every column; a flag is part of the shape. (None may stand for an id in what an insert or
    an update sets; in a comparison it would match nothing.)"""
    _, sql, params = _written_once(shape, make, values)
    return db.execute_sql(sql, params).rowcount


def written_once_keeping(shape: str, make: Callable[..., BaseQuery], kept: dict, *values: int | str) -> dict:
    """written_once's rows, each as the database gives it (a tuple) -> what peewee makes of it, in order. What
    `kept` has for the very same row (the read before's answer) is used again, not made again: peewee makes its
    model objects in Python, ~15 µs a row with a join, and a room's board is read again at every change with
    nearly every row as it was. (What is kept was made from exactly that row: nothing newer or older.)"""
    rows = written_once(shape, make, *values)
    raw = rows.cursor.fetchall()
    if raw:
        rows.initialize()   # (as peewee's own iteration does before its first row)
    found = {}
    for row in raw:
        made = kept.get(row)
        found[row] = made if made is not None else rows.process_row(row)
    return found


def first_written_once(shape: str, make: Callable[..., BaseQuery], *values: int | str | datetime):
    """The first row of written_once's (its query limited to one), or None. (A shape of its own: written_once's
    SQL for the same shape has no limit.)"""
    return next(iter(written_once(f"{shape}, first", lambda *stand_ins: make(*stand_ins).limit(1), *values)), None)


def close_all() -> None:
    """Close this thread's connection and every pooled one (at start-up, before a restore, in tests)."""
    if not db.is_closed():
        db.close()
    if isinstance(db.obj, PooledDatabase):
        db.obj.close_all()


def checkpoint() -> None:
    """Fold the WAL into the database and empty it, so deleted data is not left readable in the -wal file.
    (PostgreSQL has no such file beside the database; its space is reclaimed by autovacuum.)"""
    if isinstance(db.obj, SqliteDatabase):
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")




def init_app(app: Flask) -> None:
    """A connection per request, closed after it (models.schema.bring_up_to_date has checked and upgraded the
    database at start, and closed what it opened)."""

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()
