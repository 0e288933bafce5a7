"""Nothing lost: backups that are consistent and checked, restore that keeps the old file aside, and a start-up
check that never lets the app start silently empty."""

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, make_app, post

from p2p import backup as backups
from p2p.answers import Workbook
from p2p.cli import backup_every, restore_command
from p2p.db import close_all, db
from p2p.models import Answer, Board, Discussion, Timer, User
from p2p.models.schema import UPGRADES, file_problem

# About the SQLite file and its backups; PostgreSQL's backups are tested in test_backup_pg.py.
pytestmark = pytest.mark.sqlite_only


def rows(path, sql):
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_p2p_backup_makes_a_checked_backup(app, room, tmp_path):
    out = app.test_cli_runner().invoke(args=["backup"]).output
    made = list(backups.list_backups(tmp_path / "instance" / "backups"))
    assert len(made) == 1 and str(made[0]) in out
    assert backups.integrity_problem(made[0]) is None
    assert rows(made[0], 'select name from "user" order by id')[0] == ("Fran",)
    assert not list((tmp_path / "instance" / "backups").glob(".incomplete-*"))


def test_backups_beyond_the_number_kept_are_removed(app, room, tmp_path):
    database, folder = tmp_path / "test.sqlite3", tmp_path / "b"
    for _ in range(5):
        backups.make_backup(database, folder, "manual", keep=3)
    assert len(backups.list_backups(folder)) == 3


def test_a_backup_taken_while_eight_writers_are_busy_is_sound_and_restores(app, room, tmp_path):
    database = tmp_path / "test.sqlite3"
    stop = threading.Event()
    written = []

    def writer(n):
        workbook = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
        i = 0
        with db.connection_context():
            while not stop.is_set():
                workbook.save(f"p2p/module-1/session-1/positive-about-p2p-{n}-{i}", "x" * 200, None)
                written.append(1)
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    made = backups.make_backup(database, tmp_path / "b")
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert len(written) > 20
    assert backups.integrity_problem(made) is None
    in_backup = rows(made, "select count(*) from answer")[0][0]
    assert 0 < in_backup <= Answer.select().count()
    close_all()   # the server stops
    aside = backups.restore(made, database, file_problem)
    assert rows(database, "select count(*) from answer")[0][0] == in_backup
    assert (aside / "test.sqlite3").exists()


def test_restore_keeps_the_old_database_aside_and_logs_everyone_out(app, room, tmp_path, as_user):
    with db.connection_context():
        Timer.start(room.group, 300)
        Discussion.for_place(room.group, "somewhere")
        before = live_versions(room.group)
    made = backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "b")
    User.create_account("Added after the backup", PASSWORD)
    # Alice logs out once after the backup: her session number moves one past the backup's, where a restore that
    # only added one put it back (her new cookie went on working).
    post(as_user(room.alice), "/logout")
    alice, kept = as_user(room.alice), []
    for _ in range(2):   # and the same backup restored again later logs out whoever logged in in between
        close_all()   # the server stops
        kept.append(backups.restore(made, tmp_path / "test.sqlite3", file_problem))
        assert alice.get(f"/groups/{room.group.id}").status_code == 302   # the old session has ended
        alice = as_user(room.alice)                                       # and people can log in again
    assert ("Added after the backup",) in rows(kept[0] / "test.sqlite3", 'select name from "user"')
    assert User.by_name("Added after the backup") is None
    with db.connection_context():   # live screens start afresh: no version number seen before comes back
        assert all(now > then for now, then in zip(live_versions(room.group), before))


def live_versions(group) -> tuple[int, int, int]:
    """The board's, a discussion's and the timer's versions: what the server's live screens know them by."""
    return (Board.for_group(group).version, Discussion.version_of(group, "somewhere"), Timer.version_of(group))


def _not_a_backup(kind: str, tmp_path, made) -> Path:
    bad = tmp_path / f"{kind}.sqlite3"
    if kind == "empty":
        bad.write_bytes(b"")
    elif kind == "text":
        bad.write_bytes(b"this is not a database" * 100)
    elif kind == "truncated":
        bad.write_bytes(made.read_bytes()[:made.stat().st_size // 2])
    elif kind == "another-app":
        connection = sqlite3.connect(bad)
        connection.execute("CREATE TABLE recipe (name TEXT)")
        connection.commit()
        connection.close()
    elif kind == "newer":
        bad.write_bytes(made.read_bytes())
        connection = sqlite3.connect(bad)
        connection.execute("INSERT INTO schema_version (version, step) VALUES (99, 'from_the_future')")
        connection.commit()
        connection.close()
    return bad


@pytest.mark.parametrize("kind, said", [
    ("empty", r"is empty \(0 bytes\)"), ("text", "not a database this app can read"),
    ("truncated", "not a sound database|not a database this app can read"),
    ("another-app", "not a Peer 2 Peer database"), ("newer", "newer than this code knows")])
def test_restore_refuses_what_is_not_a_peer_2_peer_database_and_touches_nothing(app, room, tmp_path, kind, said):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "b")
    close_all()   # the server stops
    before = database.read_bytes()
    with pytest.raises(backups.RestoreRefused, match=said):
        backups.restore(_not_a_backup(kind, tmp_path, made), database, file_problem)
    assert database.read_bytes() == before
    assert not list(tmp_path.glob("replaced-*")) and not list(tmp_path.glob(".restoring-*"))
    assert User.by_name("Alice")


def test_restore_refuses_to_run_as_another_user_than_the_database_s_owner(app, room, tmp_path):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "b")
    close_all()   # the server stops
    os.chown(database, 4321, 4321)   # the service's own user; the suite runs as root, like `sudo p2p restore`
    with pytest.raises(backups.RestoreRefused, match="belongs to the user 4321.*sudo -u 4321"):
        backups.restore(made, database, file_problem)
    assert database.stat().st_uid == 4321 and not list(tmp_path.glob("replaced-*"))


def test_restore_keeps_the_database_s_mode_and_takes_a_backup_from_before_the_board_existed(app, room, tmp_path):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "b")
    connection = sqlite3.connect(made)   # as a backup made at schema 2 would be: no board yet
    connection.executescript("".join(f"DROP TABLE {table};" for table in (
        "board", "proposal", "response", "code_version", "commitment", "follow_up", "current_session", "timer",
        "discussion", "thought")) + "DELETE FROM schema_version WHERE version > 2")
    connection.close()
    close_all()   # the server stops
    os.chmod(database, 0o600)
    backups.restore(made, database, file_problem)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert rows(database, "select max(version) from schema_version") == [(2,)]
    make_app(tmp_path)   # starts, and upgrades what it restored
    assert rows(database, "select max(version) from schema_version") == [(len(UPGRADES),)]
    assert rows(database, 'select count(*) from "user"') == [(5,)]


def test_the_restore_command_works_without_loading_the_app(app, room, tmp_path, monkeypatch):
    made = backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "b")
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE", str(tmp_path / "test.sqlite3"))
    close_all()   # the server stops
    result = CliRunner().invoke(restore_command, [str(made), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Everyone will need to log in again" in result.output


def test_the_restore_command_refuses_while_the_app_runs_or_as_another_user(app, room, tmp_path, monkeypatch):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "b")
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE", str(database))
    close_all()   # the server stops
    before = database.read_bytes()
    server = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; sqlite3.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(database)], stdout=subprocess.PIPE)
    try:
        server.stdout.readline()
        result = CliRunner().invoke(restore_command, [str(made), "--yes"])
        assert result.exit_code == 1 and "The app is still running" in result.output
    finally:
        server.kill()
        server.wait()
    os.chown(tmp_path / "instance", 4321, 4321)   # its settings are 0600: another user cannot even read them
    result = CliRunner().invoke(restore_command, [str(made), "--yes"])
    assert result.exit_code == 1 and "belongs to the user 4321" in result.output and "Nothing was changed" in result.output
    assert not isinstance(result.exception, PermissionError)
    assert database.read_bytes() == before


def test_a_restore_where_no_database_is_says_so_and_keeps_no_empty_folder(app, room, tmp_path):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "b")
    close_all()   # the server stops
    database.unlink()
    assert backups.restore(made, database, file_problem) is None
    assert not list(tmp_path.glob("replaced-*"))


def test_a_damaged_database_is_moved_aside_and_the_app_does_not_start_empty(tmp_path):
    app = make_app(tmp_path)
    with db.connection_context():
        User.create_account("Alice", PASSWORD)
    close_all()   # the server stops
    backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "instance" / "backups")
    database = tmp_path / "test.sqlite3"
    data = bytearray(database.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)   # the schema page, ruined
    database.write_bytes(bytes(data))
    with pytest.raises(backups.DatabaseDamaged) as damaged:
        make_app(tmp_path)
    message = str(damaged.value)
    assert "has been moved" in message and "p2p restore" in message
    assert not database.exists()                      # moved aside, together with its -wal...
    assert list(tmp_path.glob("damaged-*/test.sqlite3"))
    assert app is not None


def _cannot_start(tmp_path, said: str) -> str:
    with pytest.raises(backups.DatabaseDamaged, match=said) as refused:
        make_app(tmp_path)
    assert not (tmp_path / "test.sqlite3").exists() or (tmp_path / "test.sqlite3").stat().st_size == 0
    return str(refused.value)


def test_after_damage_the_next_starts_refuse_too_and_say_which_backup_to_restore(app, room, tmp_path):
    database = tmp_path / "test.sqlite3"
    made = backups.make_backup(database, tmp_path / "instance" / "backups")
    close_all()   # the server stops
    database.write_bytes(b"\xff" * 8192)
    _cannot_start(tmp_path, "failed its check")
    for _ in range(2):   # systemd starts it again 3 s later, and again: never empty, always the same advice
        message = _cannot_start(tmp_path, "There is no database.*a damaged database was moved to")
        assert f"restore {made}" in message and "new-database" in message
    assert not database.exists()


@pytest.mark.parametrize("what", ["empty file", "missing, with backups"])
def test_an_empty_or_missing_database_never_starts_empty(app, room, tmp_path, what):
    database = tmp_path / "test.sqlite3"
    backups.make_backup(database, tmp_path / "instance" / "backups")
    close_all()   # the server stops
    if what == "empty file":
        database.write_bytes(b"")
        said = r"empty file \(0 bytes\)"
    else:
        database.unlink()
        said = "There is no database.*1 backup in"
    for _ in range(2):
        _cannot_start(tmp_path, said)


def test_a_host_can_start_over_on_purpose_and_nothing_is_deleted(app, room, tmp_path, monkeypatch):
    from p2p.cli import new_database_command
    database = tmp_path / "test.sqlite3"
    backups.make_backup(database, tmp_path / "instance" / "backups")
    close_all()   # the server stops
    database.write_bytes(b"")
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE", str(database))
    result = CliRunner().invoke(new_database_command, ["--yes"])
    assert result.exit_code == 0, result.output
    assert "A new, empty database is ready" in result.output
    assert len(list(tmp_path.glob("replaced-*/test.sqlite3"))) == 1   # the old file, kept
    make_app(tmp_path)
    assert rows(database, 'select count(*) from "user"') == [(0,)]


def test_the_app_refuses_to_run_as_another_user_than_the_instance_s_owner(tmp_path):
    make_app(tmp_path)
    close_all()   # the server stops
    os.chown(tmp_path / "instance", 4321, 4321)
    with pytest.raises(backups.WrongUser, match="belongs to the user 4321"):
        make_app(tmp_path)


def test_backups_from_before_an_upgrade_are_kept_apart_from_the_rotation(app, room, tmp_path):
    database, folder = tmp_path / "test.sqlite3", tmp_path / "b"
    before_upgrade = backups.make_backup(database, folder, "before-upgrade-from-v3", keep=3)
    for _ in range(5):
        backups.make_backup(database, folder, "daily", keep=3)
    assert before_upgrade.exists() and len(backups.list_backups(folder)) == 4
    long_ago = folder / before_upgrade.name.replace(before_upgrade.name[4:12], "20200101")
    before_upgrade.rename(long_ago)   # after KEEP_APART_DAYS it goes too
    backups.make_backup(database, folder, "daily", keep=3)
    assert not long_ago.exists() and len(backups.list_backups(folder)) == 3


def test_p2p_upgrade_backs_up_upgrades_and_says_what_it_did(app, room, tmp_path, monkeypatch):
    from p2p.cli import upgrade_command
    database = tmp_path / "test.sqlite3"
    with db.connection_context():   # as if this database were two steps behind the code
        db.execute_sql("DELETE FROM schema_version WHERE version > 4")
    close_all()   # the server stops
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE", str(database))
    server = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; sqlite3.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(database)], stdout=subprocess.PIPE)
    try:
        server.stdout.readline()
        result = CliRunner().invoke(upgrade_command)
        assert result.exit_code == 1 and f"process {server.pid} has the database open" in result.output
        assert rows(database, "select max(version) from schema_version") == [(4,)]
    finally:
        server.kill()
        server.wait()
    result = CliRunner().invoke(upgrade_command)
    assert result.exit_code == 0, result.output
    assert f"was at schema version 4 and is now at {len(UPGRADES)}" in result.output
    assert "before-upgrade-from-v4" in result.output
    result = CliRunner().invoke(upgrade_command)   # nothing to upgrade: a backup all the same
    assert f"up to date (schema version {len(UPGRADES)})" in result.output and "before-update" in result.output


def test_an_upgrade_backs_up_the_database_first(app, room, tmp_path):
    from p2p.models import schema as database_module

    steps = [*database_module.UPGRADES, lambda: None]
    made = []
    with db.connection_context():
        database_module.upgrade(steps, before=lambda version: made.append(
            backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "b", f"before-upgrade-from-v{version}")))
    assert len(made) == 1 and "before-upgrade-from-v" in made[0].name
    with db.connection_context():
        database_module.upgrade(steps, before=lambda version: made.append("again"))
    assert len(made) == 1   # nothing to upgrade: no backup


def test_the_server_backs_up_on_a_timer(app, room, tmp_path):
    thread = backup_every(app, hours=24)
    deadline = time.time() + 5
    while not backups.list_backups(tmp_path / "instance" / "backups") and time.time() < deadline:
        time.sleep(0.05)
    assert thread.daemon and backups.list_backups(tmp_path / "instance" / "backups")[0].name.endswith("-daily.sqlite3")


def test_backups_hold_no_readable_workbook_and_no_sign_in(app, room, as_user, tmp_path):
    from test_workbook import S1, autosave

    from p2p.models import Login
    autosave(as_user(room.alice), f"{S1}/positive-about-p2p", "BACKUP-MARKER-QZV")
    secrets_now = [login.secret for login in Login.select()]
    made = backups.make_backup(tmp_path / "test.sqlite3", tmp_path / "b")
    assert b"QZV" not in made.read_bytes()
    # A sign-in's secret is half the key to the workbook key its cookie carries: not in a backup, not even freed.
    assert secrets_now and rows(made, "select count(*) from login") == [(0,)]
    assert not any(bytes(secret) in made.read_bytes() for secret in secrets_now)


def test_p2p_serve_explains_a_damaged_database_instead_of_a_traceback(tmp_path, monkeypatch, capsys):
    from p2p.cli import main
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "p2p.sqlite3").write_bytes(b"garbage" * 1000)
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert exit_.value.code == 3   # deploy/p2p.service does not restart on it: only the host can help
    err = capsys.readouterr().err
    assert "failed its check" in err and "Traceback" not in err


def test_a_full_disk_on_save_loses_nothing_and_saves_once_it_clears(app, room, as_user):
    """SQLite's max_page_count stands in for a full SD card: the next write that needs a page fails."""
    from test_workbook import S1, autosave
    app.testing = False                      # errors answer as in production, not as exceptions
    app.config["PROPAGATE_EXCEPTIONS"] = False
    alice = as_user(room.alice)
    pages = lambda: db.execute_sql("PRAGMA page_count").fetchone()[0]  # noqa: E731
    with db.connection_context():
        full = pages()
    big = "a long reflection " * 2000        # needs new pages

    pragmas = list(db.obj._pragmas)
    db.obj._pragmas = pragmas + [("max_page_count", full)]   # applied to every new connection
    close_all()                                               # so the pooled ones go
    response = autosave(alice, f"{S1}/positive-about-p2p", big)
    assert response.status_code == 500 and response.json == {"problem": "Not saved — retrying"}
    assert Answer.select().count() == 0       # nothing half-written
    db.obj._pragmas = pragmas
    close_all()
    response = autosave(alice, f"{S1}/positive-about-p2p", big)   # the retry, once there is room again
    assert response.status_code == 200
    assert Workbook(User.get_by_id(room.alice.id), room.alice.data_key).get(
        f"{S1}/positive-about-p2p").value == big


def test_the_backup_before_an_upgrade_is_in_the_activity_log(app, tmp_path):
    with db.connection_context():   # as if this database were one step behind the code
        db.execute_sql("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    close_all()   # the server stops
    make_app(tmp_path)   # starts on it: backs it up, then upgrades
    log = (tmp_path / "instance" / "logs" / "p2p.log").read_text()
    assert "event=backup-made reason=before-upgrade" in log and "before-upgrade-from-v" in log


def modes(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
            for path in [folder, *folder.rglob("*")] if not path.is_symlink()}


def test_everything_in_instance_is_private_after_start_backup_and_restore(tmp_path, monkeypatch):
    """The database, its -wal, backups, logs, keys and settings: the app's own user only, whoever made them."""
    instance, database = tmp_path / "instance", tmp_path / "instance" / "p2p.sqlite3"
    os.umask(0o022)   # as an older version left them, or a copy made by hand
    make_app(tmp_path, SECRET_KEY=None, DATABASE=str(database))
    close_all()   # the server stops
    (instance / "config.py").write_text("# the host's own\n")
    (instance / "backups").mkdir(exist_ok=True)
    os.chmod(instance, 0o755)
    os.chmod(database, 0o644)
    app = make_app(tmp_path, SECRET_KEY=None, DATABASE=str(database))   # a start tightens what is there
    with app.app_context():
        app.test_cli_runner().invoke(args=["backup"])
    close_all()   # the server stops
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("P2P_DATABASE", str(database))
    os.umask(0o022)
    backup = backups.list_backups(instance / "backups")[0]
    assert CliRunner().invoke(restore_command, [str(backup), "--yes"]).exit_code == 0
    found = modes(instance)
    assert {name for name, mode in found.items() if instance.joinpath(name).is_dir() and mode != 0o700} == set()
    assert {name: oct(mode) for name, mode in found.items()
            if instance.joinpath(name).is_file() and mode != 0o600} == {}
    assert any(name.startswith("replaced-") for name in found) and any(name.startswith("logs/") for name in found)
