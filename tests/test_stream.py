"""One stream per screen (p2p/stream.py): what a screen is sent when the board, a discussion or the timer changes,
worked out once per kind of screen, only what changed on that screen, from the version it shows."""

import queue
import re
import threading
import time
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from conftest import PASSWORD, post, text
from test_board import board_url, propose, respond, settings

from p2p.models import Board, Membership, Proposal, User

# The streams' logic is the same on either database (they read through the same models); what PostgreSQL adds,
# NOTIFY across processes, has its own tests (tests/test_push_processes.py). SQLite only: CI time.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch):
    """Streams' heartbeats (and so their loops) every 0.2 s: a closed stream's thread ends soon."""
    import p2p.stream
    monkeypatch.setattr(p2p.stream, "WAKE_SECONDS", 0.2)
    monkeypatch.setattr(p2p.stream, "HEARTBEAT_SECONDS", 0.2)


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
            self.pieces, unread = [], b""   # an event may come in several pieces (a piece may end mid-character)
            for chunk in response.response:
                chunk = chunk if isinstance(chunk, bytes) else chunk.encode()
                self.pieces.append(len(chunk))
                *events, unread = (unread + chunk).split(b"\n\n")
                for event in events:
                    self.queue.put(event.decode() + "\n\n")
                if self.stop.is_set():
                    break
            response.close()
        except Exception as problem:   # shown by next()
            self.queue.put(problem)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)

    def updates_so_far(self) -> list[str]:
        """The data of every update that has come (and is not read yet)."""
        found = []
        while not self.queue.empty():
            chunk = self.queue.get()
            if isinstance(chunk, Exception):
                raise chunk
            if re.search(r"^event: update$", chunk, re.M):
                found.append("\n".join(line[6:] for line in chunk.splitlines() if line.startswith("data: ")))
        return found

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




def test_every_streams_looks_are_made_in_one_thread_and_a_waiting_stream_holds_no_connection(room, as_user, monkeypatch):
    """A room's streams look at a change one after another in one thread (stream.looks): in each stream's own
    thread, a write's answer waited behind them and each thread kept malloc's caches. The stream's own thread
    asks the database only whether its person may still follow, and gives its connection back: 160 waiting
    streams held 160 connections when it did not."""
    import p2p.board
    from p2p.db import db
    made_in = set()
    real = p2p.board.Follower.update
    monkeypatch.setattr(p2p.board.Follower, "update",
                        lambda self, *args: made_in.add(threading.current_thread().name) or real(self, *args))
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    streams = [open_stream(client, room, poller(text(client.get(board_url(room))))) for client in (alice, bob, fran)]
    for events in streams:
        events.next("hello")
    propose(alice, room, "Listen without judging")
    for events in streams:
        assert "Listen without judging" in events.next()
    assert len(made_in) == 1 and made_in.pop().startswith("p2p-looks")
    assert not db.obj._in_use or (len(db.obj._in_use) == 1 and not db.is_closed())   # (this test's own, if open)
    for events in streams:
        events.close()


def test_a_look_that_fails_ends_its_own_stream_only(room, as_user, monkeypatch):
    """A look is made in the one thread of every stream's looks (stream.looks) with its stream's context: one
    that fails ends its own stream, as when it looked for itself, and the others' go on being made."""
    import flask_login

    import p2p.board
    real = p2p.board.Follower.update

    def update(self, *args):   # Bob's looks after his first (which notes what his page shows) fail
        if flask_login.current_user.id == room.bob.id and getattr(self, "looked", False):
            raise RuntimeError("a look that fails")
        self.looked = True
        return real(self, *args)
    monkeypatch.setattr(p2p.board.Follower, "update", update)
    alice, bob = as_user(room.alice), as_user(room.bob)
    alices = open_stream(alice, room, poller(text(alice.get(board_url(room)))))
    bobs = open_stream(bob, room, poller(text(bob.get(board_url(room)))))
    for events in (alices, bobs):
        events.next("hello")
    propose(alice, room, "Listen without judging")
    with pytest.raises(RuntimeError, match="a look that fails"):
        bobs.next()
    assert "Listen without judging" in alices.next()
    alices.close()
    bobs.close()


def test_a_big_update_comes_in_pieces_the_server_does_not_keep_and_whole_to_the_screen(room, as_user):
    """waitress keeps a piece of 8 KB or more in the connection's buffer until the next, and a stream waits long
    between updates: a whole board to each of 160 screens held 100 MB. So a big update comes in smaller pieces."""
    from p2p.stream import PIECE_BYTES
    alice, bob = as_user(room.alice), as_user(room.bob)
    page = text(bob.get(board_url(room)))   # the board as it was: its stream brings the whole list
    words = [f"Wait for the end of the sentence, ünïcödé {n}: " + "é" * 150 for n in range(20)]
    for said in words:
        propose(alice, room, said)
    events = open_stream(bob, room, poller(page))
    events.next("hello")
    update = events.next()
    assert [said for said in words if said not in update] == [], update[:3000]
    assert len(update.encode()) > PIECE_BYTES and max(events.pieces) <= PIECE_BYTES
    events.close()


def following(client, room):
    """A screen on the board, following it: its page, then its stream (hello read)."""
    events = open_stream(client, room, poller(text(client.get(board_url(room)))))
    events.next("hello")
    return events


def test_a_new_behaviour_is_added_to_the_end_of_the_list_and_announced_nothing_else_of_the_list_sent(room, as_user):
    alice, bob = as_user(room.alice), as_user(room.bob)
    propose(alice, room, "Be on time")
    events = following(bob, room)
    propose(alice, room, "Phones on silent")
    update = events.next()
    assert 'data-hx-swap-oob="beforeend:#part-0-1"' in update and "Phones on silent" in update
    assert "Be on time" not in update and 'id="board-list"' not in update
    assert "New behaviour: Phones on silent" in update
    events.close()


def test_a_new_wording_while_shaping_sends_the_facilitator_that_behaviour_only(room, as_user):
    """Each behaviour's "Merge with…" lists the others only when it is opened (board.merge_choices): written into
    every behaviour, a new or reworded behaviour changed every other one on the facilitators' screens, each sent
    and made again at every change while shaping (n² choices for n behaviours)."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for said in ("Be on time", "Phones on silent", "Listen without judging"):
        propose(alice, room, said)
    settings(fran, room, "phase:shape")
    first = Proposal.get(Proposal.text == "Be on time")
    events = following(fran, room)
    post(fran, board_url(room, f"/proposals/{first.id}"), {"action": "edit", "text": "Be on time, please"},
         token_from=board_url(room))
    update = events.next()
    assert "Be on time, please" in update
    assert "Phones on silent" not in update and "Listen without judging" not in update
    events.close()


def test_a_response_sends_only_the_behaviour_it_changed_and_each_person_their_own_choice(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Be on time")
    propose(bob, room, "Phones on silent")
    settings(fran, room, "phase:respond")
    settings(fran, room, "tallies-on")
    first, second = Proposal.get(Proposal.text == "Be on time"), Proposal.get(Proposal.text == "Phones on silent")
    alices, bobs = following(alice, room), following(bob, room)
    respond(alice, room, first, "agree", htmx=True)
    for events, mine in ((alices, True), (bobs, False)):
        update = events.next()
        assert f'id="proposal-{first.id}"' in update and "Agree 1 · Unsure 0 · Object 0" in update
        assert f'id="proposal-{second.id}"' not in update   # unchanged: not sent
        assert bool(re.search(rf'id="respond-{first.id}-agree"[^>]*aria-pressed="true"', update)) is mine
        assert "csrf-" not in update and "key-" not in update   # each screen's own form token, never a stand-in
    alices.close()
    bobs.close()


def test_an_anonymous_proposal_is_its_authors_only_on_their_own_stream(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    streams = {name: following(client, room) for name, client in (("alice", alice), ("bob", bob), ("fran", fran))}
    propose(alice, room, "Be on time")
    for name, events in streams.items():
        update = events.next()
        assert "Be on time" in update and "Alice" not in update
        assert ("Your proposal" in update) is (name == "alice")
        events.close()


def test_each_change_is_rendered_once_per_kind_of_screen_whoever_follows_it(room, as_user, monkeypatch):
    import p2p.board
    people = [as_user(room.alice), as_user(room.bob)]
    for n in range(3):
        person = User.create_account(f"Person {n}", PASSWORD)
        Membership.join(person, room.group)
        people.append(as_user(person))
    propose(people[0], room, "Be on time")
    streams = [following(client, room) for client in people]
    rendered = []
    real = p2p.board.shared_html
    monkeypatch.setattr(p2p.board, "shared_html", lambda name, **kw: rendered.append(name) or real(name, **kw))
    propose(people[1], room, "Phones on silent")
    updates = [events.next() for events in streams]
    assert all("Phones on silent" in update for update in updates)
    assert rendered.count("board/_phase.html") == 1, rendered   # five screens, one render of what they share
    for events in streams:
        events.close()


def test_a_screen_back_after_a_drop_gets_what_it_missed_whole_and_nothing_twice(room, as_user):
    alice, bob = as_user(room.alice), as_user(room.bob)
    propose(alice, room, "Be on time")
    page = text(bob.get(board_url(room)))   # then the Wi-Fi drops; meanwhile two more arrive
    propose(alice, room, "Phones on silent")
    propose(alice, room, "Listen without judging")
    events = open_stream(bob, room, poller(page))   # live.js opens a new stream with the poller's address
    events.next("hello")
    update = events.next()
    assert update.count('id="board-list"') == 1
    for words in ("Be on time", "Phones on silent", "Listen without judging"):
        assert update.count(f">{words}</p>") == 1
    assert "2 new behaviours." in update
    events.close()


def test_a_stream_ends_when_its_person_is_removed_or_logs_out(room, as_user):
    bob, alice = as_user(room.bob), as_user(room.alice)
    for ending in ("removed", "logged out"):
        events = following(bob if ending == "removed" else alice, room)
        if ending == "removed":
            Membership.of(room.bob, room.group).delete_instance()
            room.bob.end_sign_ins()   # as removing a member does (groups.remove_member)
        else:
            post(alice, "/logout", token_from="/")
        events.thread.join(timeout=5)
        assert not events.thread.is_alive(), f"the stream went on after its person was {ending}"


def test_streams_beyond_the_budget_are_told_to_poll(app, room, as_user):
    bob = as_user(room.bob)
    app.extensions["p2p.streams"].most = 0
    events = open_stream(bob, room, poller(text(bob.get(board_url(room)))))
    assert events.status == 204


@pytest.mark.parametrize("feed", ["/groups/{other}/board/live?v=1", "/groups/{group}/nowhere", "/elsewhere",
                                  "/groups/{group}/board/projector?v=1", "", "http://evil.example/x"])
def test_a_feed_that_is_not_this_groups_live_region_is_refused(room, as_user, feed):
    bob = as_user(room.bob)
    events = open_stream(bob, room, feed.format(group=room.group.id, other=room.other_group.id))
    assert events.status == 400


def test_the_projector_feed_is_the_facilitators_only(room, as_user):
    bob = as_user(room.bob)
    events = open_stream(bob, room, f"/groups/{room.group.id}/board/live?v=1&view=projector")
    assert events.status == 404
    # Someone not in the group is told nothing (204): their page's polls are answered "not found".
    assert open_stream(as_user(room.outsider), room, f"/groups/{room.group.id}/board/live?v=1").status == 204


def test_the_timer_and_a_discussion_come_on_the_same_stream(app, room, as_user):
    from p2p.models import Group
    Group.update(programme="peer-support-training").where(Group.id == room.group.id).execute()
    bob, fran = as_user(room.bob), as_user(room.facilitator)
    discussion = f"/groups/{room.group.id}/discuss/course/positive-risk-taking-and-boundaries/boundaries/scenario-1"
    page = text(bob.get(discussion))
    feeds = [re.search(rf'data-live-feed="{kind}"[^>]*data-(?:hx-get|poll)="([^"]+)"', page).group(1).replace("&amp;", "&")
             for kind in ("discussion", "timer")]
    events = open_stream(bob, room, *feeds)
    events.next("hello")
    post(fran, f"{discussion}/thoughts", {"text": "Ask first"}, token_from=discussion)
    assert "Ask first" in events.next()
    post(fran, f"/groups/{room.group.id}/timer", {"minutes": "5"}, token_from=f"/groups/{room.group.id}/run")
    assert re.search(r'id="group-timer"[^>]*data-fresh="true"', events.next())
    events.close()


def test_an_idle_stream_does_not_ask_the_database_at_each_wake(room, as_user, monkeypatch):
    """What nobody has changed since the server started (a timer never started: no row, version 0) is asked of
    the database once, not at every wake of every stream: 160 idle screens opened 80 connections a second."""
    import p2p.sessions
    import p2p.stream
    for name in ("WAKE_SECONDS", "HEARTBEAT_SECONDS"):   # (quicker than the other tests' 0.2 s: five wakes)
        monkeypatch.setattr(p2p.stream, name, 0.05)
    asked = []
    real = p2p.sessions.Timer.version_of
    monkeypatch.setattr(p2p.sessions.Timer, "version_of", classmethod(lambda cls, group: asked.append(1) or real(group)))
    bob = as_user(room.bob)
    page = text(bob.get(board_url(room)))
    timer = re.search(r'data-live-feed="timer" data-poll="([^"]+)"', page).group(1).replace("&amp;", "&")
    events = open_stream(bob, room, poller(page), timer)
    events.next("hello")
    for _ in range(5):   # five heartbeats: five wakes at least
        events.queue.get(timeout=5)
    events.close()
    assert len(asked) <= 2, asked


def board_story(room, clients, check) -> None:
    """A whole story on the board (proposing, shaping, a merge, responses, counts, agreeing), with `check(step)`
    after each step."""
    alice, bob, fran = clients["alice"], clients["bob"], clients["fran"]

    def shape(proposal, **fields):
        post(fran, board_url(room, f"/proposals/{proposal.id}"), fields, token_from=board_url(room))

    propose(alice, room, "Be on time")
    settings(fran, room, "named-on")
    propose(bob, room, "Phones on silent")
    propose(alice, room, "Listen without judging")
    propose(bob, room, "Listen to each other")
    check("proposing")
    first, phones, listen, other = (Proposal.get(Proposal.text == t) for t in (
        "Be on time", "Phones on silent", "Listen without judging", "Listen to each other"))
    settings(fran, room, "phase:shape")
    check("shaping")
    for proposal, fields in ((first, {"action": "theme", "theme": "Time"}), (first, {"action": "hide"}),
                             (phones, {"action": "edit", "text": "Phones on silent, please"}),
                             (first, {"action": "show"})):
        shape(proposal, **fields)
        check(fields)
    post(fran, board_url(room, "/merge"), {"proposal": [listen.id, other.id], "text": "Listen to each other",
                                             "request_key": "merge-1"}, token_from=board_url(room))
    check("a merge")
    settings(fran, room, "phase:respond")
    merged = Proposal.get(Proposal.text == "Listen to each other", Proposal.merged_into.is_null())
    respond(alice, room, first, "agree")
    respond(bob, room, first, "object")
    respond(bob, room, merged, "object", private=True)
    check("responses")
    settings(fran, room, "tallies-on")
    respond(alice, room, phones, "unsure")
    check("the counts shown")
    settings(fran, room, "phase:agree")
    shape(merged, action="agree")
    check("agreeing")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    check("a version made")   # the projector shows the code instead of the list


FORM_KEYS = re.compile(r'name="(request_key|csrf_token)" value="[^"]*"')   # made afresh for every answer


def screens_of(room, as_user) -> dict:
    """Each kind of screen in the story: name -> (its client, its poll's query)."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    return {"alice": (alice, ""), "bob": (bob, ""), "fran": (fran, ""), "projector": (fran, "?view=projector")}


def test_behaviours_kept_from_the_version_before_are_exactly_what_a_fresh_render_shows(app, room, as_user):
    """proposal_html keeps a behaviour's HTML from one version to the next by everything it shows (item_key). A
    whole story, every screen after every step: what it shows with what was kept is what it shows made afresh."""
    screens = screens_of(room, as_user)

    def shown():
        return {name: FORM_KEYS.sub("", text(client.get(board_url(room, f"/live{query}"))))
                for name, (client, query) in screens.items()}

    def the_same_both_ways(step):
        kept = shown()
        app.extensions["p2p.shared"]["board snapshots"].clear()   # made afresh: nothing kept from before
        fresh = shown()
        for name in screens:
            assert kept[name] == fresh[name], f"{name} after {step}"

    board_story(room, {name: client for name, (client, _) in screens.items()}, the_same_both_ways)


def behaviours_in(page: str) -> dict[int, str]:
    """Each behaviour's `<li>` in a page or fragment (its own list of originals, after a merge, inside it)."""
    found = {}
    for start in re.finditer(r'<li id="proposal-(\d+)"', page):
        depth, at = 0, start.start()
        for tag in re.finditer(r"<li\b|</li>", page[at:]):
            depth += 1 if tag.group(0) != "</li>" else -1
            if depth == 0:
                found[int(start.group(1))] = page[at:at + tag.end()]
                break
    return found


def test_each_stream_keeps_a_behaviour_only_while_nothing_it_shows_changed(app, room, as_user, monkeypatch):
    """A stream keeps what it made of each behaviour while nothing the behaviour shows on its screen changed
    (board.Follower._behaviours: what everyone of its kind sees, and the person's own part). The whole story, with
    the streams looking as changes come: what each screen's stream holds for each behaviour is what a fresh page
    shows."""
    import p2p.board
    followers = {}
    made = p2p.board.Follower.__init__

    def noted(self, group, membership, view_args, args):
        made(self, group, membership, view_args, args)
        followers[membership.user_id, self.view] = self

    monkeypatch.setattr(p2p.board.Follower, "__init__", noted)
    screens = screens_of(room, as_user)
    streams = {}
    for name, (client, query) in screens.items():
        page = text(client.get(board_url(room, "/projector" if query else "")))
        streams[name] = open_stream(client, room, poller(page))
        streams[name].next("hello")
    ids = {"alice": room.alice.id, "bob": room.bob.id, "fran": room.facilitator.id}

    def as_fresh(step):
        version = Board.get(Board.group == room.group).version
        app.extensions["p2p.shared"]["board snapshots"].clear()
        for name, (client, query) in screens.items():
            follower = followers[ids.get(name, room.facilitator.id), "projector" if query else "page"]
            for _ in range(100):   # until its stream has looked at this version
                if follower.version == version:
                    break
                time.sleep(0.05)
            fresh = behaviours_in(FORM_KEYS.sub("", text(client.get(board_url(room, f"/live{query}")))))
            held = {pid: FORM_KEYS.sub("", html).strip() for pid, html in follower.items.items()}
            assert held == fresh, f"{name} after {step}"

    board_story(room, {name: client for name, (client, _) in screens.items()}, as_fresh)
    for events in streams.values():
        events.close()


class Roots(HTMLParser):
    """The outermost elements of an HTML fragment, each as (tag, its attributes)."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.depth, self.found = 0, []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.found.append((tag, dict(attrs)))
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        self.depth -= 1


VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area", "base", "embed", "track"}


def test_everything_a_stream_sends_says_where_it_goes(room, as_user):
    """live.js swaps each piece of an update in by its data-hx-swap-oob: a piece without one is dropped, and the
    screen keeps showing what was before (the projector kept the list when a version was made, instead of the
    code). The whole story, on every kind of screen."""
    screens = screens_of(room, as_user)
    streams = {}
    for name, (client, query) in screens.items():
        streams[name] = open_stream(client, room, poller(text(client.get(board_url(room, "/projector" if query else "")))))
        streams[name].next("hello")

    def swapped_in(step):
        updates = {name: [] for name in streams}
        until = time.monotonic() + 0.3   # until no stream has had an update for 0.3 s
        while time.monotonic() < until:
            for name, events in streams.items():
                if came := events.updates_so_far():
                    updates[name] += came
                    until = time.monotonic() + 0.3
            time.sleep(0.02)
        for name, sent in updates.items():
            for tag, attributes in Roots("".join(sent)).found:
                assert "data-hx-swap-oob" in attributes, f"{name} after {step}: <{tag} {attributes}>"
            if step == "a version made" and name == "projector":
                assert any("projector-code" in update for update in sent)

    board_story(room, {name: client for name, (client, _) in screens.items()}, swapped_in)
    for events in streams.values():
        events.close()


def test_one_thread_wakes_the_stream_whose_screen_has_gone_and_no_other(monkeypatch):
    """Idle streams sleep until their group's bell rings: whether a screen has gone is asked for all of them by
    one thread (stream.Departures), which rings the bell of that screen's group only, once."""
    import p2p.stream
    from p2p import live
    monkeypatch.setattr(p2p.stream, "WAKE_SECONDS", 0.05)
    departures, left = p2p.stream.Departures(), threading.Event()
    gone_group, other_group = 900_001, 900_002   # groups of their own on the process's doorbell
    rings = {group: live.doorbell.rings(group) for group in (gone_group, other_group)}
    departures.watch("a screen", gone_group, left.is_set)
    departures.watch("another", other_group, lambda: False)
    assert live.doorbell.wait(gone_group, rings[gone_group], 0.3) == rings[gone_group]   # nobody gone: no ring
    left.set()
    assert live.doorbell.wait(gone_group, rings[gone_group], 5) == rings[gone_group] + 1
    time.sleep(0.2)   # a few more asks: rung once, and the other group never
    assert live.doorbell.rings(gone_group) == rings[gone_group] + 1
    assert live.doorbell.rings(other_group) == rings[other_group]
    departures.forget("another")
