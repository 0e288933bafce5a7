"""Crash safety: a process saving answers is killed with SIGKILL at random moments, again and again. After
every kill the database passes its integrity check and every save that was acknowledged is there."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from p2p.backup import integrity_problem

KILLS = 25   # each kill lands at a random moment of a save; 25 met every stage of a commit in the runs here

SAVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from p2p import create_app
    from p2p.answers import Workbook
    from p2p.db import db
    from p2p.models import User

    tmp = Path(sys.argv[1])
    create_app({"TESTING": True, "SECRET_KEY": "t" * 32, "INSTANCE_PATH": str(tmp / "instance"),
                "DATABASE": str(tmp / "crash.sqlite3"), "ARGON2_MEMORY_KIB": 8, "ARGON2_TIME_COST": 1,
                "BACKUP_EVERY_HOURS": 0})
    with db.connection_context():
        user = User.by_name("Saver") or User.create_account("Saver", "a long enough password")
        key = user.unlock_with_password("a long enough password")
        workbook = Workbook(user, key)
        n = int(sys.argv[2])
        print("ready", flush=True)
        while True:
            # Both ways a save commits: one statement on its own (a first answer, on "none seen": 0) and a
            # transaction (None: whatever is there, replaced).
            workbook.save(f"p2p/module-1/session-1/q-{n}", f"answer {n}", None if n % 2 else 0)
            print(n, flush=True)   # acknowledged: the commit has returned
            n += 1
""")


def test_kill_9_at_random_loses_no_acknowledged_save(tmp_path):
    random.seed(int(os.environ.get("CRASH_SEED", time.time())))
    acknowledged: set[int] = set()
    next_n = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path), str(next_n)],
                                 stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + random.uniform(0.01, 0.25)
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if line.strip().isdigit():
                acknowledged.add(int(line))
        os.kill(child.pid, signal.SIGKILL)
        for line in child.stdout.read().splitlines():   # lines already written before the kill
            if line.strip().isdigit():
                acknowledged.add(int(line))
        child.wait()
        next_n = max(acknowledged, default=next_n) + 1000  # fresh places each round
        assert integrity_problem(tmp_path / "crash.sqlite3") is None
    connection = sqlite3.connect(tmp_path / "crash.sqlite3")
    try:
        places = {row[0] for row in connection.execute("select place from answer")}
    finally:
        connection.close()
    saved = {int(p.rsplit("-", 1)[1]) for p in places}
    assert len(acknowledged) > KILLS
    assert acknowledged <= saved, f"lost: {sorted(acknowledged - saved)[:10]}"
