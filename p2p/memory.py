"""Memory the server has freed, handed back to the system: a Raspberry Pi has little, and shares it.

Python frees what a request or a room's streams used, but glibc's malloc keeps most of it for the next: measured
with `make bench` (docs/benchmarks.md), after a room of 150 had left, a full collection and `malloc_trim(0)`
took the server from ~141 MB resident to ~119 MB. Two habits of glibc's are changed here; on another C library
(musl, macOS) neither applies and nothing is done.
"""

from __future__ import annotations

import ctypes
from functools import cache

M_MMAP_THRESHOLD = -3   # glibc's mallopt parameter

QUIET_SECONDS = 10.0    # after a burst, this long with no change rung, no screen coming or going, no request: hand back


@cache
def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def fixed_mmap_threshold() -> None:
    """Each login runs Argon2id with 19 MiB. After freeing a block that size, glibc's malloc raises its mmap
    threshold and serves the next ones from per-thread arenas it never hands back: with 8 server threads the
    server held about 200 MB after a room had logged in (measured by make bench). A fixed threshold (setting it
    also stops the raising) gives every such block back at once: about 57 MB instead."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, 1024 * 1024)


def hand_back() -> None:
    """Hands the pages glibc keeps free back to the system (malloc_trim(0): a few milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class WhenQuiet:
    """Hands freed memory back once after each burst of live activity, when it has been quiet for
    QUIET_SECONDS: a room that stops writing (a discussion, the end of a session) or that leaves. Not during a
    burst: the pages handed back would be asked for again at once (trimming every 5 s while the room wrote cost
    a sixth more CPU, docs/benchmarks.md). `note` is called every few seconds with a count that goes up with
    each ring, each screen that comes or goes and each other request answered (stream.Departures)."""

    def __init__(self, hand_back=hand_back, quiet_seconds: float = QUIET_SECONDS) -> None:
        self._hand_back, self.quiet_seconds = hand_back, quiet_seconds
        self._activity: int | None = None
        self._since = 0.0
        self._due = False

    def note(self, activity: int, now: float) -> None:
        if activity != self._activity:
            self._due = self._activity is not None   # (the first count is only noted)
            self._activity, self._since = activity, now
        elif self._due and now - self._since >= self.quiet_seconds:
            self._due = False
            self._hand_back()
