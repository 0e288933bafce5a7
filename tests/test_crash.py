"""Crash safety: a process saving answers is killed with SIGKILL at random moments, again and again. After
every kill the database passes its integrity check and every save that was acknowledged is there."""

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time

from p2p.backup import integrity_problem

KILLS = 25   # each kill lands at a random moment of a save; 25 met every stage of a commit in the runs here

# One process sets the app up once (importing it and unlocking the workbook take most of a second), then for each
# round forks a saver, which the test has it kill at a random moment: 25 rounds cost seconds, not half a minute.
# Each saver opens its own connection, as a new process would; the parent holds none while it forks.
SAVERS = textwrap.dedent("""
    import os, signal, sys
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
    print("ready", flush=True)
    for line in sys.stdin:   # a first place number: fork a saver starting there; "kill": kill it
        if line.strip() == "kill":
            os.kill(saver, signal.SIGKILL)
            os.waitpid(saver, 0)
            print("killed", flush=True)   # after every line the saver wrote before it died
            continue
        saver = os.fork()
        if saver:
            continue
        with db.connection_context():
            workbook = Workbook(user, key)
            n = int(line)
            print("saving", flush=True)
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

    def acknowledge(line: str) -> None:
        if line.strip().isdigit():
            acknowledged.add(int(line))

    next_n = 0
    savers = subprocess.Popen([sys.executable, "-c", SAVERS, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert savers.stdout.readline().strip() == "ready"
        for _ in range(KILLS):
            savers.stdin.write(f"{next_n}\n")
            savers.stdin.flush()
            assert savers.stdout.readline().strip() == "saving"
            deadline = time.monotonic() + random.uniform(0.01, 0.25)
            while time.monotonic() < deadline:
                acknowledge(savers.stdout.readline())
            savers.stdin.write("kill\n")
            savers.stdin.flush()
            for line in iter(savers.stdout.readline, "killed\n"):   # lines written before the kill
                assert line, "the saving process ended"
                acknowledge(line)
            next_n = max(acknowledged, default=next_n) + 1000  # fresh places each round
            assert integrity_problem(tmp_path / "crash.sqlite3") is None
    finally:
        savers.kill()
        savers.wait()
    connection = sqlite3.connect(tmp_path / "crash.sqlite3")
    try:
        places = {row[0] for row in connection.execute("select place from answer")}
    finally:
        connection.close()
    saved = {int(p.rsplit("-", 1)[1]) for p in places}
    assert len(acknowledged) > KILLS
    assert acknowledged <= saved, f"lost: {sorted(acknowledged - saved)[:10]}"
