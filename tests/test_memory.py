"""Freed memory handed back to the system (p2p/memory.py): once after each burst of live activity, when quiet."""

import threading
import time

import pytest
from test_board import board_url, propose

import p2p.stream
from p2p import memory
from p2p.db import db


def test_freed_memory_goes_back_once_after_each_burst_when_it_has_been_quiet_long_enough():
    handed = []
    quiet = memory.WhenQuiet(lambda: handed.append(1), quiet_seconds=10)
    quiet.note(5, now=0)            # the first count is only noted: nothing has happened yet
    quiet.note(5, now=60)
    assert handed == []
    for now, activity in ((61, 9), (65, 12), (70, 12), (74.9, 12)):   # a burst, then 4.9 s of quiet so far
        quiet.note(activity, now)
    assert handed == []
    quiet.note(12, now=75)          # 10 s since the last ring, or screen that came or went
    assert handed == [1]
    for now in (80, 200, 1000):     # quiet ever since: nothing more to hand back
        quiet.note(12, now)
    assert handed == [1]
    quiet.note(13, now=1001)        # the next burst, and the quiet after it
    quiet.note(13, now=1011)
    assert handed == [1, 1]


def test_the_thread_that_asks_after_departed_screens_hands_memory_back_when_a_room_has_left(monkeypatch):
    """stream.Departures wakes every few seconds anyway: it counts rings and streams coming and going."""
    monkeypatch.setattr(p2p.stream, "WAKE_SECONDS", 0.05)
    handed = threading.Event()
    departures = p2p.stream.Departures()
    departures._quiet = memory.WhenQuiet(handed.set, quiet_seconds=0.3)
    left = threading.Event()
    departures.watch("a screen", 900_101, left.is_set)
    time.sleep(0.2)
    left.set()                      # the screen leaves: its group's bell rings, then nothing more happens
    assert handed.wait(5)


@pytest.mark.sqlite_only
def test_once_it_is_quiet_what_the_screens_shared_goes_and_is_made_again_when_asked(app, room, as_user):
    """A board's snapshot keeps every behaviour's HTML as each kind of screen had it: nobody needs it once a room
    has gone quiet (the next change makes it anew), so it goes before memory is handed back."""
    alice = as_user(room.alice)
    propose(alice, room, "Listen without judging")
    assert "Listen without judging" in alice.get(board_url(room, "/live")).get_data(as_text=True)
    assert app.extensions["p2p.shared"]["board snapshots"]
    departures = p2p.stream.Departures()
    with app.test_request_context():
        departures.watch("a screen", room.group.id, lambda: True)
    departures._quiet_now()
    assert "p2p.shared" not in app.extensions
    assert "Listen without judging" in alice.get(board_url(room, "/live")).get_data(as_text=True)   # made anew


def test_pages_and_polls_count_as_activity_too(app, room, as_user, monkeypatch):
    """A room's pages and polls leave memory behind as its streams do (and make the boards' shared pieces again):
    the quiet that hands it back is counted from the last request answered, not only from the last change rung."""
    monkeypatch.setattr(p2p.stream, "WAKE_SECONDS", 0.05)
    handed = threading.Event()
    departures = p2p.stream.Departures()
    departures._quiet = memory.WhenQuiet(handed.set, quiet_seconds=1.5)
    with app.test_request_context():
        departures.watch("a screen", room.group.id, lambda: False)
    alice = as_user(room.alice)
    polls_until = time.monotonic() + 2.5
    while time.monotonic() < polls_until:   # a screen polling, nothing rung, nobody coming or going
        alice.get(board_url(room, "/live"))
        assert not handed.is_set()
        time.sleep(0.1)
    assert handed.wait(10)                  # then quiet


def test_once_it_is_quiet_the_idle_database_connections_close_and_the_next_request_opens_one(app, room, as_user):
    """Each connection kept for the next burst holds its own page cache and copy of the schema."""
    alice = as_user(room.alice)
    propose(alice, room, "Listen without judging")
    assert db.obj._connections                 # kept for the next request
    p2p.stream.Departures()._quiet_now()
    assert not db.obj._connections
    assert "Listen without judging" in alice.get(board_url(room, "/live")).get_data(as_text=True)


@pytest.mark.sqlite_only
def test_handing_back_and_fixing_the_threshold_do_not_fail_here():
    """(glibc here: they act; on another C library they do nothing.)"""
    memory.fixed_mmap_threshold()
    memory.hand_back()
