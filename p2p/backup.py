"""Backups, restore, and the start-up check: the database is the group's whole work, so treat it with care.

A backup is taken online with SQLite's backup API (consistent while the server keeps writing), written under a
temporary name, integrity-checked, and only then renamed into place: a backup file that exists is a good one.
Workbook answers inside stay encrypted, so backups hold no readable workbook.

On PostgreSQL the same promise is kept with the server's own tools: `pg_dump` (one consistent snapshot while
the app keeps writing) to a temporary name, read back in full by `pg_restore`, then renamed; `pg_restore`
puts one back. They come with the server (Debian: postgresql-client, the server's major version or newer).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

SQLITE_SUFFIX, PG_SUFFIX = ".sqlite3", ".pgdump"   # pg_dump's custom format: compressed, restored by pg_restore


class DatabaseDamaged(RuntimeError):
    """The start-up check found the database damaged; it was moved aside, and the message says what to do."""


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")


def integrity_problem(path: Path, quick: bool = False) -> str | None:
    """None if SQLite finds the file sound, else what it reports."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        connection.close()
    result = "; ".join(str(row[0]) for row in rows)
    return None if result == "ok" else result


def make_backup(database: Path, backups: Path, reason: str = "manual", keep: int = 14) -> Path:
    """An online, consistent, checked backup in `backups/`; the oldest beyond `keep` are removed."""
    backups.mkdir(parents=True, exist_ok=True)
    final = backups / f"p2p-{_stamp()}-{reason}.sqlite3"
    temporary = backups / f".incomplete-{final.name}"
    source = sqlite3.connect(database)
    target = sqlite3.connect(temporary)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        target.close()
        source.close()
    problem = integrity_problem(temporary)
    if problem:
        temporary.unlink(missing_ok=True)
        raise RuntimeError(f"The backup failed its integrity check ({problem}); nothing was kept.")
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, final)
    for old in list_backups(backups)[keep:]:
        old.unlink(missing_ok=True)
    return final


def list_backups(backups: Path, suffix: str = SQLITE_SUFFIX) -> list[Path]:
    """Newest first, of one kind (a folder may hold both, after a move from SQLite to PostgreSQL)."""
    found = backups.glob(f"p2p-*{suffix}") if backups.is_dir() else []
    return sorted(found, key=lambda p: p.name, reverse=True)


def _companions(database: Path) -> list[Path]:
    return [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]


def move_aside(database: Path, folder: Path) -> Path:
    """Move the database and its WAL and shared-memory files together into `folder` (never one without the other)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in _companions(database):
        if path.exists():
            os.replace(path, folder / path.name)
    return folder


# Run on the restored data. Sessions end (see restore). Boards jump far ahead in version: a server still running
# (PostgreSQL) keeps what each board showed by version number (board.snapshot), and the restored numbers are
# earlier ones, which it may have seen with other contents.
AFTER_RESTORE = ('UPDATE "user" SET session_version = session_version + 1',
                 "UPDATE board SET version = version + 1000000")


def restore(backup: Path, database: Path) -> Path:
    """Put a backup in place of the database; the current one is kept aside. Returns where it was put.
    Stop the server first: a running server would keep writing to the file it has open."""
    problem = integrity_problem(backup)
    if problem:
        raise RuntimeError(f"{backup} is not a sound database ({problem}); nothing was changed.")
    aside = move_aside(database, database.parent / f"replaced-{_stamp()}")
    temporary = database.with_name(f".restoring-{database.name}")
    shutil.copyfile(backup, temporary)
    os.replace(temporary, database)
    connection = sqlite3.connect(database)
    try:
        # Every session from before the restore ends: cookies carry a session version the restored data
        # may not match, and people must log in again to open their workbooks anyway.
        with connection:
            for statement in AFTER_RESTORE:
                connection.execute(statement)
    finally:
        connection.close()
    return aside


def check_at_start(database: Path, backups: Path) -> None:
    """A quick check before serving. On damage: move the files aside together, and say what to do. Never start
    silently with an empty database in place of the group's work."""
    if not database.exists():
        return
    problem = integrity_problem(database, quick=True)
    if problem is None:
        return
    aside = move_aside(database, database.parent / f"damaged-{_stamp()}")
    found = list_backups(backups)
    advice = (f"The newest backup is {found[0]}. Restore it with:  p2p restore {found[0]}"
              if found else f"No backup was found in {backups}.")
    raise DatabaseDamaged(
        f"The database {database} failed its check ({problem}). It has been moved, with its -wal file, to "
        f"{aside} so nothing more is lost. {advice} Then start the server again.")


# ---------------------------------------------------------------------------------------------------
# PostgreSQL: pg_dump and pg_restore, the server's own tools.


class BackupToolMissing(RuntimeError):
    """pg_dump or pg_restore is not installed."""


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupToolMissing(
            f"{name} was not found. Backups of a PostgreSQL database use pg_dump and pg_restore: install them "
            "(Debian: apt-get install postgresql-client, the server's major version or newer).")
    return found


def _pg_connection(url: str) -> tuple[str, dict]:
    """The URL without its password, and an environment carrying it: a password on a command line is visible
    to every user of the host (ps)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params.pop("password"))
    return make_conninfo(**params), env


def _run(command: list[str], env: dict | None = None) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def pg_archive_problem(path: Path) -> str | None:
    """None if pg_restore reads the whole archive (its table of contents and every table's data), else why not."""
    try:
        toc = _run([_pg_tool("pg_restore"), "--list", str(path)])
        _run([_pg_tool("pg_restore"), "--file", os.devnull, str(path)])
    except RuntimeError as error:
        if isinstance(error, BackupToolMissing):
            raise
        return str(error)
    return None if "TABLE DATA public user " in toc else "it holds no accounts table"


def _pg_dump(url: str, target: Path) -> None:
    conninfo, env = _pg_connection(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
          "--dbname", conninfo], env)


def make_pg_backup(url: str, backups: Path, reason: str = "manual", keep: int = 14) -> Path:
    """pg_dump of the whole database (one consistent snapshot, taken while the app keeps writing), read back in
    full, then renamed into place; the oldest beyond `keep` are removed."""
    backups.mkdir(parents=True, exist_ok=True)
    final = backups / f"p2p-{_stamp()}-{reason}{PG_SUFFIX}"
    temporary = backups / f".incomplete-{final.name}"
    try:
        _pg_dump(url, temporary)
        problem = pg_archive_problem(temporary)
        if problem:
            raise RuntimeError(f"The backup could not be read back ({problem}); nothing was kept.")
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, final)
    for old in list_backups(backups, PG_SUFFIX)[keep:]:
        old.unlink(missing_ok=True)
    return final


def restore_pg(backup: Path, url: str, instance: Path) -> Path:
    """Put a pg_dump backup in place of the database's contents, in one transaction. The current contents are
    dumped into instance/replaced-…/ first. Stop the server first. Returns the folder kept aside."""
    problem = pg_archive_problem(backup)
    if problem:
        raise RuntimeError(f"{backup} is not a sound backup ({problem}); nothing was changed.")
    aside_folder = instance / f"replaced-{_stamp()}"
    aside_folder.mkdir(parents=True, exist_ok=True)
    _pg_dump(url, aside_folder / f"p2p{PG_SUFFIX}")
    conninfo, env = _pg_connection(url)
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "--dbname", conninfo, str(backup)], env)
    import psycopg
    with psycopg.connect(url) as connection:   # commits on leaving the block
        # As for SQLite: every session from before the restore ends, and every board screen starts afresh.
        for statement in AFTER_RESTORE:
            connection.execute(statement)
    return aside_folder


def backup_now(config, backups: Path, reason: str) -> Path:
    """A backup of whichever database the configuration names."""
    if config.get("DATABASE_URL"):
        return make_pg_backup(config["DATABASE_URL"], backups, reason, config["BACKUP_KEEP"])
    return make_backup(Path(config["DATABASE"]), backups, reason, config["BACKUP_KEEP"])


def backup_suffix(config) -> str:
    return PG_SUFFIX if config.get("DATABASE_URL") else SQLITE_SUFFIX
