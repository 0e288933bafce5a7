"""The real server for browser tests, started the way a host starts it: `p2p serve` in its own process.

The unit tests' `app` fixture is not used here on purpose: peewee's database proxy is process-global, so a
second app in the test process would re-point it. The browser only ever talks to this subprocess, and
`p2p demo` / `p2p setup-link` run as further subprocesses against the same instance folder.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
P2P = Path(sys.executable).parent / "p2p"   # the console script installed beside this Python
START_TIMEOUT = 30                          # seconds for `p2p serve` to say it is ready
PASSWORD = "a calm long password"           # for accounts the tests make through the UI


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Account:
    role: str
    name: str
    password: str


@dataclass(frozen=True)
class Demo:
    """What `p2p demo` printed: one facilitator, some participants, and the demo group's join code."""

    facilitator: Account
    participants: tuple[Account, ...]
    join_code: str
    group_name: str = "Demo group"


class LiveServer:
    """`p2p serve` on 127.0.0.1 and a free port, with its own instance folder (database, secret key)."""

    def __init__(self, instance: Path):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Only our P2P_* settings: a developer's own environment must not leak into the test server.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("P2P_")}
        self.env.update({
            "P2P_INSTANCE_PATH": str(instance),
            "P2P_HOST": "127.0.0.1",
            "P2P_PORT": str(self.port),
            # Argon2 at its lowest cost: these tests check behaviour, not hashing strength.
            "P2P_ARGON2_MEMORY_KIB": "8",
            "P2P_ARGON2_TIME_COST": "1",
            "PYTHONUNBUFFERED": "1",
            # The code beside these tests, also when the virtual environment's editable install points at another
            # checkout (a git worktree sharing one .venv): PYTHONPATH comes before the install's finder.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
        })
        self.output: list[str] = []
        self.setup_link: str | None = None
        self.process: subprocess.Popen | None = None
        self._drainer: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> LiveServer:
        if not P2P.exists():
            raise RuntimeError(f"{P2P} is missing: install the app into this virtual environment (make test)")
        self.process = subprocess.Popen(
            [str(P2P), "serve"], cwd=PROJECT_ROOT, env=self.env, text=True, bufsize=1,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        # Keep draining the pipe for the server's whole life, so a chatty server can never block on it. Each
        # process has its own queue of lines: after a restart, the old process's end is not read as the new one's.
        lines: queue.Queue[str | None] = queue.Queue()
        self._drainer = threading.Thread(target=self._drain, args=(self.process, lines), name="p2p-serve-output",
                                         daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"`p2p serve` did not start within {START_TIMEOUT} s:\n{self.log}") from None
            if line is None:
                raise RuntimeError(f"`p2p serve` stopped while starting:\n{self.log}")
            if "/setup/" in line:
                self.setup_link = line.strip()
            if "Press Ctrl+C" in line:
                break
        self._wait_for_port(deadline)
        return self

    def _drain(self, process: subprocess.Popen, lines: queue.Queue[str | None]) -> None:
        assert process.stdout
        for line in process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def _wait_for_port(self, deadline: float) -> None:
        # The ready line is printed just before waitress binds the socket.
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process and self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"`p2p serve` is not answering on port {self.port}:\n{self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._drainer:  # the pipe ends with the process: read it to the end before closing it
            self._drainer.join(timeout=10)
        if self.process and self.process.stdout:
            self.process.stdout.close()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The server is down inside the `with` block (as when a Pi is unplugged or the Wi-Fi drops), and back
        after it: the same port and instance folder, so the same database, secret key and sessions. It comes
        back even if the block fails, so later tests in the module still have a server."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @property
    def log(self) -> str:
        return "".join(self.output)

    # -- host commands, against the same instance folder ---------------------------------------------

    def command(self, *args: str) -> str:
        done = subprocess.run([str(P2P), *args], cwd=PROJECT_ROOT, env=self.env, text=True,
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"`p2p {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def new_setup_link(self) -> str:
        """`p2p setup-link`: a fresh one-time link that makes a facilitator account."""
        links = [line.strip() for line in self.command("setup-link").splitlines() if "/setup/" in line]
        assert len(links) == 1, links
        return links[0]

    def demo(self, filled: bool = False) -> Demo:
        """`p2p demo --empty` (the tests bring the group into each state themselves), or `p2p demo` (`filled`):
        it prints a table (role, name, password, join code), one row per account, then a blank line."""
        lines = self.command("demo", *([] if filled else ["--empty"])).splitlines()
        header, rows = lines[0], lines[1:lines.index("")]
        columns = [header.index(title) for title in ("role", "name", "password", "join code")] + [None]
        accounts, codes = [], set()
        for row in rows:
            role, name, password, code = (row[a:b].strip() for a, b in zip(columns, columns[1:]))
            accounts.append(Account(role, name, password))
            codes.add(code)
        assert len(codes) == 1, f"one join code expected, got {codes}"
        facilitators = [a for a in accounts if a.role == "facilitator"]
        participants = tuple(a for a in accounts if a.role == "participant")
        assert len(facilitators) == 1 and len(participants) >= 2, accounts
        return Demo(facilitators[0], participants, codes.pop())
