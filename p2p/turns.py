"""Ordinary requests take turns: at most THREADS at once in a process, whichever of its threads take them.

The server has a thread for each live stream it may hold besides THREADS (p2p/stream.py), and any thread takes any
request: without turns, a burst (a room opening its pages at once) ran ~200 requests at once, each thread's memory
left with glibc afterwards. 200 clients loading the login page and a file three times each: 81-85 MB resident
after, 66 MB taking turns, and no slower (docs/benchmarks.md). Python runs one thread at a time anyway.

A request that waits for something other than Python steps aside (`aside`): a sign-in waiting for its turn at
Argon2id (passwords.one_per_core) would otherwise hold a turn, and a room logging in at once would hold them all
while everyone else's taps and saves waited behind. It goes on to its end without a turn: taking one again, it
might wait for the others while holding what they wait for (a reset derives its key inside its transaction,
holding the database's write turn: every turn was soon held by writes waiting for it, until they gave up).
"""

from __future__ import annotations

import re
import threading

_held = threading.local()   # .turns: the turns this thread's request holds one of, while it does (else None)


class InTurns:
    """WSGI middleware: at most `at_once` requests other than streams in the app at once; the rest wait for a
    turn in their threads before the app sees them (so holding no database connection). A stream is never held
    back: it waits on its group's doorbell in its own thread, and has one of its own."""

    STREAM = re.compile(r"/groups/\d+/stream")

    def __init__(self, wsgi_app, at_once: int) -> None:
        self.wsgi_app = wsgi_app
        self._turns = threading.BoundedSemaphore(at_once)
        # Requests answered so far: activity, to the thread that hands memory back once it is quiet
        # (stream.Departures). (Two threads adding at once may count one: only whether it moves matters.)
        self.answered = 0

    def __call__(self, environ, start_response):
        if self.STREAM.fullmatch(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        self._turns.acquire()
        _held.turns = self._turns
        try:
            return self.wsgi_app(environ, start_response)
        finally:   # (a page's answer is made by now, and its connection handed back; waitress sends it)
            self.answered += 1
            if _held.turns is not None:   # (not given away: aside)
                _held.turns = None
                self._turns.release()


def aside() -> None:
    """This thread's request gives its turn to another, for the rest of the request (see above)."""
    turns = getattr(_held, "turns", None)
    if turns is not None:
        _held.turns = None
        turns.release()
