"""Ordinary requests take turns: at most THREADS at once in a process, whichever of its threads take them.

The server has a thread for each live stream it may hold besides THREADS (p2p/stream.py), and any thread takes any
request: without turns, a burst (a room opening its pages at once) ran ~200 requests at once, each thread's memory
left with glibc afterwards. 200 clients loading the login page and a file three times each: 81-85 MB resident
after, 66 MB taking turns, and no slower (docs/benchmarks.md). Python runs one thread at a time anyway.

A request that waits for something other than Python steps aside meanwhile (`aside`): a sign-in waiting for its
turn at Argon2id (passwords.one_per_core) would otherwise hold a turn, and a room logging in at once would hold
them all while everyone else's taps and saves waited behind.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_held = threading.local()   # .turns: the turns this thread's request holds one of, while it does


class InTurns:
    """WSGI middleware: at most `at_once` requests other than streams in the app at once; the rest wait for a
    turn in their threads before the app sees them (so holding no database connection). A stream is never held
    back: it waits on its group's doorbell in its own thread, and has one of its own."""

    STREAM = re.compile(r"/groups/\d+/stream")

    def __init__(self, wsgi_app, at_once: int) -> None:
        self.wsgi_app = wsgi_app
        self._turns = threading.BoundedSemaphore(at_once)

    def __call__(self, environ, start_response):
        if self.STREAM.fullmatch(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        with self._turns:   # (a page's answer is made by now, and its connection handed back; waitress sends it)
            _held.turns = self._turns
            try:
                return self.wsgi_app(environ, start_response)
            finally:
                _held.turns = None


@contextmanager
def aside() -> Iterator[None]:
    """This thread's request gives its turn to another while the block runs, and waits for one again after."""
    turns = getattr(_held, "turns", None)
    if turns is None:
        yield
        return
    turns.release()
    try:
        yield
    finally:
        turns.acquire()
