"""Ordinary requests take turns (p2p/turns.py): a few at once, streams never among them, and a request waiting for
Argon2id gives its turn to others meanwhile."""

import threading
import time

import pytest

from p2p import passwords
from p2p.turns import InTurns


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


@pytest.mark.sqlite_only   # (the app only: nothing of the database)
def test_ordinary_requests_run_a_few_at_once_and_streams_never_wait_for_them(app):
    """At most THREADS requests other than streams at once (turns.InTurns): the rest wait for a turn before the
    app sees them; a stream is never among those waiting."""
    inside, most, release = [], [], threading.Event()
    lock = threading.Lock()

    def slow_app(environ, start_response):
        with lock:
            inside.append(environ["PATH_INFO"])
            most.append(sum(path.startswith("/page/") for path in inside))
        release.wait()
        with lock:
            inside.remove(environ["PATH_INFO"])
        return [b"ok"]
    in_turns = InTurns(slow_app, 2)
    requests = [threading.Thread(target=in_turns, args=({"PATH_INFO": f"/page/{n}"}, None)) for n in range(5)]
    for thread in requests:
        thread.start()
    wait_until(lambda: len(inside) == 2)
    stream = threading.Thread(target=in_turns, args=({"PATH_INFO": "/groups/1/stream"}, None))
    stream.start()
    wait_until(lambda: "/groups/1/stream" in inside)
    assert "/groups/1/stream" in inside and len(inside) == 3   # two pages and the stream
    release.set()
    for thread in (*requests, stream):
        thread.join()
    assert max(most) == 2 and len(most) == 6 and not inside   # every page ran, never more than two at once
    assert isinstance(app.wsgi_app, InTurns) and app.wsgi_app._turns._initial_value == app.config["THREADS"]


def test_a_sign_in_waiting_for_argon2id_lets_other_requests_have_its_turn():
    """A room logging in at once would otherwise hold every turn while waiting for the cores (one derivation per
    core at a time), and everyone else's taps and saves would wait behind them."""
    done = []

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/login":
            passwords.argon2id("a password", b"sixteen byte salt", memory_kib=8, time_cost=1)
        done.append(environ["PATH_INFO"])
        return [b"ok"]
    in_turns = InTurns(app, 1)
    cores = passwords.one_per_core
    taken = 0
    while cores.acquire(blocking=False):   # every core busy with other sign-ins
        taken += 1
    try:
        login = threading.Thread(target=in_turns, args=({"PATH_INFO": "/login"}, None))
        login.start()
        time.sleep(0.1)   # (it waits for a core now)
        tap = threading.Thread(target=in_turns, args=({"PATH_INFO": "/groups/1/board/proposals/1/respond"}, None))
        tap.start()
        wait_until(lambda: done == ["/groups/1/board/proposals/1/respond"])   # the tap went first
    finally:
        for _ in range(taken):
            cores.release()
    login.join()
    tap.join()
    assert done == ["/groups/1/board/proposals/1/respond", "/login"]



@pytest.mark.sqlite_only
def test_a_derivation_inside_a_transaction_never_waits_for_a_turn_the_writers_hold(app, monkeypatch):
    """A password reset derives its key inside its transaction (holding the database's write turn) and gives its
    request turn away meanwhile: taken by a save that then waits for the write turn. Had the reset waited for a
    request turn again, each would wait for the other until the save gave up (WritesBusy) and the server stood
    still. It goes on without one."""
    from p2p import db as db_module
    monkeypatch.setattr(db_module, "TURN_SECONDS", 3)
    db = db_module.db
    db.execute_sql("CREATE TABLE said (words TEXT)")
    problems, in_transaction = [], threading.Event()

    def wsgi(environ, start_response):
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                if environ["PATH_INFO"] == "/reset":
                    with db.atomic():
                        db.execute_sql("INSERT INTO said VALUES ('reset')")
                        in_transaction.set()
                        passwords.argon2id("a password", b"sixteen byte salt", memory_kib=8, time_cost=1)
                        time.sleep(0.2)   # (the save has its request turn by now, and waits for the write turn)
                        db.execute_sql("INSERT INTO said VALUES ('reset, after')")
                else:
                    db.execute_sql("INSERT INTO said VALUES ('save')")
            except Exception as problem:
                problems.append(problem)
            finally:
                db.close()
        return [b"ok"]
    in_turns = InTurns(wsgi, 1)
    reset = threading.Thread(target=in_turns, args=({"PATH_INFO": "/reset"}, None))
    reset.start()
    in_transaction.wait(5)
    save = threading.Thread(target=in_turns, args=({"PATH_INFO": "/workbook/save"}, None))
    save.start()
    reset.join(10)
    save.join(10)
    assert problems == []
    assert sorted(words for (words,) in db.execute_sql("SELECT words FROM said")) == ["reset", "reset, after", "save"]
