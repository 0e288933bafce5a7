"""30 people logging in within a few seconds, against the real server with the real key derivation.

Each login verifies an Argon2id password hash and derives the workbook key with Argon2id, so this is the
moment of a session when the server works hardest. Prints the time until the last person is in.

    make bench          (or: .venv/bin/python -m bench.login [--people 30])

With P2P_BENCH_JSON=path, also writes {"login_30_seconds": ...} there (merged with what is in the file).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "a long enough benchmark password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_people(instance: Path, count: int) -> tuple[list[str], int]:
    os.environ["P2P_INSTANCE_PATH"] = str(instance)
    from p2p import create_app
    from p2p.models import FACILITATOR, Group, Membership, User
    create_app()
    facilitator = User.create_account("Bench facilitator", PASSWORD, role=FACILITATOR)
    group = Group.create_for(facilitator, 14, name="Bench group", programme="p2p")
    names = [f"Person {n}" for n in range(1, count + 1)]
    for name in names:
        Membership.join(User.create_account(name, PASSWORD), group)
    return names, group.id


@contextmanager
def running_server(people: int, **_):
    """The real server (`p2p serve`) on a free loopback port, with a group of `people` in a fresh instance.
    Yields (port, names, group id, start-up seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        names, group_id = make_people(instance, people)
        port = free_port()
        env = {**os.environ, "P2P_INSTANCE_PATH": str(instance), "P2P_HOST": "127.0.0.1", "P2P_PORT": str(port),
               "P2P_BACKUP_EVERY_HOURS": "0"}
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-c", "from p2p.cli import main; main(['serve'])"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in server.stdout:
                if "Press Ctrl+C" in line:
                    break
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield port, names, group_id, time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)


def log_in(base: str, name: str, durations: list[float], errors: list[str]) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    started = time.perf_counter()
    try:
        page = opener.open(f"{base}/login", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "name": name, "password": PASSWORD}).encode()
        landing = opener.open(f"{base}/login", data=body, timeout=60).read().decode()
        if f"Hello, {name}" not in landing:
            errors.append(name)
    except Exception as error:  # noqa: BLE001 - a benchmark counts failures, it does not stop at one
        errors.append(f"{name}: {error}")
    durations.append(time.perf_counter() - started)


def run_round(base: str, names: list[str], within: float) -> tuple[float, list[float], list[str]]:
    """Everyone logs in, arriving evenly over `within` seconds; returns (last in after, durations, errors)."""
    durations: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=log_in, args=(base, name, durations, errors)) for name in names]
    began = time.perf_counter()
    for n, thread in enumerate(threads):
        thread.start()
        if n < len(threads) - 1:
            time.sleep(within / len(threads))
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, sorted(durations), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--within", type=float, default=5.0, help="seconds over which they arrive")
    args = parser.parse_args()

    with running_server(args.people) as (port, names, _, startup):
        base = f"http://127.0.0.1:{port}"
        rounds = {within: run_round(base, names, within) for within in (args.within, 0.0)}

    print(f"{'figure':<52}{'value':>10}")
    print(f"{'server start-up (s)':<52}{startup:>10.2f}")
    errors = []
    for within, (last_in, durations, round_errors) in rounds.items():
        how = f"arriving over {within:g} s" if within else "all at once"
        p95 = durations[max(0, int(len(durations) * 0.95) - 1)]
        print(f"{f'{args.people} logins {how}: last in after (s)':<52}{last_in:>10.2f}")
        print(f"{'    one login, median / p95 (ms)':<52}{statistics.median(durations) * 1000:>5.0f} /{p95 * 1000:>4.0f}")
        errors += round_errors
    print(f"{'errors':<52}{len(errors):>10}")
    for error in errors[:5]:
        print(f"  {error}")
    last_in = rounds[args.within][0]
    if os.environ.get("P2P_BENCH_JSON"):
        path = Path(os.environ["P2P_BENCH_JSON"])
        figures = json.loads(path.read_text()) if path.exists() else {}
        figures.update({"login_30_seconds": round(last_in, 3), "startup_seconds": round(startup, 3)})
        path.write_text(json.dumps(figures, indent=2))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
