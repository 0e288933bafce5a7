"""Live push across processes, on PostgreSQL: a change made through one server process reaches the streams held
by the others (p2p/live.py: each process LISTENs on `p2p_live`, and a change is announced there with NOTIFY once
it has committed). Real servers in their own processes (`p2p serve` twice, and gunicorn as deploy/p2p.service
runs it), on one database; each screen is plain HTTP with its person's session cookie, as a browser's EventSource
would be."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import psycopg
import pytest
from conftest import FAST_HASHING, PASSWORD, TEST_SECRET, free_port_nobody_listens_on
from test_stream import poller

from p2p import live, stream

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.postgres_only


# -- Servers and screens --------------------------------------------------------------------------------------


class Server:
    """A server process on the test's database (`{port}` in its command: a free port)."""

    def __init__(self, command: list[str], env: dict, instance: Path):
        self.port = free_port_nobody_listens_on()
        self.process = subprocess.Popen([part.format(port=self.port) for part in command], cwd=PROJECT_ROOT,
                                        env={**env, "P2P_PORT": str(self.port), "P2P_INSTANCE_PATH": str(instance)},
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)

    def wait_until_up(self, deadline: float) -> None:
        while Phone(self.port).request("GET", "/healthz")[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"{self.process.args[0]} did not start:\n{self.process.communicate()[1]}")
            time.sleep(0.1)

    def stop(self) -> float:
        """Stopped as systemd stops it (SIGTERM); how many seconds it took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stderr.close()
        return time.monotonic() - started


@contextlib.contextmanager
def servers(database_url: str, folder: Path, *commands: list[str], **settings: str):
    """Each command started as a server on the test's database, all at once; yields them once each answers
    /healthz. They share the secret key, as processes of one site do."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("P2P_")}
    env.update({"P2P_DATABASE_URL": database_url, "P2P_SECRET_KEY": TEST_SECRET, "P2P_BACKUP_EVERY_HOURS": "0",
                "P2P_HOST": "127.0.0.1", **{f"P2P_{k}": str(v) for k, v in {**FAST_HASHING, **settings}.items()},
                # the code beside these tests, also when the virtual environment's install is another checkout's
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))})
    started = []
    try:
        for n, command in enumerate(commands):
            started.append(Server(command, env, folder / f"instance-{n}"))
        deadline = time.monotonic() + 30
        for server in started:
            server.wait_until_up(deadline)
        yield started
    finally:
        for server in started:
            server.stop()


class Phone:
    """One person's screen on one server: their cookies and the form token of the last page."""

    def __init__(self, port: int):
        self.port, self.cookies, self.token = port, {}, ""

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def headers(self, **more) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **more}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = self.connection()
        headers = self.headers(**({"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}))
        try:
            body = urlencode({**form, "csrf_token": self.token}) if form is not None else None
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
            page = answer.read().decode()
        except OSError:
            return 0, ""
        finally:
            connection.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";")[0]
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if found:
            self.token = found.group(1)
        return answer.status, page

    def log_in(self, name: str) -> Phone:
        self.request("GET", "/login")
        status, _ = self.request("POST", "/login", {"name": name, "password": PASSWORD})
        assert status == 302, f"{name} could not log in"
        return self

    def propose(self, group_id: int, words: str) -> None:
        self.request("GET", f"/groups/{group_id}/board")
        assert self.request("POST", f"/groups/{group_id}/board/proposals", {"text": words})[0] == 302

    def follow_board(self, group_id: int) -> Events:
        """The board page, then its stream as static/js/live.js opens it (the poller's address as its feed)."""
        status, page = self.request("GET", f"/groups/{group_id}/board")
        assert status == 200
        return Events(self, f"/groups/{group_id}/stream?feed={quote(poller(page), safe='')}")


class Events:
    """A stream's events as they arrive, read in a thread of its own: (name, data, when) for each."""

    def __init__(self, phone: Phone, path: str):
        self.connection = phone.connection()
        self.connection.request("GET", path, headers=phone.headers(Accept="text/event-stream"))
        self.socket = self.connection.sock   # (the connection lets go of it once the answer is to be read to its end)
        self.answer = self.connection.getresponse()
        assert self.answer.status == 200 and self.answer.getheader("Content-Type").startswith("text/event-stream")
        self.events: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        name, data = "", []
        try:
            for line in iter(self.answer.readline, b""):
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and name:
                    self.events.put((name, "\n".join(data), time.monotonic()))
                    name, data = "", []
        except OSError:   # closed by the test
            pass

    def next(self, wanted: str = "update", timeout: float = 10) -> tuple[str, float]:
        """The next event's data and when it arrived; it must be a `wanted` one."""
        name, data, when = self.events.get(timeout=timeout)
        assert name == wanted, (name, data)
        return data, when

    def close(self):
        """The screen goes: its connection ends (the reader sees its end first, then it is closed)."""
        with contextlib.suppress(OSError):   # gone already
            self.socket.shutdown(socket.SHUT_RDWR)
        self.reader.join(timeout=5)
        self.answer.close()
        self.socket.close()


def listening(database_url: str) -> set[int]:
    """The connections (server processes' ids) that LISTEN on the live channel of this database now: one for each
    server process that holds a stream."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        return {pid for pid, in connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                                                   "current_database() AND query = %s", (f"LISTEN {live.CHANNEL}",))}


def wait_for_listeners(database_url: str, most: int, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while len(found := listening(database_url)) < most and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(found)


# -- In one process: the listener ------------------------------------------------------------------------------


@pytest.fixture
def listener(app, monkeypatch):
    """A listener of the test's own on its database, quiet afterwards: Listener has no stop (a process listens for
    its whole life), so its connection is cut, and its pause before it listens again never ends."""
    url = app.config["DATABASE_URL"]
    before = listening(url)   # this process's own listener may be on this database already (test_stream)
    heard = live.Listener()
    heard.start(url)
    assert heard.connected.wait(10)
    deadline = time.monotonic() + 10
    while not (mine := listening(url) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield heard
    parked = threading.Event()
    monkeypatch.setattr(live, "time", SimpleNamespace(sleep=lambda _seconds: parked.set() or threading.Event().wait()))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (list(mine),))
    assert parked.wait(10) and not heard.connected.is_set()


def test_a_listener_hears_a_change_announced_on_another_connection(app, listener):
    group = 10**9 + 14   # nobody's: nothing else rings it
    rang = seen = live.doorbell.rings(group)
    with psycopg.connect(app.config["DATABASE_URL"], autocommit=True) as another:
        another.execute("SELECT pg_notify(%s, %s)", (live.CHANNEL, "not one of ours"))   # ignored, nothing ends
        another.execute("SELECT pg_notify(%s, %s)", (live.CHANNEL, f"board\t{group}\t7\t"))
    deadline = time.monotonic() + 10
    while live.doorbell.version(("board", group, "")) != 7 and time.monotonic() < deadline:
        rang = live.doorbell.wait(group, rang, 0.5)
    assert live.doorbell.version(("board", group, "")) == 7
    assert rang > seen or live.doorbell.rings(group) > seen   # the group's bell rang: its streams look


# -- Two `p2p serve` processes on one database ----------------------------------------------------------------


def test_a_proposal_made_through_one_server_process_reaches_a_stream_held_by_another(app, room, tmp_path):
    url, group = app.config["DATABASE_URL"], room.group.id
    serve = [str(BIN / "p2p"), "serve"]
    with servers(url, tmp_path, serve, serve) as (a, b):
        alice, bob = Phone(a.port).log_in("Alice"), Phone(b.port).log_in("Bob")
        events = bob.follow_board(group)
        events.next("hello")
        assert wait_for_listeners(url, 1) == 1   # B listens (A holds no stream, so it has no need to)
        alice.propose(group, "Listen without judging")
        proposed = time.monotonic()
        update, arrived = events.next()
        assert "Listen without judging" in update and "Alice" not in update
        # Pushed: without the notification, B's stream would find the change only at its next look at the
        # database, CHECK_SECONDS after it opened.
        assert arrived - proposed < stream.CHECK_SECONDS / 2
        events.close()


# -- gunicorn's worker processes, as deploy/p2p.service runs them ----------------------------------------------

def the_units_gunicorn(**options) -> list[str]:
    """deploy/p2p.service's gunicorn command, on a free port, with some of its numbers made smaller."""
    unit = (PROJECT_ROOT / "deploy" / "p2p.service").read_text()
    command = re.search(r"^# ExecStart=\S+/gunicorn (.*)$", unit, re.M).group(1).split()
    for name, value in {"bind": "127.0.0.1:{port}", **options}.items():
        command[command.index(f"--{name.replace('_', '-')}") + 1] = str(value)
    return [str(BIN / "gunicorn"), *command]


def test_with_gunicorn_workers_every_stream_gets_each_change_once_whichever_worker_holds_it(app, room, tmp_path):
    url, group = app.config["DATABASE_URL"], room.group.id
    # Per worker 12 streams and 8 threads for everything else (the unit: 200 and 8); open streams cut after 1 s.
    command = the_units_gunicorn(threads=20, graceful_timeout=1)
    with servers(url, tmp_path, command, LIVE_STREAMS=12) as (workers,):
        alice, bob = Phone(workers.port).log_in("Alice"), Phone(workers.port).log_in("Bob")
        # Tabs, each its own connection, taken by whichever worker accepts it first: six, and more (up to one
        # worker's budget) while they all went to one worker (each worker listens once it holds a stream), since
        # the streams must be held by more than one. (Six went to one worker now and then on a busy machine.)
        screens = []
        while len(screens) < 6 or (len(listening(url)) < 2 and len(screens) < 12):
            screens.append(bob.follow_board(group))
            screens[-1].next("hello")
        assert wait_for_listeners(url, 2) >= 2
        for words in ("Be on time", "Phones on silent"):
            alice.propose(group, words)
            proposed = time.monotonic()
            for events in screens:
                update, arrived = events.next()   # the very next event: nothing came in between
                assert words in update and "Be on time" not in update.replace(words, "")   # never again
                assert arrived - proposed < stream.CHECK_SECONDS / 2   # pushed, not found at a stream's own look
        # A stop (systemd's SIGTERM) with every screen still open: the streams are cut, not waited for (without
        # --graceful-timeout, for 30 s: beyond the unit's TimeoutStopSec, so systemd killed it).
        assert workers.stop() < 10
        for events in screens:
            events.close()
