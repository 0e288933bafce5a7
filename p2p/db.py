"""The database: one deferred peewee Database, its pragmas, per-request connections, and schema upgrades.

SQLite (a file in instance/) unless DATABASE_URL (or P2P_DATABASE_URL) names a PostgreSQL database: the same
tables, the same numbered upgrades and the same behaviour on both; what only SQLite has (pragmas, the WAL, its
file backups and checks) is kept behind `is_postgresql()` branches.

Upgrades are a numbered list of steps. Each runs in its own transaction and records its number in
`schema_version`, so an interrupted upgrade resumes where it stopped and data is never dropped.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from peewee import DatabaseProxy, OperationalError, PostgresqlDatabase, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from .backup import check_at_start, make_backup, make_pg_backup
from .logs import log

db = DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",      # a Pi gets unplugged: a commit that said "Saved" must survive it
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "secure_delete": 1,         # deleted rows are overwritten, not left readable in free pages
}

# Any fixed number: PostgreSQL's advisory locks are named by integers. Worker processes starting together
# take turns to upgrade the schema (concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL).
UPGRADE_LOCK = 7_221_001


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server could not be reached at start-up; the message says which one and what to check."""


def open_database(path: str) -> SqliteDatabase:
    # IMMEDIATE: in WAL mode, upgrading a read lock to a write lock fails at once under contention
    # ("database is locked") even with a busy timeout; taking the write lock up front waits instead.
    return SqliteDatabase(path, pragmas=PRAGMAS, lock_type="IMMEDIATE")


class _Postgresql(PooledPostgresqlDatabase):
    def _connect(self):
        connection = super()._connect()
        connection.adapters.register_dumper(str, _text_dumper())
        return connection


@cache
def _text_dumper():
    """PostgreSQL cannot store the NUL character in text (SQLite can). It means nothing in anything a person
    writes, so it is dropped on the way in, instead of a name or a proposal failing with an error page."""
    from psycopg.types.string import StrDumperUnknown   # psycopg's default for str: the server infers the type

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


def init_app(app: Flask) -> None:
    url, backups, keep = app.config["DATABASE_URL"], Path(app.instance_path) / "backups", app.config["BACKUP_KEEP"]
    if url:
        try:
            db.initialize(open_postgresql(url, max_connections=app.config["THREADS"] + 4))
        except ValueError as error:
            raise DatabaseUnavailable(str(error)) from None

        def before(version):
            return make_pg_backup(url, backups, f"before-upgrade-from-v{version}", keep)
    else:
        database = Path(app.config["DATABASE"])
        check_at_start(database, backups)  # a damaged file is moved aside with a clear message, never replaced silently
        db.initialize(open_database(str(database)))

        def before(version):
            return make_backup(database, backups, f"before-upgrade-from-v{version}", keep)
    try:
        db.connect(reuse_if_open=True)
    except OperationalError as error:
        if not url:
            raise
        raise DatabaseUnavailable(
            f"Could not connect to the {describe_url(url)} ({str(error).strip()}). Is the server running, and is "
            "DATABASE_URL (or P2P_DATABASE_URL) right?") from None
    def logged_before(version):
        made = before(version)
        log.info("backup-made reason=before-upgrade from=%s file=%s", version, Path(made).name if made else "-")
        return made

    try:
        upgrade(before=logged_before)
    finally:
        close_all()   # nothing stays open from start-up: a forking server (gunicorn --preload) must not share it

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()


def for_update(query):
    """The rows this query reads stay locked until the transaction ends (PostgreSQL: SELECT ... FOR UPDATE; a
    writer waiting on the lock then reads the row as committed). SQLite needs none: its IMMEDIATE transactions
    hold the database's one write lock already."""
    return query.for_update() if is_postgresql() else query


def close_all() -> None:
    """Close this thread's connection, and on PostgreSQL every pooled one (at start-up, in tests)."""
    if not db.is_closed():
        db.close()
    if isinstance(db.obj, PooledPostgresqlDatabase):
        db.obj.close_all()


def checkpoint() -> None:
    """Fold the WAL into the database and empty it, so deleted data is not left readable in the -wal file.
    (PostgreSQL has no such file beside the database; its space is reclaimed by autovacuum.)"""
    if isinstance(db.obj, SqliteDatabase):
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# ---------------------------------------------------------------------------------------------------
# Schema upgrades. Append a step; never edit or reorder one that has shipped.


# Steps may run on a database made by any earlier step, or on a fresh one where step 1 already created tables
# from today's models: so each step only adds what is missing (safe=True, add_columns_if_missing).


def add_columns_if_missing(model, *field_names: str) -> None:
    from playhouse.migrate import migrate, SchemaMigrator
    present = {column.name for column in db.get_columns(model._meta.table_name)}
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(*(migrator.add_column(model._meta.table_name, model._meta.fields[name].column_name,
                                  model._meta.fields[name])
              for name in field_names if model._meta.fields[name].column_name not in present))


def _create_tables():
    from . import models
    db.create_tables(models.ALL_MODELS, safe=True)


def _workbooks():
    from . import models
    add_columns_if_missing(models.User, "key_salt", "key_by_password", "key_by_recovery", "key_generation")
    db.create_tables(models.WORKBOOK_MODELS, safe=True)


def _boards():
    from . import models
    db.create_tables(models.BOARD_MODELS, safe=True)


def _board_details():
    from . import models
    add_columns_if_missing(models.Proposal, "held", "theme")
    # Proposals waiting to be revealed when this step runs stay waiting (before it, the board held them all).
    (models.Proposal.update(held=True)
     .where(models.Proposal.board.in_(models.Board.select(models.Board.id).where(
         (models.Board.hide_until_reveal == True) & (models.Board.revealed == False))))  # noqa: E712
     .execute())


def _follow_ups():
    from . import models
    db.create_tables(models.FOLLOW_UP_MODELS, safe=True)
def _sessions():
    from . import models
    db.create_tables(models.SESSION_MODELS, safe=True)


UPGRADES: list[Callable[[], None]] = [
    _create_tables,   # 1: accounts, groups, memberships, one-time tokens, throttles
    _workbooks,       # 2: workbook keys on accounts; answers, ladder snapshots, earlier keys
    _boards,          # 3: the code of behaviour board: boards, proposals, responses
    _board_details,   # 4: proposals held back until revealed (each its own), themes
    _follow_ups,      # 5: between sessions: the agreed date for the reflection, the follow-up conversation
    _sessions,        # 6: running a session: current session, timer, discussions, thoughts
]


def schema_version() -> int:
    db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute_sql("SELECT max(version) FROM schema_version").fetchone()
    return row[0] or 0


@contextmanager
def _one_upgrader_at_a_time() -> Iterator[None]:
    """On PostgreSQL, several worker processes may start at once: they upgrade one after another. (SQLite is
    served by one process; its IMMEDIATE transactions serialise the steps anyway.)"""
    if not is_postgresql():
        yield
        return
    db.execute_sql(f"SELECT pg_advisory_lock({db.param})", (UPGRADE_LOCK,))
    try:
        yield
    finally:
        db.execute_sql(f"SELECT pg_advisory_unlock({db.param})", (UPGRADE_LOCK,))


def upgrade(steps: list[Callable[[], None]] | None = None, before: Callable[[int], object] | None = None) -> int:
    """Apply the steps not yet applied; return the version the database is now at. `before(version)` runs
    first when an existing database is about to change (the app makes a backup there)."""
    steps = UPGRADES if steps is None else steps
    with _one_upgrader_at_a_time():
        current = schema_version()
        if current > len(steps):
            raise RuntimeError(
                f"The database is at schema version {current}, newer than this code knows ({len(steps)}). "
                "Update the app before using this database."
            )
        if 0 < current < len(steps) and before is not None:
            before(current)
        for number, step in enumerate(steps[current:], start=current + 1):
            with db.atomic():
                step()
                db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({db.param})", (number,))
    return len(steps)
