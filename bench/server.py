"""The real server for the benchmarks: `p2p serve` in its own process, on a free loopback port, over a fresh
instance holding one group of people with real passwords (real Argon2id cost: logins cost what they cost)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "a long enough benchmark password"
FACILITATOR_NAME = "Bench facilitator"


@dataclass
class Server:
    base: str
    pid: int
    group_id: int
    names: list[str]            # the participants, all in the group
    join_code: str              # the group's code, as its QR code carries it
    startup_seconds: float
    output: Path                # what the server printed (waitress's "Task queue depth" warnings land here)

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory of the server process now (VmRSS), or at its highest so far (VmHWM), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field}")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system). Less swayed than latency by other work
        on the machine: the bench reports it per request beside the latencies."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_people(instance: Path, count: int) -> tuple[list[str], int, str]:
    """A facilitator and `count` participants in one group, made through the app's own models."""
    os.environ["P2P_INSTANCE_PATH"] = str(instance)
    from p2p import create_app
    from p2p.db import db
    from p2p.models import FACILITATOR, Group, Membership, User
    create_app()
    with db.connection_context():
        facilitator = User.create_account(FACILITATOR_NAME, PASSWORD, role=FACILITATOR)
        group = Group.create_for(facilitator, 14, name="Bench group", programme="p2p")
        names = [f"Person {n}" for n in range(1, count + 1)]
        for name in names:
            Membership.join(User.create_account(name, PASSWORD), group)
    return names, group.id, group.join_code


@contextmanager
def running_server(people: int, threads: int | None = None):
    """Yields a Server: `p2p serve` started the way a host starts it, timed until it accepts connections."""
    with tempfile.TemporaryDirectory(prefix="p2p-bench-") as tmp:
        instance = Path(tmp)
        names, group_id, join_code = make_people(instance, people)
        port = free_port()
        env = {**os.environ, "P2P_INSTANCE_PATH": str(instance), "P2P_HOST": "127.0.0.1", "P2P_PORT": str(port),
               "P2P_BACKUP_EVERY_HOURS": "0"}
        if threads:
            env["P2P_THREADS"] = str(threads)
        started = time.perf_counter()
        # Its output goes to a file: a pipe nobody reads would block the server once full (waitress warns there).
        output = open(instance / "server-output.txt", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen([sys.executable, "-c", "from p2p.cli import main; main(['serve'])"], env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError("the server stopped: "
                                           + (instance / "server-output.txt").read_text()) from None
                    if time.perf_counter() - started > 60:
                        raise RuntimeError("the server did not start within 60 s") from None
                    time.sleep(0.02)
            yield Server(f"http://127.0.0.1:{port}", server.pid, group_id, names, join_code,
                         time.perf_counter() - started, instance / "server-output.txt")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            output.close()
