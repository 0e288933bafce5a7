"""The real server for the benchmarks, in its own process(es), on a free loopback port, over a fresh instance holding
the room's groups and people with real passwords (real Argon2id cost: logins cost what they cost).

Two ways to serve, as the README's hosts do: `p2p serve` (one waitress process, SQLite), and gunicorn with several
gthread workers on a PostgreSQL server of its own (started and thrown away here, as tests/pg_server.sh does)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "a long enough benchmark password"
FACILITATOR_NAME = "Bench facilitator"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = PROJECT_ROOT / "tests" / "pg_server.sh"

# Every live stream holds a server thread (a gthread worker's thread): each worker runs its LIVE_STREAMS and THREADS
# (8) more, as docs/hosting.md tells hosts (its defaults: 200 and 8). Fewer a worker (60, 180 in all) was tried: the
# workers do not take the room's connections evenly, so the one that took most told a few screens to poll.
GUNICORN_WORKERS = 3
GUNICORN_STREAMS = 200           # streams one worker holds; beyond them a screen is told to poll (204)
GUNICORN_THREADS = GUNICORN_STREAMS + 8
# glibc's malloc as the unit file sets it for hosts (two arenas, no per-thread caches: the reasons are there).
SERVER_ENV = dict(re.findall(r"^Environment=((?:MALLOC|GLIBC)_\w+)=(\S+)$",
                             (PROJECT_ROOT / "deploy" / "p2p.service").read_text(), re.M))
# `p2p serve` as a host on SQLite has it: `make run` installs no PostgreSQL driver (that is the `postgres` extra), but
# this .venv has one for the PostgreSQL step, and peewee imports it whenever it is installed: ~11 MB resident (psycopg,
# its libpq and asyncio) that a Raspberry Pi's server does not hold.
SERVE_AS_ON_SQLITE = "import sys; sys.modules.update(psycopg=None, psycopg2=None); from p2p.cli import main; main(['serve'])"


@dataclass
class Group:
    """One group of the room: its facilitator (who also runs its projector) and its participants."""
    id: int
    name: str
    facilitator: str
    names: list[str]
    join_code: str


@dataclass
class Server:
    base: str
    pid: int
    groups: dict[str, Group]     # by the bench's name for it ("room 1" …, "twelve, polling", "twelve, push")
    names: list[str]             # every participant, in order (each in at least one group)
    startup_seconds: float
    output: Path                 # what the server printed (waitress's "Task queue depth" warnings land here)
    kind: str = "waitress"
    rooms: list[str] = field(default_factory=list)   # the groups of the big room, in order

    @property
    def first(self) -> Group:
        """The first group of the big room: the one logins, joins and throughput use."""
        return self.groups[self.rooms[0]]

    def errors_logged(self) -> list[str]:
        """The app's own log lines at level error (instance/logs/p2p.log: an error's type and where, no message)."""
        return [line for path in sorted(self.output.parent.glob("logs/p2p.log*"))
                for line in path.read_text(errors="replace").splitlines() if "level=error" in line]

    def pids(self) -> list[int]:
        """The server's processes: the one started, and its workers if it forks (gunicorn)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                children.append(int(stat.parent.name))
        return [self.pid, *children]

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        """Resident memory of the server's processes now (VmRSS), or at their highest so far (VmHWM), in MB. With
        several workers this adds up pages they share (--preload): an upper bound."""
        total = 0
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in lines if line.startswith(field_name + ":")), 0)
        return total / 1024

    def cpu_seconds(self) -> float:
        """CPU time the server's processes have used so far (user + system). Less swayed than latency by other work
        on the machine: the bench reports it beside the latencies."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_people(instance: Path, layout: dict[str, list[str]], database_url: str = "") -> dict[str, Group]:
    """The groups of `layout` (name -> its participants' names), each with a facilitator, made through the app's own
    models. A name in several groups is one person in each. Group number n has "Bench facilitator" (n = 1) or
    "Bench facilitator n"; the facilitator of the first group also runs any group after the fifth."""
    settings = {"P2P_INSTANCE_PATH": str(instance), "P2P_DATABASE_URL": database_url}
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        from p2p import create_app
        from p2p.db import db
        from p2p.models import FACILITATOR, Membership, User
        from p2p.models import Group as GroupRow
        create_app()
        accounts: dict[str, User] = {}

        def account(name: str, role=None) -> User:
            if name not in accounts:
                accounts[name] = (User.create_account(name, PASSWORD, role=role) if role
                                  else User.create_account(name, PASSWORD))
            return accounts[name]

        groups = {}
        with db.connection_context():
            for n, (label, names) in enumerate(layout.items(), start=1):
                facilitator = FACILITATOR_NAME if n == 1 or n > 5 else f"{FACILITATOR_NAME} {n}"
                row = GroupRow.create_for(account(facilitator, FACILITATOR), 14, name=f"Bench {label}", programme="p2p")
                for name in names:
                    Membership.join(account(name), row)
                groups[label] = Group(row.id, label, facilitator, list(names), row.join_code)
        return groups
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def known_setting(name: str) -> bool:
    """Whether this version of the app has the setting (an unknown P2P_* variable stops the server)."""
    from p2p.config import DEFAULTS
    return name in DEFAULTS


def _wait_until_listening(process: subprocess.Popen, port: int, output: Path, started: float) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the server stopped: " + output.read_text()) from None
            if time.perf_counter() - started > 60:
                raise RuntimeError("the server did not start within 60 s") from None
            time.sleep(0.02)


@contextmanager
def running_server(layout: dict[str, list[str]], rooms: list[str], threads: int | None = None,
                   database_url: str = ""):
    """Yields a Server: `p2p serve` started the way a host starts it (or, with a PostgreSQL `database_url`, gunicorn
    with GUNICORN_WORKERS gthread workers), timed until it accepts connections."""
    with tempfile.TemporaryDirectory(prefix="p2p-bench-") as tmp:
        instance = Path(tmp)
        groups = make_people(instance, layout, database_url)
        names = list(dict.fromkeys(name for label in layout for name in layout[label]))
        port = free_port()
        env = {**os.environ, **SERVER_ENV, "P2P_INSTANCE_PATH": str(instance), "P2P_BACKUP_EVERY_HOURS": "0"}
        if database_url:
            env["P2P_DATABASE_URL"] = database_url
            if known_setting("LIVE_STREAMS"):
                env["P2P_LIVE_STREAMS"] = str(GUNICORN_STREAMS)
            # gunicorn keeps what Argon2id took unless told to give it back (docs/benchmarks.md, `p2p serve` does it)
            env["MALLOC_MMAP_THRESHOLD_"] = "1048576"
            command = [str(Path(sys.executable).parent / "gunicorn"), "--preload", "--worker-class", "gthread",
                       "--workers", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS), "--graceful-timeout", "5",
                       "--bind", f"127.0.0.1:{port}", "--chdir", str(PROJECT_ROOT), "app:app"]
        else:
            env.update({"P2P_HOST": "127.0.0.1", "P2P_PORT": str(port)})
            if threads:
                env["P2P_THREADS"] = str(threads)
            command = [sys.executable, "-c", SERVE_AS_ON_SQLITE]
        started = time.perf_counter()
        # Its output goes to a file: a pipe nobody reads would block the server once full (waitress warns there).
        output_path = instance / "server-output.txt"
        output = open(output_path, "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(server, port, output_path, started)
            yield Server(f"http://127.0.0.1:{port}", server.pid, groups, names, time.perf_counter() - started,
                         output_path, "gunicorn" if database_url else "waitress", list(rooms))
        finally:
            server.terminate()
            try:
                server.wait(timeout=180 if os.environ.get("BENCH_INSIDE") else 20)   # the hooks write at the end
            except subprocess.TimeoutExpired:
                server.kill()
            output.close()


def postgresql_missing() -> str:
    """Why a PostgreSQL server cannot be started here ("" if it can)."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return "PostgreSQL's server programs are not installed (apt-get install postgresql)"
    if not shutil.which("gunicorn", path=str(Path(sys.executable).parent)):
        return "gunicorn is not installed (pip install -e '.[bench]')"
    try:
        import psycopg  # noqa: F401 - only whether it is there
    except ImportError:
        return "psycopg is not installed (pip install -e '.[bench]')"
    return ""


@contextmanager
def throwaway_postgresql():
    """A PostgreSQL server of its own for the run, started and removed by tests/pg_server.sh; yields its URL."""
    started = subprocess.run(["bash", str(PG_SERVER), "start"], capture_output=True, text=True, check=True)
    folder, url = started.stdout.split()
    try:
        yield url
    finally:
        subprocess.run(["bash", str(PG_SERVER), "stop", folder], capture_output=True, check=False)
