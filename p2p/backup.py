"""Backups, restore, and the start-up check: the SQLite file is the group's whole work, so treat it with care.

A backup is taken online with SQLite's backup API (consistent while the server keeps writing), written under a
temporary name, integrity-checked, and only then renamed into place: a backup file that exists is a good one.
Workbook answers inside stay encrypted, so backups hold no readable workbook.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

BACKUP_GLOB = "p2p-*.sqlite3"


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


def list_backups(backups: Path) -> list[Path]:
    """Newest first."""
    return sorted(backups.glob(BACKUP_GLOB), key=lambda p: p.name, reverse=True) if backups.is_dir() else []


def _companions(database: Path) -> list[Path]:
    return [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]


def move_aside(database: Path, folder: Path) -> Path:
    """Move the database and its WAL and shared-memory files together into `folder` (never one without the other)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in _companions(database):
        if path.exists():
            os.replace(path, folder / path.name)
    return folder


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
            connection.execute('UPDATE "user" SET session_version = session_version + 1')
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
