"""The database and the instance folder: pragmas, schema upgrades that keep data, first-start files."""

import sqlite3
import stat

import pytest
from conftest import make_app, on_postgresql
from peewee import BooleanField, IntegrityError

from p2p import db as db_module
from p2p.db import (
    DatabaseUnavailable,
    close_all,
    db,
    first_written_once,
    open_database,
    open_postgresql,
    run_once,
    written_once,
    written_once_keeping,
)
from p2p.models import Board, BoardResponse, Group, Membership, Proposal, User
from p2p.models.schema import UPGRADES, UpgradeRefused, add_columns_if_missing, schema_version, upgrade


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(app):
    with db.connection_context():
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000


@pytest.mark.sqlite_only
def test_requests_hand_their_connection_back_for_the_next_and_close_all_closes_them(app, client):
    """Opening a SQLite connection and closing it took 1-2 ms of every request: they are pooled, as PostgreSQL's
    are. A restore, or a test standing for a stopped server, closes them all (close_all)."""
    client.get("/")
    client.get("/")
    pooled = db.obj._connections
    assert len(pooled) == 1 and not db.obj._in_use     # one connection, back in the pool after each request
    connection = pooled[0][2]
    client.get("/")
    assert db.obj._connections[0][2] is connection
    with db.connection_context():                       # the pragmas hold on a connection used again
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    close_all()
    assert not db.obj._connections and not db.obj._in_use
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")


@pytest.mark.sqlite_only
def test_the_pool_keeps_a_few_idle_connections_after_a_burst_and_closes_the_rest(tmp_path):
    """A room's streams checking at once open many connections; each holds a copy of the schema and a page cache.
    Beyond `keep_idle`, one that comes back is closed, not kept for a burst that may never come."""
    import threading
    pool = open_database(str(tmp_path / "burst.db"), max_connections=10, keep_idle=2)
    opened, ready, done = [], threading.Barrier(6), threading.Event()

    def use():
        pool.connect()
        opened.append(pool.connection())
        pool.execute_sql("SELECT 1")
        ready.wait()
        done.wait()
        pool.close()
    held = [threading.Thread(target=use) for _ in range(5)]
    for thread in held:
        thread.start()
    ready.wait()
    assert len(pool._in_use) == 5
    done.set()
    for thread in held:
        thread.join()
    assert not pool._in_use and len(pool._connections) == 2
    kept = {id(entry[2]) for entry in pool._connections}
    for connection in opened:
        if id(connection) in kept:
            connection.execute("SELECT 1")
        else:
            with pytest.raises(sqlite3.ProgrammingError):
                connection.execute("SELECT 1")
    pool.close_all()


def test_a_query_written_once_gives_each_call_the_rows_of_its_own_values_and_keeps_none_of_them(room):
    """db.written_once: a query's SQL is written once per shape, with stand-ins, and each call's values put in."""
    def by_name_and_id(name, user_id):
        return User.select(User.id).where((User.name == name) & (User.id == user_id)).tuples()

    with db.connection_context():
        for user in (room.alice, room.bob, room.alice):
            assert list(written_once("test user", by_name_and_id, user.name, user.id)) == [(user.id,)]
        assert first_written_once("test user", by_name_and_id, room.alice.name, room.bob.id) is None
        kept = str(db_module._written)
        assert "Alice" not in kept and "Bob" not in kept   # (a sign-in's token digest is such a value)
        with pytest.raises(ValueError):   # a value that never reaches the SQL would be silently left out
            written_once("test unused", lambda name: User.select().where(User.name == "Alice"), "Bob")


def test_a_write_run_once_changes_the_rows_of_its_own_values(room):
    """db.run_once: a write's SQL written once per shape, each call's values put in (None for an id it sets)."""
    def rename(name, user_id):
        return User.update(name=name).where(User.id == user_id)

    with db.connection_context():
        assert run_once("test rename", rename, "Alicia", room.alice.id) == 1
        assert run_once("test rename", rename, "Robert", room.bob.id) == 1
        assert run_once("test rename", rename, "Nobody", -5) == 0
        assert [u.name for u in User.select().where(User.id.in_([room.alice.id, room.bob.id])).order_by(User.id)] == [
            "Alicia", "Robert"]
        proposal = Proposal.create(board=Board.for_group(room.group), text="Be kind")
        for user_id in (room.alice.id, None):
            run_once("test response", lambda proposal_id, user_id_: BoardResponse.insert(
                proposal=proposal_id, voter=None, user=user_id_, kind="agree", private=False, round=1),
                proposal.id, user_id)
        assert [r.user_id for r in BoardResponse.select().order_by(BoardResponse.id)] == [room.alice.id, None]


def test_a_query_read_again_makes_again_only_what_changed_in_its_rows(room):
    """db.written_once_keeping: an object made from a row before is used again for the very same row, and a row
    that changed in any column (or is new) is made afresh, with its join."""
    def everyone(group_id):
        return (User.select(User, Membership.id).join(Membership).where(Membership.group == group_id)
                .order_by(User.id))

    with db.connection_context():
        first = written_once_keeping("test everyone", everyone, {}, room.group.id)
        assert {user.name for user in first.values()} >= {"Alice", "Bob"}
        User.update(name="Alicia").where(User.id == room.alice.id).execute()
        again = written_once_keeping("test everyone", everyone, first, room.group.id)
        assert len(again) == len(first)
        alice, bob = first_value(again, room.alice.id), first_value(again, room.bob.id)
        assert alice.name == "Alicia" and alice is not first_value(first, room.alice.id)
        assert bob is first_value(first, room.bob.id), "an unchanged row is not made again"
        assert bob.membership.id == Membership.of(room.bob, room.group).id   # the join, as peewee makes it
        assert written_once_keeping("test everyone", everyone, again, -1) == {}


def first_value(rows: dict, user_id: int):
    return next(user for user in rows.values() if user.id == user_id)


def test_one_membership_per_person_per_group_is_kept_by_the_database(room):
    with pytest.raises(IntegrityError):
        Membership.create(user=room.alice, group=room.group)


def test_names_are_unique_whatever_their_case(room):
    with pytest.raises(IntegrityError):
        User.create_account("ALICE", "whatever password")


def test_deleting_a_group_takes_its_memberships_with_it(room):
    with db.atomic():
        room.group.delete_instance()
    assert Membership.select().where(Membership.user == room.alice).count() == 0


def test_a_fresh_database_is_at_the_latest_schema(app):
    with db.connection_context():
        assert schema_version() == len(UPGRADES)


def test_an_upgrade_keeps_data_and_records_its_version(app, room, monkeypatch):
    def add_a_column():
        db.execute_sql("ALTER TABLE \"group\" ADD COLUMN current_session TEXT")

    steps = [*UPGRADES, add_a_column]
    with db.connection_context():
        assert upgrade(steps) == len(steps)
        assert schema_version() == len(steps)
        assert Group.get_by_id(room.group.id).name == "Tuesday group"
        assert db.execute_sql("SELECT current_session FROM \"group\"").fetchall()
        assert upgrade(steps) == len(steps)  # running again does nothing


def test_a_failing_upgrade_rolls_back_and_is_tried_again_next_start(app, room):
    def half_done():
        db.execute_sql("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("power cut")

    with db.connection_context():
        before = schema_version()
        with pytest.raises(RuntimeError):
            upgrade([*UPGRADES, half_done])
        assert schema_version() == before
        assert not db.table_exists("half")
        assert User.select().count() == 5


def test_a_step_that_rebuilds_a_table_keeps_the_rows_pointing_at_it(app, room):
    # SQLite adds a NOT NULL column by rebuilding the table (copy, DROP, rename); with foreign keys on, the DROP
    # once deleted every membership and every response on the way.
    board = Board.for_group(room.group)
    proposal = Proposal.create(board=board, author=room.alice, text="Listen")
    BoardResponse.create(proposal=proposal, user=room.bob, kind="agree")
    Group._meta.add_field("archived", BooleanField(default=False))
    Proposal._meta.add_field("pinned", BooleanField(default=False))
    try:
        def add_flags():
            add_columns_if_missing(Group, "archived")
            add_columns_if_missing(Proposal, "pinned")

        with db.connection_context():
            memberships = Membership.select().count()
            upgrade([*UPGRADES, add_flags])
            assert Membership.select().count() == memberships == 5
            assert BoardResponse.select().count() == 1
            if not on_postgresql(app):
                assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1   # back on afterwards
    finally:
        Group._meta.remove_field("archived")
        Proposal._meta.remove_field("pinned")


def test_a_step_that_would_lose_rows_is_undone_and_the_app_says_so(app, room):
    def tidy_up():
        db.execute_sql("DELETE FROM membership WHERE role = 'participant'")

    with db.connection_context():
        latest = len(UPGRADES)
        with pytest.raises(UpgradeRefused, match=rf"step {latest + 1} \(tidy_up\).*membership: 5 → 2.*schema "
                                                  rf"version {latest}"):
            upgrade([*UPGRADES, tidy_up])
        assert schema_version() == latest
        assert Membership.select().count() == 5


@pytest.mark.sqlite_only
def test_a_step_that_would_break_references_is_undone(app, room):
    def renumber_groups():
        db.execute_sql('UPDATE "group" SET id = id + 100')   # foreign keys are off during a step: nothing follows

    with db.connection_context():
        with pytest.raises(UpgradeRefused, match=r"references broken \(membership: 5\)"):
            upgrade([*UPGRADES, renumber_groups])
        assert Group.get_by_id(room.group.id).name == "Tuesday group"


def test_steps_are_recorded_by_name_and_another_branch_s_database_is_refused(app):
    def our_step():
        pass

    def their_step():
        pass

    with db.connection_context():
        names = [row[0] for row in db.execute_sql("SELECT step FROM schema_version ORDER BY version")]
        assert names[:6] == ["create_tables", "workbooks", "boards", "board_details", "follow_ups", "sessions"]
        upgrade([*UPGRADES, their_step])
        with pytest.raises(UpgradeRefused, match=f'step {len(names) + 1} is "their_step".*another branch'):
            upgrade([*UPGRADES, our_step])


def test_steps_recorded_before_names_were_kept_are_named(app):
    with db.connection_context():
        db.execute_sql("UPDATE schema_version SET step = NULL WHERE version <= 6")   # as before names were kept
        upgrade()
        assert db.execute_sql("SELECT count(*) FROM schema_version WHERE step IS NULL").fetchone()[0] == 0


def test_a_database_newer_than_the_code_is_refused(app):
    with db.connection_context():
        db.execute_sql("INSERT INTO schema_version (version) VALUES (999)")
        with pytest.raises(RuntimeError, match="newer than this code"):
            upgrade()


def test_first_start_creates_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    app = make_app(tmp_path, SECRET_KEY=None, DATABASE="p2p.sqlite3")
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text()) == 64 and app.config["SECRET_KEY"] == key_file.read_text()
    assert (instance / "config.example.py").is_file()
    assert app.config["DATABASE"] == str(instance / "p2p.sqlite3") and (instance / "p2p.sqlite3").is_file()
    # A second start keeps the same secret (sessions survive restarts).
    assert make_app(tmp_path, SECRET_KEY=None).config["SECRET_KEY"] == key_file.read_text()


def test_config_layers_instance_file_then_environment(tmp_path, monkeypatch):
    from p2p import create_app
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("PORT = 6000\nJOIN_CODE_DAYS = 3\n")
    monkeypatch.setenv("P2P_PORT", "7000")
    monkeypatch.setenv("P2P_SESSION_COOKIE_SECURE", "true")
    app = create_app(instance_path=instance)
    assert app.config["PORT"] == 7000
    assert app.config["JOIN_CODE_DAYS"] == 3
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.sqlite_only
@pytest.mark.parametrize("file, env, said", [
    ("IDLE_MINUTE = 20\n", {}, "config.py sets IDLE_MINUTE, which is not a setting of Peer 2 Peer"),
    ("", {"P2P_BACKUP_KEPP": "3"}, "The environment variable P2P_BACKUP_KEPP sets BACKUP_KEPP, which is not a setting"),
    ('TIMEZONE = "Europe/Lndon"\n', {}, "sets TIMEZONE to 'Europe/Lndon': it must be a time zone name"),
    ("PORT = 70000\n", {}, "sets PORT to 70000: it must be a whole number from 1 to 65535"),
    ('JOIN_CODE_DAYS = "14"\n', {}, "sets JOIN_CODE_DAYS to '14': it must be a whole number from 1"),
    ("LOGIN_THROTTLE = (10,)\n", {}, "sets LOGIN_THROTTLE to (10,): it must be two whole numbers"),
    ("", {"P2P_THREADS": "eight"}, "The environment variable P2P_THREADS is 'eight': it must be a whole number"),
    ("PORT = (\n", {}, "config.py could not be read (SyntaxError"),
    ("idle_minutes = 5\n", {}, "sets idle_minutes: settings are written in capitals, IDLE_MINUTES"),
    ("", {"P2P_TESTING": "1"}, "P2P_TESTING sets TESTING, which only the test suite may set"),
])
def test_a_setting_the_app_does_not_know_or_cannot_use_stops_start_up_naming_it(tmp_path, monkeypatch, capsys,
                                                                                 file, env, said):
    """Silently ignored, a misspelt key or a bad time zone (it was shown as UTC) is a setting that does not do what
    its host believes."""
    from p2p.cli import NEEDS_THE_HOST, main
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(file)
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(instance))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    err = capsys.readouterr().err
    assert exit_.value.code == NEEDS_THE_HOST and said in err and "Traceback" not in err
    assert not (instance / "p2p.sqlite3").exists()


@pytest.mark.sqlite_only
def test_writes_from_one_process_take_turns_instead_of_failing_on_sqlite_s_lock(tmp_path, monkeypatch):
    """A write that finds SQLite's write lock taken waits for its turn in Python: with no busy timeout at all
    (a server slowed tenfold waited past its 5 s one), none fails with "database is locked", and each is made.
    One that gets no turn within TURN_SECONDS is given up (WritesBusy) and writes nothing."""
    import threading
    pool = open_database(str(tmp_path / "turns.db"), max_connections=10, keep_idle=2)
    pool.execute_sql("CREATE TABLE said (words TEXT)")
    holding, release, problems = threading.Event(), threading.Event(), []

    def hold():
        with pool.atomic():
            pool.execute_sql("INSERT INTO said VALUES ('first')")
            holding.set()
            release.wait()
        pool.close()

    def write(words, in_transaction):
        try:
            pool.execute_sql("PRAGMA busy_timeout = 0")
            if in_transaction:
                with pool.atomic():
                    pool.execute_sql("INSERT INTO said VALUES (?)", (words,))
            else:
                pool.execute_sql("INSERT INTO said VALUES (?)", (words,))
        except Exception as problem:
            problems.append(problem)
        finally:
            pool.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    writers = [threading.Thread(target=write, args=(f"w{n}", n % 2 == 0)) for n in range(6)]
    for thread in writers:
        thread.start()
    release.set()
    for thread in (holder, *writers):
        thread.join()
    assert problems == []
    assert sorted(row[0] for row in pool.execute_sql("SELECT words FROM said")) == ["first", *(f"w{n}" for n in range(6))]

    monkeypatch.setattr(db_module, "TURN_SECONDS", 0.05)
    holding.clear(), release.clear()
    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    late = threading.Thread(target=write, args=("late", False))
    late.start()
    late.join()
    release.set()
    holder.join()
    assert [type(problem) for problem in problems] == [db_module.WritesBusy]
    assert pool.execute_sql("SELECT count(*) FROM said WHERE words = 'late'").fetchone()[0] == 0
    pool.close_all()


def test_writes_take_the_lock_up_front():
    # IMMEDIATE transactions: see db.open_database for why.
    assert open_database(":memory:")._lock_type == "IMMEDIATE"


def test_p2p_database_url_selects_postgresql_and_an_unreachable_server_is_explained(tmp_path, monkeypatch, capsys):
    from conftest import free_port_nobody_listens_on

    from p2p.cli import main
    url = f"postgresql://p2p:the-secret@127.0.0.1:{free_port_nobody_listens_on()}/p2p"
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("P2P_DATABASE_URL", url)
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "Could not connect to the PostgreSQL database p2p on 127.0.0.1" in err and "P2P_DATABASE_URL" in err
    assert "the-secret" not in err and "Traceback" not in err
    assert not (tmp_path / "p2p.sqlite3").exists()   # no SQLite file made in its place


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path):
    with pytest.raises(DatabaseUnavailable, match="must start with postgresql://.*'mysql'"):
        make_app(tmp_path, DATABASE_URL="mysql://someone:secret@host/p2p")
    assert open_postgresql("postgres://u@h/p2p").database.startswith("postgresql://")


def test_names_sort_whatever_their_case_and_keys_come_back_as_bytes(app):
    from p2p.models import FACILITATOR
    for name in ("bob", "Alice", "Carl", "alfie"):
        User.create_account(name, "a long enough password", role=FACILITATOR)
    assert [u.name for u in User.facilitators()] == ["alfie", "Alice", "bob", "Carl"]
    assert isinstance(User.by_name("Alice").key_by_password, bytes)   # bytea on PostgreSQL, BLOB on SQLite


@pytest.mark.sqlite_only
@pytest.mark.parametrize("written", ["", "abc", "  \n"])
def test_an_empty_or_short_secret_key_file_stops_start_up_saying_what_to_do(tmp_path, written, capsys, monkeypatch):
    from p2p.cli import main
    from p2p.config import BadSecretKey
    make_app(tmp_path, SECRET_KEY=None)
    (tmp_path / "instance" / "secret_key").write_text(written)
    with pytest.raises(BadSecretKey, match=r"holds \d+ characters.*delete the file, and the app makes a new one"):
        make_app(tmp_path, SECRET_KEY=None)
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert exit_.value.code == 3 and "Traceback" not in capsys.readouterr().err
