"""Backups on PostgreSQL: `p2p backup` runs pg_dump (a consistent snapshot while the app writes), reads the
archive back in full with pg_restore, and only then gives it its final name; `p2p restore` puts one back in a
single transaction, keeping the current contents aside and logging everyone out."""

import subprocess
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from conftest import PASSWORD, database_url, login, make_app
from test_backup import live_versions

from p2p import backup as backups
from p2p.cli import restore_command
from p2p.db import close_all, db
from p2p.models import Discussion, Timer, User

pytestmark = pytest.mark.postgres_only


def folder(tmp_path):
    return tmp_path / "instance" / "backups"


def test_p2p_backup_makes_a_checked_pg_dump(app, room, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup"])
    made = backups.list_backups(folder(tmp_path), backups.PG_SUFFIX)
    assert result.exit_code == 0, result.output
    assert len(made) == 1 and str(made[0]) in result.output and made[0].name.endswith("-manual.pgdump")
    assert backups.pg_archive_problem(made[0]) is None
    assert not list(folder(tmp_path).glob(".incomplete-*"))
    assert backups.list_backups(folder(tmp_path)) == []   # no SQLite backups are mixed in


def test_a_pg_backup_holds_no_sign_in(app, room, tmp_path):
    login(app.test_client(), "Alice")
    made = backups.make_pg_backup(app.config["DATABASE_URL"], tmp_path / "b")
    data = subprocess.run(["pg_restore", "--data-only", "--table=login", "--file=-", str(made)], check=True,
                          capture_output=True, text=True).stdout
    assert "COPY public.login" not in data


def test_pg_backups_beyond_the_number_kept_are_removed(app, room, tmp_path):
    for _ in range(4):
        backups.make_pg_backup(app.config["DATABASE_URL"], tmp_path / "b", keep=2)
    assert len(backups.list_backups(tmp_path / "b", backups.PG_SUFFIX)) == 2


def test_a_truncated_archive_is_not_a_backup(app, room, tmp_path):
    made = backups.make_pg_backup(app.config["DATABASE_URL"], tmp_path / "b")
    cut = tmp_path / "cut.pgdump"
    cut.write_bytes(made.read_bytes()[: made.stat().st_size // 2])
    assert backups.pg_archive_problem(cut) is not None
    with pytest.raises(RuntimeError, match="not a sound backup"):
        backups.restore_pg(cut, app.config["DATABASE_URL"], tmp_path / "instance")
    assert User.by_name("Alice")   # nothing changed


def test_restore_puts_the_backup_back_keeps_the_old_contents_aside_and_logs_everyone_out(
        app, room, tmp_path, as_user, monkeypatch):
    alice = as_user(room.alice)
    with db.connection_context():
        Timer.start(room.group, 300)
        Discussion.for_place(room.group, "somewhere")
        before = live_versions(room.group)
    made = backups.make_pg_backup(app.config["DATABASE_URL"], folder(tmp_path))
    User.create_account("Added after the backup", PASSWORD)
    close_all()   # the server is stopped before a restore
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE_URL", app.config["DATABASE_URL"])
    result = CliRunner().invoke(restore_command, [str(made), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Everyone will need to log in again" in result.output
    assert User.by_name("Added after the backup") is None and User.by_name("Alice")
    aside = list((tmp_path / "instance").glob("replaced-*/p2p.pgdump"))
    assert len(aside) == 1 and backups.pg_archive_problem(aside[0]) is None
    listing = subprocess.run(["pg_restore", "--data-only", "--table=user", "--file=-", str(aside[0])],
                             capture_output=True, text=True, check=True).stdout
    assert "Added after the backup" in listing                            # what was replaced is kept
    assert alice.get(f"/groups/{room.group.id}").status_code == 302   # the old session has ended
    login(app.test_client(), "Alice")                                  # and people can log in again
    with db.connection_context():   # live screens start afresh: no version number seen before comes back
        assert all(now > then for now, then in zip(live_versions(room.group), before))


def test_pg_backups_hold_no_readable_workbook(app, room, as_user, tmp_path):
    from test_workbook import S1, autosave
    autosave(as_user(room.alice), f"{S1}/positive-about-p2p", "BACKUP-MARKER-QZV")
    made = backups.make_pg_backup(app.config["DATABASE_URL"], tmp_path / "b")
    plain = subprocess.run(["pg_restore", "--file=-", str(made)], capture_output=True, check=True).stdout
    assert b"answer" in plain and b"QZV" not in plain and b"QZV".hex().encode() not in plain


def test_without_pg_dump_the_backup_says_what_to_install(app, room, monkeypatch):
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    result = app.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code != 0 and "postgresql-client" in result.output


def test_the_server_makes_its_daily_backup_with_pg_dump(app, room, tmp_path):
    import time

    from p2p.cli import backup_every
    backup_every(app, hours=24)
    deadline = time.time() + 10
    while not backups.list_backups(folder(tmp_path), backups.PG_SUFFIX) and time.time() < deadline:
        time.sleep(0.05)
    assert backups.list_backups(folder(tmp_path), backups.PG_SUFFIX)[0].name.endswith("-daily.pgdump")


def test_an_upgrade_backs_up_the_database_first(app, room, tmp_path):
    from conftest import make_app

    from p2p.models import schema as database
    with database.db.connection_context():
        database.db.execute_sql("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    close_all()
    make_app(tmp_path, DATABASE_URL=app.config["DATABASE_URL"])   # the next start upgrades the database
    made = backups.list_backups(folder(tmp_path), backups.PG_SUFFIX)
    assert len(made) == 1 and f"before-upgrade-from-v{len(database.UPGRADES) - 1}" in made[0].name
    with database.db.connection_context():
        assert database.schema_version() == len(database.UPGRADES)


def test_an_empty_database_where_backups_were_made_is_refused_at_start(app, tmp_path, postgres_server):
    made = backups.make_pg_backup(app.config["DATABASE_URL"], folder(tmp_path))
    close_all()
    empty = f"p2p_empty_{uuid.uuid4().hex[:8]}"   # DATABASE_URL pointed at a new database by mistake
    postgres_server.admin.execute(f'CREATE DATABASE "{empty}"')
    try:
        with pytest.raises(backups.DatabaseDamaged, match=r"PostgreSQL database is empty") as refused:
            make_app(tmp_path, DATABASE_URL=database_url(postgres_server.url, empty))
        assert f"restore {made}" in str(refused.value) and "new-database" in str(refused.value)
        close_all()
        with psycopg.connect(database_url(postgres_server.url, empty)) as connection:
            assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    finally:
        close_all()
        postgres_server.admin.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
