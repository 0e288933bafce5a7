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
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

SQLITE_SUFFIX, PG_SUFFIX = ".sqlite3", ".pgdump"   # pg_dump's custom format: compressed, restored by pg_restore


# Backups made before an update or a schema upgrade ("before-update", "before-upgrade-from-v3") are the way back
# if an update goes wrong, which may be noticed weeks later: they are kept apart from the daily rotation, for
# KEEP_APART_DAYS, not pushed out by the next 14 daily ones.
KEPT_APART = "-before-"
KEEP_APART_DAYS = 90


class DatabaseDamaged(RuntimeError):
    """The database cannot be used as it is (damaged, empty, or missing where there was one): the app does not
    start, so it never serves an empty database in place of a group's work. The message says what to do."""


class RestoreRefused(RuntimeError):
    """p2p restore was given something it must not put in place of the database; nothing was changed."""


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")


def _made_at(backup: Path) -> datetime | None:
    try:   # p2p-20261129-213000-123456-daily.sqlite3
        return datetime.strptime(backup.name[4:26], "%Y%m%d-%H%M%S-%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut: the new name is only on the card once the folder is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def p2p_command() -> str:
    """How a host runs the p2p command on this install, for messages they can copy."""
    beside = Path(sys.executable).parent / "p2p"
    return str(beside) if beside.exists() else "p2p"


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
        forget_sign_ins(target)
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
    sync_folder(backups)
    _rotate(backups, SQLITE_SUFFIX, keep)
    return final


def forget_sign_ins(copy: sqlite3.Connection) -> None:
    """A backup keeps no sign-in: each one's secret is half the key to the workbook key its cookie carries, so a
    backup with it and a copied cookie would open a workbook the owner has since logged out of. A restore ends
    every session anyway. Overwritten, not just unlinked (secure_delete)."""
    if copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'login'").fetchone():
        copy.execute("PRAGMA secure_delete = ON")
        with copy:
            copy.execute("DELETE FROM login")


def list_backups(backups: Path, suffix: str = SQLITE_SUFFIX) -> list[Path]:
    """Newest first, of one kind (a folder may hold both, after a move from SQLite to PostgreSQL)."""
    found = backups.glob(f"p2p-*{suffix}") if backups.is_dir() else []
    return sorted(found, key=lambda p: p.name, reverse=True)


def newest_made_before(backups: Path, suffix: str, version: int) -> datetime | None:
    """When the newest backup still kept from before schema `version` was made, if any: a SQLite backup by the
    schema it holds, a PostgreSQL one (which cannot be read without restoring it) by the name an upgrade gave it
    ("before-upgrade-from-v3")."""
    found = []
    for backup in list_backups(backups, suffix):
        if suffix == SQLITE_SUFFIX:
            try:
                with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as copy:
                    older = (copy.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0) < version
            except sqlite3.Error:
                continue
        else:
            match = re.search(r"-before-upgrade-from-v(\d+)", backup.name)
            older = bool(match) and int(match.group(1)) < version
        if older and _made_at(backup):
            found.append(_made_at(backup))
    return max(found, default=None)


def _rotate(backups: Path, suffix: str, keep: int) -> None:
    """The newest `keep` daily and manual backups stay; those made before an update or upgrade stay for
    KEEP_APART_DAYS whatever the rotation does."""
    found = list_backups(backups, suffix)
    rotating = [backup for backup in found if KEPT_APART not in backup.name]
    too_old = datetime.now(timezone.utc) - timedelta(days=KEEP_APART_DAYS)
    expired = [backup for backup in found if KEPT_APART in backup.name and (_made_at(backup) or too_old) < too_old]
    for old in rotating[keep:] + expired:
        old.unlink(missing_ok=True)


def _companions(database: Path) -> list[Path]:
    return [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]


def move_aside(database: Path, folder: Path) -> Path | None:
    """Move the database and its WAL and shared-memory files together into `folder` (never one without the other).
    None if there was nothing to move (no folder is made)."""
    present = [path for path in _companions(database) if path.exists()]
    if not present:
        return None
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in present:
        os.replace(path, folder / path.name)
    sync_folder(folder)
    sync_folder(database.parent)
    return folder


# Run on the restored data, each if its table is there (a backup may be from before the board existed), with
# numbers above any the replaced database had given out (see numbers_ahead). Every session from before the restore
# ends: a cookie carries its person's session number, so the restored numbers must be ones no cookie holds. Boards
# move ahead in version too, and so do discussions and timers: a server that kept running (a worker left behind,
# PostgreSQL) keeps what each showed by version number (board.snapshot, sessions.discussed, the doorbell of
# p2p/live.py), and the restored numbers may be ones it has seen with other contents, or below what it heard of.
AFTER_RESTORE = (("user", 'UPDATE "user" SET session_version = session_version + {jump}', "session_version"),
                 *((table, f"UPDATE {table} SET version = version + {{jump}}", "version")
                   for table in ("board", "discussion", "timer")))


def numbers_ahead(highest: dict[str, int]) -> dict[str, int]:
    """How far each restored table's numbers jump: past the highest the replaced database held (when it could be
    read), and a random stretch further, for the numbers of a database that could not be read (damaged, gone)."""
    return {table: highest.get(table, 0) + 1 + secrets.randbelow(1_000_000) for table, _, _ in AFTER_RESTORE}


def _highest_numbers(database: Path) -> dict[str, int]:
    """The highest session number and board, discussion and timer versions in the live SQLite database, each that
    can be read (damaged, missing, or from before that table: the random stretch covers it)."""
    highest = {}
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            for table, _, column in AFTER_RESTORE:
                try:
                    highest[table] = connection.execute(f'SELECT max({column}) FROM "{table}"').fetchone()[0] or 0
                except sqlite3.Error:
                    pass
    except sqlite3.Error:
        pass
    return highest


class WrongUser(RuntimeError):
    """A command was run as another user than the one the instance folder belongs to."""


def _user_name(uid: int) -> str:
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def owner_problem(path: Path) -> str | None:
    """Why this process must not write `path` (or, while it does not exist, the folder it would be in), else
    None. Files written by another user (say root, through sudo) would belong to them, and the service could no
    longer write its own database ("attempt to write a readonly database")."""
    target = path if path.exists() else path.parent
    owner = target.stat().st_uid
    if os.geteuid() == owner:
        return None
    name = _user_name(owner)
    return (f"{target} belongs to the user {name}, but this is running as {_user_name(os.geteuid())}. Run it as "
            f"{name} instead, for example:  sudo -u {name} {' '.join([p2p_command(), *sys.argv[1:]])}")


def processes_using(database: Path) -> list[int]:
    """Other processes that have the database (or its -wal) open: a server still running, most likely. Linux
    only (from /proc); elsewhere none are found."""
    names = {str(path.resolve()) for path in _companions(database)}
    found = []
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        pid = int(fd_folder.parent.name)
        if pid == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in names for fd in fd_folder.iterdir()):
                found.append(pid)
        except OSError:   # gone, or not ours to look at
            continue
    return sorted(found)


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (a -wal beside the source is read too), as one file."""
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=DELETE")
    finally:
        writer.close()
        reader.close()


def restore(backup: Path, database: Path, problem_of: Callable[[sqlite3.Connection], str | None]) -> Path | None:
    """Put a backup in place of the database; the current one is kept aside. Returns where it was put (None if
    there was none: after damage, it was moved aside already).
    Stop the server first: a running server would keep writing to the file it has open.

    Everything is checked on a copy before the live database is touched: the backup must be a sound SQLite
    database that `problem_of` (the schema's own check) accepts as Peer 2 Peer's, of a version this code knows.
    The copy gets the replaced file's owner and mode, then a single rename puts it in place."""
    refused = owner_problem(database)
    if refused:
        raise RestoreRefused(f"{refused} Nothing was changed.")
    if backup.stat().st_size == 0:
        raise RestoreRefused(f"{backup} is empty (0 bytes): it holds no database. Nothing was changed.")
    temporary = database.with_name(f".restoring-{database.name}")
    try:
        try:
            _copy_database(backup, temporary)
        except sqlite3.DatabaseError as error:
            raise RestoreRefused(f"{backup} is not a database this app can read ({error}). Nothing was changed.")
        problem = integrity_problem(temporary)
        if problem:
            raise RestoreRefused(f"{backup} is not a sound database ({problem}). Nothing was changed.")
        connection = sqlite3.connect(temporary)
        try:
            problem = problem_of(connection)
            if problem:
                raise RestoreRefused(f"{backup} cannot be restored: {problem}. Nothing was changed.")
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            jumps = numbers_ahead(_highest_numbers(database))
            with connection:
                for table, statement, _ in AFTER_RESTORE:
                    if table in tables:
                        connection.execute(statement.format(jump=jumps[table]))
        finally:
            connection.close()
        like = database if database.exists() else None
        os.chmod(temporary, like.stat().st_mode & 0o777 if like else 0o600)
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    aside = move_aside(database, database.parent / f"replaced-{_stamp()}")
    os.replace(temporary, database)
    sync_folder(database.parent)
    return aside


def _traces_of_earlier_work(database: Path, backups: Path) -> list[str]:
    """Signs that this server has held a group's work before, for when its database is not there."""
    traces = [f"a damaged database was moved to {folder}" for folder in sorted(database.parent.glob("damaged-*"))]
    traces += [f"an earlier database was kept in {folder}" for folder in sorted(database.parent.glob("replaced-*"))]
    if database.with_name(database.name + "-wal").exists():
        traces.append(f"its -wal file is still there ({database.name}-wal)")
    found = list_backups(backups)
    if found:
        traces.append(f"{len(found)} backup{'s' if len(found) > 1 else ''} in {backups}")
    return traces


def _what_to_do(backups: Path, suffix: str = SQLITE_SUFFIX) -> str:
    found, p2p = list_backups(backups, suffix), p2p_command()
    back = (f"To bring the group's work back, restore the newest backup (or an earlier one in {backups}):\n"
            f"    {p2p} restore {found[0]}\n" if found else
            f"No backup was found in {backups}. If you have a copy of the database elsewhere, restore it with:\n"
            f"    {p2p} restore FILE\n")
    return (f"{back}then start the app again. Or, to start over with a new, empty database on purpose (what is "
            f"there now is kept aside, not deleted):\n    {p2p} new-database")


def check_at_start(database: Path, backups: Path) -> None:
    """Before serving: never start with an empty database in place of the group's work. A damaged database is
    moved aside (with its -wal) and the app does not start; nor does it while the database is missing where
    there was one (the start after that, which systemd makes 3 s later, included) or is an empty file. Each time
    the message says what to do."""
    if not database.exists():
        traces = _traces_of_earlier_work(database, backups)
        if traces:
            raise DatabaseDamaged(
                f"There is no database at {database}, but this server has held a group's work before: "
                f"{'; '.join(traces)}. Starting now would serve an empty database in its place, so the app has "
                f"not started.\n{_what_to_do(backups)}")
        return   # a first start: the database is created
    if database.stat().st_size == 0:
        raise DatabaseDamaged(
            f"The database {database} is an empty file (0 bytes): it holds none of the group's work (it may have "
            f"been cut short or copied wrongly). The app has not started, so nothing is served empty or written "
            f"over.\n{_what_to_do(backups)}")
    problem = integrity_problem(database, quick=True)
    if problem is None:
        return
    aside = move_aside(database, database.parent / f"damaged-{_stamp()}")
    raise DatabaseDamaged(
        f"The database {database} failed its check ({problem}). It has been moved, with its -wal file, to "
        f"{aside} so nothing more is lost.\n{_what_to_do(backups)}")


def check_postgresql_at_start(holds_data: bool, backups: Path) -> None:
    """The same promise on PostgreSQL: an empty database while this instance has made backups of one is
    refused (a DATABASE_URL pointing at a new database by mistake, or a dropped one)."""
    if not holds_data and list_backups(backups, PG_SUFFIX):
        raise DatabaseDamaged(
            f"The PostgreSQL database is empty, but this server has backups of one in {backups}: it has held a "
            "group's work before. Starting now would serve an empty database in its place, so the app has not "
            f"started. Check DATABASE_URL.\n{_what_to_do(backups, PG_SUFFIX)}")


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
    # No sign-in's secret in a backup (see forget_sign_ins): the table, empty.
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--exclude-table-data=login",
          "--file", str(target), "--dbname", conninfo], env)


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
    sync_folder(backups)
    _rotate(backups, PG_SUFFIX, keep)
    return final


def restore_pg(backup: Path, url: str, instance: Path) -> Path:
    """Put a pg_dump backup in place of the database's contents, in one transaction. The current contents are
    dumped into instance/replaced-…/ first. Stop the server first. Returns the folder kept aside."""
    problem = pg_archive_problem(backup)
    if problem:
        raise RuntimeError(f"{backup} is not a sound backup ({problem}); nothing was changed.")
    aside_folder = instance / f"replaced-{_stamp()}"
    aside_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _pg_dump(url, aside_folder / f"p2p{PG_SUFFIX}")
    highest = _pg_highest_numbers(url)
    conninfo, env = _pg_connection(url)
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "--dbname", conninfo, str(backup)], env)
    import psycopg
    with psycopg.connect(url) as connection:   # commits on leaving the block
        # As for SQLite: every session from before the restore ends, and every board screen starts afresh.
        jumps = numbers_ahead(highest)
        tables = {row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        for table, statement, _ in AFTER_RESTORE:
            if table in tables:   # (a backup from before the board or the discussions: its schema is brought up later)
                connection.execute(statement.format(jump=jumps[table]))
    return aside_folder


def _pg_highest_numbers(url: str) -> dict[str, int]:
    import psycopg
    try:
        with psycopg.connect(url) as connection:
            return {table: connection.execute(f'SELECT max({column}) FROM "{table}"').fetchone()[0] or 0
                    for table, _, column in AFTER_RESTORE}
    except psycopg.Error:
        return {}


def backup_now(config, backups: Path, reason: str) -> Path:
    """A backup of whichever database the configuration names."""
    if config.get("DATABASE_URL"):
        return make_pg_backup(config["DATABASE_URL"], backups, reason, config["BACKUP_KEEP"])
    return make_backup(Path(config["DATABASE"]), backups, reason, config["BACKUP_KEEP"])


def backup_suffix(config) -> str:
    return PG_SUFFIX if config.get("DATABASE_URL") else SQLITE_SUFFIX
