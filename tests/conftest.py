"""Fixtures: an app on a temporary database, clients, and the people of a small group.

Every test that uses the `app` fixture runs twice: on SQLite (a file under tmp_path) and on PostgreSQL (a fresh
database on the server P2P_TEST_DATABASE_URL names; `make test` starts one). Tests about the SQLite file itself
are marked `sqlite_only`. Without P2P_TEST_DATABASE_URL the PostgreSQL runs are skipped, saying why.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import Rule

import p2p
from p2p import create_app
from p2p.content import load_library
from p2p.db import close_all
from p2p.models import FACILITATOR, PARTICIPANT, Group, Membership, User

PASSWORD = "a calm long password"
TEST_SECRET = "the test suite's own server secret, 32+ characters"

# Argon2 at its lowest cost: the tests check behaviour, not hashing strength.
FAST_HASHING = {"ARGON2_MEMORY_KIB": 8, "ARGON2_TIME_COST": 1}
NO_TIMED_BACKUPS = {"BACKUP_EVERY_HOURS": 0}  # tests of the timed backups start them themselves


# ---------------------------------------------------------------------------------------------------
# The programme library, parsed once per set of files (a test process starts hundreds of apps).


def _content_files(root) -> tuple | None:
    """What load_library reads under `root`: each entry's name and kind, and the bytes of every .toml file in the
    folder and in its programme folders. None when there is no folder."""
    if root is None or not Path(root).is_dir():
        return None
    state = []
    for entry in sorted(Path(root).iterdir()):
        if entry.is_dir():
            state.append((entry.name, "dir", tuple((f.name, f.read_bytes()) for f in sorted(entry.glob("*.toml")))))
        else:
            state.append((entry.name, "file", entry.read_bytes() if entry.suffix == ".toml" else None))
    return tuple(state)


_LIBRARIES: dict = {}


def _library_once(root, host_root=None):
    """create_app's load_library, kept per content: an app started on the same files gets the same (immutable)
    Library. Files that change make a new key, so a test's own content is parsed and checked as it stands; a
    broken file raises each time. tests/test_content*.py call p2p.content.load_library itself."""
    host_files = _content_files(host_root)
    # A host folder's path matters only when it exists: otherwise every test's own instance/ (a new path each
    # time) would parse the shipped content again, 50 ms an app.
    key = (str(root), str(host_root) if host_files is not None else None, _content_files(root), host_files)
    if key not in _LIBRARIES:
        _LIBRARIES[key] = load_library(root, host_root)
    return _LIBRARIES[key]


p2p.load_library = _library_once   # the name create_app calls

_BUILDERS: dict = {}
_compile_builder = Rule._compile_builder


def _builder_once(rule: Rule, append_unknown: bool = True):
    """Werkzeug's URL builder for a rule, compiled once per test process instead of once per app: compiling the
    app's 70 rules took most of create_app (70 ms of 130), and a test run makes an app 1,300 times. The builder
    is a plain function of the rule's parts (the rule itself is its first argument, bound by the caller), so the
    same one serves every app; the key holds everything _compile_builder reads."""
    key = (rule.rule, rule.subdomain, rule.host, repr(rule._trace), repr(sorted((rule.defaults or {}).items())),
           append_unknown)
    if key not in _BUILDERS:
        _BUILDERS[key] = _compile_builder(rule, append_unknown)
    return _BUILDERS[key]


Rule._compile_builder = _builder_once


def make_app(tmp_path, **overrides):
    config = {"TESTING": True, "SECRET_KEY": TEST_SECRET, "INSTANCE_PATH": str(tmp_path / "instance"),
              "DATABASE": str(tmp_path / "test.sqlite3"), **FAST_HASHING, **NO_TIMED_BACKUPS,
              **overrides}
    return create_app(config)


# ---------------------------------------------------------------------------------------------------
# Tests that one xdist worker takes together, in order, with --dist loadgroup (tests/run.sh): the browser tests
# that share one site (tests/browser/conftest.py), and each other browser module (its server is set up once, in
# one worker). By node id, since the controller that schedules has only the ids. (xdist's own xdist_group mark
# works by rewriting node ids, which pytest 9.2 no longer takes: pytest-xdist issue 1386; the mark would silently
# group nothing.)

ONE_WORKER = {"page_checks": ("tests/browser/test_accessibility.py::", "tests/browser/test_html_valid.py::")}
BROWSER_MODULES = "tests/browser/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupedByNodeId(LoadGroupScheduling):
        """Each group one unit of work, sent whole to one worker, largest first (so it starts at once); every
        other test a unit of its own, as with --dist load."""

        def _split_scope(self, nodeid: str) -> str:
            for group, prefixes in ONE_WORKER.items():
                if nodeid.startswith(prefixes):
                    return group
            if nodeid.startswith(BROWSER_MODULES):
                return nodeid.split("::", 1)[0]
            return super()._split_scope(nodeid)
    return GroupedByNodeId(config, log)


# ---------------------------------------------------------------------------------------------------
# The two databases.

TEST_DATABASE_URL = os.environ.get("P2P_TEST_DATABASE_URL", "")
DATABASES = ("sqlite", "postgres")


def pytest_generate_tests(metafunc):
    if "database" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker
        kinds = DATABASES[:1] if marker("sqlite_only") else DATABASES[1:] if marker("postgres_only") else DATABASES
        metafunc.parametrize("database", kinds, indirect=True)


def database_url(server_url: str, name: str) -> str:
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


class PostgresServer:
    """The test server, holding one database at the latest schema. Each test gets it empty: emptied with
    TRUNCATE after the test (tens of milliseconds, where a fresh CREATE DATABASE takes close to a second on a
    busy machine). A test that changed the schema itself (an upgrade test) leaves a database that is dropped
    and made again."""

    SCHEMA = """SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name,
                column_name) || (SELECT string_agg(version::text, ',') FROM schema_version)
                FROM information_schema.columns WHERE table_schema = 'public'"""

    def __init__(self, url: str, instance):
        import psycopg
        self.url, self.instance = url, instance
        self.admin = psycopg.connect(url, autocommit=True)
        self.name, self.connection, self.schema = "", None, None

    def _create(self) -> None:
        import psycopg
        self.name = f"p2p_test_{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "INSTANCE_PATH": str(self.instance),
                    "DATABASE_URL": database_url(self.url, self.name), **NO_TIMED_BACKUPS})   # runs the upgrades
        close_all()
        self.connection = psycopg.connect(database_url(self.url, self.name), autocommit=True)
        self.schema = self.connection.execute(self.SCHEMA).fetchone()[0]

    def database(self) -> str:
        if not self.name:
            self._create()
        return self.name

    def empty(self) -> None:
        """After a test: end its connections (a thread's may linger), then empty every table, or start afresh."""
        close_all()
        self.connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if self.connection.execute(self.SCHEMA).fetchone()[0] != self.schema:
            self.drop()
            return
        tables = [row[0] for row in self.connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_version'")]
        self.connection.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")

    def drop(self) -> None:
        if self.name:
            self.connection.close()
            self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.name = ""

    def close(self) -> None:
        self.drop()
        self.admin.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL: set P2P_TEST_DATABASE_URL to a server's maintenance database "
                    "(make test starts a throwaway server and sets it)")
    server = PostgresServer(TEST_DATABASE_URL, tmp_path_factory.mktemp("template-instance"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database at the latest schema, made once per test process by the app's own start-up (every upgrade
    step, as on a first start), then closed with its WAL folded in. Each test gets a copy of the file: its app
    starts on a database at the latest schema, as after any later start, and no step runs again (those take most
    of an app's start-up). The first start itself, and every upgrade, is tested with make_app on a new folder
    (test_db.py, test_upgrades.py, test_backup.py)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    make_app(folder)
    close_all()
    template = folder / "test.sqlite3"
    with sqlite3.connect(template) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert not template.with_name("test.sqlite3-wal").exists() or not template.with_name("test.sqlite3-wal").stat().st_size
    return template


@pytest.fixture
def database(request, tmp_path) -> dict:
    """The app's database settings: a SQLite file under tmp_path (a copy of sqlite_template), or a fresh
    PostgreSQL database (PostgresServer: emptied after each test)."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield {"DATABASE": str(path)}
        return
    server = request.getfixturevalue("postgres_server")
    yield {"DATABASE": str(tmp_path / "unused.sqlite3"), "DATABASE_URL": database_url(server.url, server.database())}
    server.empty()


@pytest.fixture
def app(tmp_path, database, monkeypatch):
    # No app context is held open here: requests must each get their own, as on a real server
    # (a shared one would carry Flask-Login's user from one test client to the next).
    # A doorbell of its own too (p2p/live.py, one a process): a server has one database for its life, where each
    # test's starts again at version 1, and versions heard of from an earlier test's would look newer.
    from p2p import live
    monkeypatch.setattr(live, "doorbell", live.Doorbell())
    app = make_app(tmp_path, **database)
    yield app
    close_all()


def free_port_nobody_listens_on() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_postgresql(app) -> bool:
    return bool(app.config["DATABASE_URL"])


def database_bytes(app, tmp_path) -> bytes:
    """Everything the database holds, as bytes to search: the SQLite file with its -wal, or on PostgreSQL a
    plain pg_dump (every table's rows, as COPY data; bytea written as hex)."""
    if not on_postgresql(app):
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("test.sqlite3*")))
    import subprocess
    return subprocess.run(["pg_dump", "--dbname", app.config["DATABASE_URL"]], check=True,
                          capture_output=True).stdout


@pytest.fixture
def another_connection(app):
    """On SQLite, a connection of its own kept open, as another worker thread's is on a running server. Without it
    the test's requests close the only connection, and SQLite folds the WAL into the file by itself at that
    moment: a missing checkpoint would go unseen."""
    if on_postgresql(app):
        yield None
        return
    connection = sqlite3.connect(app.config["DATABASE"])
    connection.execute("SELECT count(*) FROM user").fetchall()
    yield connection
    connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def no_turn_to_write(app, monkeypatch):
    """On SQLite, no write gets its turn (db._SqlitePool): another thread holds the process's turn throughout, as
    on a server too busy to give one within TURN_SECONDS (here 0.05 s). With no_turn_to_write(): ... for a part."""
    import contextlib
    import threading

    from p2p import db as db_module
    monkeypatch.setattr(db_module, "TURN_SECONDS", 0.05)

    @contextlib.contextmanager
    def held():
        taken, done = threading.Event(), threading.Event()

        def hold():
            with db_module.db.obj._turn():
                taken.set()
                done.wait()
        holder = threading.Thread(target=hold)
        holder.start()
        taken.wait()
        try:
            yield
        finally:
            done.set()
            holder.join()
    return held


@pytest.fixture
def throttles_clock_still(monkeypatch):
    """The throttles' clock stands still (`time.time` is all models.accounts reads from `time`), for a test that
    counts on a wait not being over yet: on a busy machine a few requests can take longer than the 1 s wait after
    the free tries, and the next try would then rightly go (as CI runs found)."""
    from types import SimpleNamespace

    from p2p.models import accounts
    monkeypatch.setattr(accounts, "time", SimpleNamespace(time=lambda: 2_000_000_000.0))


def text(response) -> str:
    """The page as a person reads it: entities such as &#39; turned back into characters."""
    return html.unescape(response.get_data(as_text=True))


def csrf_token(client, path="/"):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client, path, data=None, *, token_from="/", **kwargs):
    """POST as the browser would: with the CSRF token the page carries."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(path, data=data, **kwargs)


def login(client, name, password=PASSWORD, **kwargs):
    response = post(client, "/login", {"name": name, "password": password}, token_from="/login", **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@dataclass
class Room:
    """A group with a facilitator and two participants, plus a second group for cross-group checks."""

    group: Group
    facilitator: User
    alice: User
    bob: User
    other_group: Group
    other_facilitator: User
    outsider: User


@pytest.fixture
def room(app) -> Room:
    facilitator = User.create_account("Fran", PASSWORD, role=FACILITATOR)
    alice = User.create_account("Alice", PASSWORD)
    bob = User.create_account("Bob", PASSWORD)
    group = Group.create_for(facilitator, 14, name="Tuesday group", programme="p2p")
    Membership.join(alice, group)
    Membership.join(bob, group)
    other_facilitator = User.create_account("Oona", PASSWORD, role=FACILITATOR)
    outsider = User.create_account("Olly", PASSWORD)
    other_group = Group.create_for(other_facilitator, 14, name="Other group", programme="p2p")
    Membership.join(outsider, other_group)
    return Room(group, facilitator, alice, bob, other_group, other_facilitator, outsider)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client logged in as that person."""
    def make(user):
        c = app.test_client()
        login(c, user.name)
        return c
    return make


__all__ = ["PASSWORD", "post", "login", "csrf_token", "make_app", "text", "PARTICIPANT", "on_postgresql"]
