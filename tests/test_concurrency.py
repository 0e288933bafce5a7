"""Many writers at once: the counters and revisions the app relies on stay exact on SQLite (IMMEDIATE
transactions) and on PostgreSQL (READ COMMITTED, with upserts and row locks), and the live board stays correct
when several gunicorn worker processes serve one room."""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from conftest import FAST_HASHING, PASSWORD, free_port_nobody_listens_on

from p2p import crypto
from p2p.answers import Workbook
from p2p.db import close_all, db
from p2p.models import Board, BoardResponse, Membership, Proposal, Throttle, User

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def at_once(count: int, work) -> list:
    """Run work(n) in `count` threads released together; return what each returned (exceptions re-raised)."""
    start, results, errors = threading.Barrier(count), [None] * count, []

    def run(n):
        try:
            with db.connection_context():
                start.wait()
                results[n] = work(n)
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_failures_counted_at_once_all_count(app):
    def fail(n):
        for _ in range(25):
            Throttle.fail("login:sam", 900)
    at_once(8, fail)
    assert Throttle.get(Throttle.key == Throttle.hashed("login:sam")).count == 200
    assert Throttle.blocked("login:sam", 200, 900)


def test_saves_at_once_to_one_answer_each_get_their_own_revision(app, room):
    place = "p2p/module-1/session-1/anything-challenging"

    def save(n):
        workbook = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
        return [workbook.save(place, f"tab {n} save {i}", None)[0] for i in range(10)]
    revisions = [r for saved in at_once(6, save) for r in saved]
    assert sorted(revisions) == list(range(1, 61))   # the very first save raced too: one insert, then updates
    assert Workbook(User.get_by_id(room.alice.id), room.alice.data_key).get(place).revision == 60


def test_saves_at_once_on_the_version_seen_write_one_and_show_the_others_both(app, room):
    """Six tabs that all saw revision 1 send their words at once: one is written, and each of the others is shown
    that one beside its own (nothing written over it)."""
    place = "p2p/module-1/session-1/anything-challenging"
    alice = lambda: Workbook(User.get_by_id(room.alice.id), room.alice.data_key)  # noqa: E731
    with db.connection_context():
        alice().save(place, "first", 0)
    outcomes = at_once(6, lambda n: alice().save(place, f"tab {n}", 1))
    with db.connection_context():
        kept = alice().get(place)
    assert [o for o in outcomes if o.other is None] == [(2, None)]
    assert kept.revision == 2 and kept.value in {f"tab {n}" for n in range(6)}
    assert all(o.revision == 2 and o.other.value == kept.value for o in outcomes if o.other is not None)


@pytest.mark.sqlite_only
def test_saves_at_once_take_turns_in_the_app_never_in_sqlite(app, room):
    """SQLite's busy handler sleeps in growing steps, and not in turn: with 50 saves at once on a busy machine some
    waited past its timeout ("database is locked": "Not saved — retrying"). Saves take turns on the app's own lock
    instead, each for one statement: with no busy timeout at all, none of them meets SQLite's lock."""
    db.obj._pragmas = [(name, 0 if name == "busy_timeout" else value) for name, value in db.obj._pragmas]
    close_all()   # the pooled connections had the timeout

    def save(n):
        workbook, place = Workbook(User.get_by_id(room.alice.id), room.alice.data_key), f"p2p/module-1/session-1/q-{n}"
        return [workbook.save(place, f"tab {n}, {i} words", i).revision for i in range(25)]
    assert at_once(8, save) == [list(range(1, 26))] * 8


# ---------------------------------------------------------------------------------------------------
# Several worker processes serving one board, as on a VPS (README: gunicorn --preload -w N app:app).


class Browser:
    """One person's phone: a cookie jar, the CSRF token from the pages, and no redirects followed."""

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirects())
        self.token = ""
        self.statuses: Counter = Counter()

    def request(self, path: str, data: dict | None = None, htmx: bool = False) -> tuple[int, str]:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"HX-Request": "true"} if htmx else {})
        try:
            with self.opener.open(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        self.statuses[status] += 1
        found = re.search(r'name="csrf_token" value="([^"]+)"', text)
        if found:
            self.token = found.group(1)
        return status, text

    def login(self, name: str) -> None:
        self.request("/login")
        status, page = self.request("/login", {"name": name, "password": PASSWORD})
        assert status == 302, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:600]   # what the page said


@pytest.fixture
def workers(app, tmp_path):
    """gunicorn with three worker processes on the test's PostgreSQL database; yields its base URL."""
    port = free_port_nobody_listens_on()
    env = {k: v for k, v in os.environ.items() if not k.startswith("P2P_")}
    env.update({"P2P_DATABASE_URL": app.config["DATABASE_URL"], "P2P_INSTANCE_PATH": str(tmp_path / "served"),
                **{f"P2P_{k}": str(v) for k, v in FAST_HASHING.items()}})
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--preload", "-w", "3",
                               "-b", f"127.0.0.1:{port}", "--chdir", str(PROJECT_ROOT), "app:app"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not start:\n" + server.stderr.read())
            time.sleep(0.1)
    yield base
    server.terminate()
    server.wait(timeout=20)


def test_the_readme_and_the_unit_file_give_the_gunicorn_command_tested_here():
    unit = (PROJECT_ROOT / "deploy" / "p2p.service").read_text()
    readme = (PROJECT_ROOT / "docs" / "hosting.md").read_text()
    command = re.search(r"^# ExecStart=(\S+/gunicorn .*)$", unit, re.M).group(1)
    assert f"ExecStart={command}" in readme
    assert "--preload" in command and command.endswith(" app:app")


@pytest.mark.postgres_only
def test_the_live_board_stays_right_with_several_worker_processes(app, room, workers):
    for name in ("Cara", "Dev", "Eli"):
        Membership.join(User.create_account(name, PASSWORD), room.group)
    board = Board.for_group(room.group)
    people = ["Fran", "Alice", "Bob", "Cara", "Dev", "Eli"]
    page = f"/groups/{room.group.id}/board"
    phones = [Browser(workers) for _ in people]
    projector = Browser(workers)
    barrier = threading.Barrier(len(people), timeout=120)   # one person failing must not leave the rest waiting
    last_choice: dict[tuple[str, int], str] = {}
    changes = Counter()
    seen_versions: list[int] = []
    done, watching = threading.Event(), threading.Event()

    def person(n: int) -> None:
        phone, name = phones[n], people[n]
        phone.login(name)
        phone.request(page)
        watching.wait(30)   # the projector is polling before anyone changes anything (on a busy machine too)
        barrier.wait()
        for i in range(4):
            assert phone.request(f"{page}/proposals", {"text": f"{name}'s idea {i}"})[0] == 302
            changes[name] += 1
        barrier.wait()
        if name == "Fran":
            assert phone.request(f"{page}/settings", {"action": "phase:respond"})[0] == 302
            changes[name] += 1
        barrier.wait()
        ids = [p.id for p in Proposal.select(Proposal.id).where(Proposal.board == board)]
        for _ in range(3):
            for proposal_id in random.sample(ids, len(ids)):
                kind = random.choice(["agree", "unsure", "object", "pass"])
                status, _ = phone.request(f"{page}/proposals/{proposal_id}/respond", {"kind": kind}, htmx=True)
                assert status == 204, status
                last_choice[name, proposal_id] = kind
                changes[name] += 1

    def watch() -> None:   # the projector polls meanwhile, as every screen does
        projector.login("Fran")
        version = 0
        while not done.is_set():
            status, text = projector.request(f"{page}/live?v={version}")
            if status == 200:
                version = int(re.search(r"/live\?v=(\d+)", text).group(1))
                seen_versions.append(version)
            watching.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        at_once(len(people), person)
    finally:
        done.set()
        watcher.join()

    assert all(status < 500 for phone in (*phones, projector) for status in phone.statuses), \
        [phone.statuses for phone in phones]
    assert Proposal.select().where(Proposal.board == board).count() == 4 * len(people)
    # Every change bumped the version exactly once, whichever worker made it.
    assert Board.get_by_id(board.id).version == 1 + sum(changes.values())
    # One response per person per behaviour: the last one each person gave, under their pseudonym for it (an
    # objection made with the name also names them).
    pseudonyms = {u.name: (u.id, crypto.pseudonym_key(u.unlock_with_password(PASSWORD))) for u in User.select()}
    expected = {(BoardResponse.voter_for(pseudonyms[name][1], pid), pid): (kind, pseudonyms[name][0] if kind == "object"
                                                                        else None)
                for (name, pid), kind in last_choice.items()}   # a pass too: answered, and in no count
    stored = {(r.voter, r.proposal_id): (r.kind, r.user_id) for r in BoardResponse.select()}
    assert stored == expected
    assert seen_versions == sorted(seen_versions) and len(seen_versions) > 1   # the projector never went back
