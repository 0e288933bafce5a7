"""Crash safety: a process saving answers is killed with SIGKILL at random moments, again and again. After
every kill the database passes its integrity check and every save that was acknowledged is there."""

import os
import queue
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

from p2p.backup import integrity_problem

KILLS = 25   # each kill lands at a random moment of a save; 25 met every stage of a commit in the runs here

# One process sets the app up once (importing it and unlocking the workbook take most of a second), then for each
# round forks a saver, which the test has it kill at a random moment: 25 rounds cost seconds, not half a minute.
# Each saver opens its own connection, as a new process would: the parent closes every one it has before forking
# (an SQLite connection must not cross a fork). Each line is one write(2) of a few bytes, which a pipe takes whole:
# a saver killed mid-print (print writes the number and its newline apart when output is unbuffered, as
# PYTHONUNBUFFERED makes it) would leave half a line for the next one to be glued to.
SAVERS = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from p2p import create_app
    from p2p.answers import Workbook
    from p2p.db import close_all, db
    from p2p.models import User

    def say(line):
        os.write(1, f"{line}\\n".encode())

    tmp = Path(sys.argv[1])
    create_app({"TESTING": True, "SECRET_KEY": "t" * 32, "INSTANCE_PATH": str(tmp / "instance"),
                "DATABASE": str(tmp / "crash.sqlite3"), "ARGON2_MEMORY_KIB": 8, "ARGON2_TIME_COST": 1,
                "BACKUP_EVERY_HOURS": 0})
    with db.connection_context():
        user = User.by_name("Saver") or User.create_account("Saver", "a long enough password")
        key = user.unlock_with_password("a long enough password")
    close_all()
    say("ready")
    for line in sys.stdin:   # a first place number: fork a saver starting there; "kill": kill it
        if line.strip() == "kill":
            os.kill(saver, signal.SIGKILL)
            os.waitpid(saver, 0)
            say("killed")   # after every line the saver wrote before it died
            continue
        saver = os.fork()
        if saver:
            continue
        with db.connection_context():
            workbook = Workbook(user, key)
            n = int(line)
            say("saving")
            while True:
                # Both ways a save commits: one statement on its own (a first answer, on "none seen": 0) and a
                # transaction (None: whatever is there, replaced).
                workbook.save(f"p2p/module-1/session-1/q-{n}", f"answer {n}", None if n % 2 else 0)
                say(n)   # acknowledged: the commit has returned
                n += 1
""")
WAIT = 30   # seconds for an answer from the savers' process that always comes at once: a hang fails, not stalls


def test_kill_9_at_random_loses_no_acknowledged_save(tmp_path):
    random.seed(int(os.environ.get("CRASH_SEED", time.time())))
    acknowledged: set[int] = set()
    savers = subprocess.Popen([sys.executable, "-c", SAVERS, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in savers.stdout], daemon=True).start()

    def until(said: str) -> None:
        """Reads what the savers say up to `said`, taking every number on the way as acknowledged."""
        while (line := lines.get(timeout=WAIT)) != said:
            assert line.isdigit(), f"the savers said {line!r}, waiting for {said!r}"
            acknowledged.add(int(line))

    def order(what: str) -> None:
        savers.stdin.write(f"{what}\n")
        savers.stdin.flush()

    try:
        until("ready")
        next_n = 0
        for _ in range(KILLS):
            order(str(next_n))
            until("saving")
            deadline = time.monotonic() + random.uniform(0.01, 0.25)
            while (left := deadline - time.monotonic()) > 0:
                try:
                    acknowledged.add(int(lines.get(timeout=left)))
                except queue.Empty:
                    break
            order("kill")
            until("killed")   # the lines written before the kill
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
