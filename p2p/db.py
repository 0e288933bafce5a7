"""The database: one deferred peewee Database, its pragmas, per-request connections, and schema upgrades.

Upgrades are a numbered list of steps. Each runs in its own transaction and records its number in
`schema_version`, so an interrupted upgrade resumes where it stopped and data is never dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from flask import Flask
from peewee import DatabaseProxy, SqliteDatabase

from .backup import check_at_start, make_backup

db = DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",      # a Pi gets unplugged: a commit that said "Saved" must survive it
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "secure_delete": 1,         # deleted rows are overwritten, not left readable in free pages
}


def open_database(path: str) -> SqliteDatabase:
    # IMMEDIATE: in WAL mode, upgrading a read lock to a write lock fails at once under contention
    # ("database is locked") even with a busy timeout; taking the write lock up front waits instead.
    return SqliteDatabase(path, pragmas=PRAGMAS, lock_type="IMMEDIATE")


def init_app(app: Flask) -> None:
    database, backups = Path(app.config["DATABASE"]), Path(app.instance_path) / "backups"
    check_at_start(database, backups)   # a damaged file is moved aside with a clear message, never replaced silently
    db.initialize(open_database(str(database)))
    with db.connection_context():
        upgrade(before=lambda version: make_backup(database, backups, f"before-upgrade-from-v{version}",
                                                   app.config["BACKUP_KEEP"]))

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()


def checkpoint() -> None:
    """Fold the WAL into the database and empty it, so deleted data is not left readable in the -wal file."""
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


def upgrade(steps: list[Callable[[], None]] | None = None, before: Callable[[int], object] | None = None) -> int:
    """Apply the steps not yet applied; return the version the database is now at. `before(version)` runs
    first when an existing database is about to change (the app makes a backup there)."""
    steps = UPGRADES if steps is None else steps
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
            db.execute_sql("INSERT INTO schema_version (version) VALUES (?)", (number,))
    return len(steps)
