"""One stream per screen (p2p/stream.py): what a screen is sent when the board, a discussion or the timer changes,
worked out once per kind of screen, only what changed on that screen, from the version it shows."""

import queue
import re
import threading
from urllib.parse import quote

import pytest
from conftest import post, text

from p2p.models import Board, Membership, Proposal

from test_board import board_url, propose, respond, settings


def open_stream(client, room, *feeds):
    """A stream as static/js/live.js opens it: the pollers' addresses (what the page shows) as its feeds."""
    query = "&".join(f"feed={quote(address, safe='')}" for address in feeds)
    return Events(client, f"/groups/{room.group.id}/stream?{query}")


class Events:
    """A stream's events as a screen receives them, run in a thread of their own (as a server thread runs the
    stream beside the requests of others)."""

    def __init__(self, client, address):
        self.queue, self.stop = queue.Queue(), threading.Event()
        self.thread = threading.Thread(target=self._read, args=(client, address), daemon=True)
        self.thread.start()
        self.status, self.mimetype = self.queue.get(timeout=10)

    def _read(self, client, address):
        try:
            response = client.get(address, buffered=False)
            self.queue.put((response.status_code, response.mimetype))
            for chunk in response.response:
                self.queue.put(chunk.decode() if isinstance(chunk, bytes) else chunk)
                if self.stop.is_set():
                    break
            response.close()
        except Exception as problem:   # shown by next()
            self.queue.put(problem)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)

    def next(self, wanted="update", most=6):
        """The data of the next event named `wanted` (heartbeats and others skipped, `most` of them at most)."""
        for _ in range(most):
            chunk = self.queue.get(timeout=10)
            if isinstance(chunk, Exception):
                raise chunk
            found = re.search(r"^event: (\w+)$", chunk, re.M)
            if found and found.group(1) == wanted:
                return "\n".join(line[6:] for line in chunk.splitlines() if line.startswith("data: "))
        raise AssertionError(f"no {wanted} event")


def poller(page):
    return re.search(r'id="board-poller" data-live-feed="board" data-hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")


def test_a_stream_says_hello_then_sends_what_changed_since_the_version_its_page_shows(room, as_user):
    alice, bob = as_user(room.alice), as_user(room.bob)
    page = text(bob.get(board_url(room)))
    events = open_stream(bob, room, poller(page))
    assert events.status == 200 and events.mimetype == "text/event-stream"
    assert events.next("hello") == ""
    propose(alice, room, "Listen without judging")
    update = events.next()
    assert "Listen without judging" in update
    assert "Alice" not in update
    events.close()


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch):
    import p2p.stream
    monkeypatch.setattr(p2p.stream, "HEARTBEAT_SECONDS", 0.2)


