"""Discussion boards followed by streams (p2p/stream.py, sessions.DiscussionFollower), as the board is: each change
worked out once per kind of screen, each screen sent only what changed on it, from the version it shows. A thought
is its author's on their own stream only, and the room's screen never shows a name."""

import re

import pytest
from conftest import PASSWORD, post, text
from test_sessions import add_thought, discussion_url, follow_the_course
from test_stream import open_stream, quick_heartbeat  # noqa: F401 (the streams' quick heartbeat, autouse)

from p2p.models import Discussion, Membership, Thought, User

pytestmark = pytest.mark.sqlite_only   # as tests/test_stream.py, and for the same reasons


def poller(page):
    """The address the discussion's poller holds, as static/js/live.js opens the stream with it."""
    found = re.search(r'id="thought-poller" data-live-feed="discussion"\s+data-hx-get="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&")


def following(client, room, tail=""):
    """A screen on the discussion (or, with tail "/projector", the room's screen), following it: its page, then its
    stream (hello read)."""
    events = open_stream(client, room, poller(text(client.get(discussion_url(room, tail=tail)))))
    events.next("hello")
    return events


def hide(client, room, thought, action="hide"):
    return post(client, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": action},
                token_from=discussion_url(room))


def test_a_new_thought_is_added_to_the_end_of_the_list_and_announced_nothing_else_of_the_list_sent(room, as_user):
    follow_the_course(room)
    alice, bob = as_user(room.alice), as_user(room.bob)
    add_thought(alice, room, "Say at the start what the relationship is")
    events = following(bob, room)
    add_thought(alice, room, "Ask what they want from it")
    update = events.next()
    new = Thought.get(Thought.text == "Ask what they want from it")
    assert re.search(rf'<ul data-hx-swap-oob="beforeend:#thought-items"><li id="thought-{new.id}"', update)
    assert update.count("Ask what they want from it") == 2   # the thought, and what screen readers are told
    assert "Say at the start" not in update and 'id="thought-list"' not in update
    assert '<p id="thought-announce" data-hx-swap-oob="innerHTML">New thought: Ask what they want from it</p>' in update
    # The poller holds the version the screen now shows: live.js opens the next stream from it.
    assert f"v={Discussion.get().version}&amp;last={new.id}" in update
    events.close()


def test_each_change_is_read_once_and_rendered_once_per_kind_of_screen_whoever_follows_it(room, as_user, monkeypatch):
    import p2p.sessions
    import p2p.stream
    follow_the_course(room)
    people = [as_user(room.alice), as_user(room.bob)]
    for n in range(3):
        person = User.create_account(f"Person {n}", PASSWORD)
        Membership.join(person, room.group)
        people.append(as_user(person))
    fran = as_user(room.facilitator)
    add_thought(people[1], room, "Say at the start what the relationship is")
    streams = [following(client, room) for client in [*people, fran]] + [following(fran, room, "/projector")]
    rendered, read = [], []   # (a screen's first look may come late, at the version before: not counted)
    real_html, real_read = p2p.stream.shared_html, p2p.sessions.Discussed
    monkeypatch.setattr(p2p.stream, "shared_html", lambda template, **context: rendered.append(
        (template, context.get("version"), getattr(context.get("thought"), "text", None))) or real_html(template, **context))
    monkeypatch.setattr(p2p.sessions, "Discussed", lambda *args: read.append(args[0]) or real_read(*args))
    add_thought(people[0], room, "Ask what they want from it")
    updates = [events.next() for events in streams]
    assert all("Ask what they want from it" in update for update in updates)
    version = Discussion.get().version
    assert read.count(version) == 1   # seven screens, one read of the discussion
    new = [template for template, _, words in rendered if words == "Ask what they want from it"]
    # Its author's, everyone else's, the facilitator's, the room's screen's: one render each.
    assert sorted(new) == ["sessions/_projector_thought.html", *["sessions/_thought.html"] * 3], rendered
    lists = [template for template, at, _ in rendered if template.endswith("thoughts.html") and at == version]
    assert sorted(lists) == ["sessions/_projector_thoughts.html", *["sessions/_thoughts.html"] * 2], rendered
    for events in streams:
        events.close()


def test_a_thought_is_its_authors_only_on_their_own_stream_and_an_anonymous_one_is_nobodys(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    streams = {name: following(client, room) for name, client in (("alice", alice), ("bob", bob), ("fran", fran))}
    add_thought(alice, room, "Boundaries protect both people", anonymous=True)
    updates = {name: events.next() for name, events in streams.items()}
    for name, update in updates.items():
        assert "Boundaries protect both people" in update and "Alice" not in update
        assert ("Yours, without your name" in update) is (name == "alice")
        assert ("Someone in the group" in update) is (name != "alice")
        assert ("Take it back" in update) is (name == "alice")
        assert ("Hide from the group" in update) is (name == "fran")
        assert ("New thought: Boundaries protect both people" in update) is (name != "alice")   # not to its author
        assert "csrf-" not in update   # each screen's own form token, never the stand-in
    for events in streams.values():
        events.close()
    # The forms a stream brought work: each with its own person's form token.
    thought = Thought.get()
    for client, name, action in ((fran, "fran", "hide"), (alice, "alice", "take-back")):
        token = re.search(r'name="csrf_token" value="([^"]+)"', updates[name]).group(1)
        address = f"/groups/{room.group.id}/thoughts/{thought.id}" + ("/take-back" if action == "take-back" else "")
        assert client.post(address, data={"csrf_token": token, "action": action}).status_code == 302
    assert Thought.select().count() == 0


def test_a_hidden_thought_is_replaced_where_it_is_leaves_the_others_screens_and_comes_back(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    add_thought(alice, room, "Something better not shown")
    add_thought(bob, room, "Keep it kind")
    hidden = Thought.get(Thought.text == "Something better not shown")
    streams = {name: following(client, room) for name, client in (("alice", alice), ("bob", bob), ("fran", fran))}
    hide(fran, room, hidden)
    updates = {name: events.next() for name, events in streams.items()}
    for name in ("alice", "fran"):   # still on their screens, marked, in its place: nothing else of the list
        update = updates[name]
        assert re.search(rf'<li data-hx-swap-oob="true" id="thought-{hidden.id}" class="thought thought--hidden">', update)
        assert "Keep it kind" not in update and 'id="thought-list"' not in update
    assert "(you still see it)" in updates["alice"] and "Show it again" in updates["fran"]
    assert "Something better not shown" not in updates["bob"]   # gone from the group's screens: the list anew
    assert updates["bob"].count('id="thought-list"') == 1 and updates["bob"].count("Keep it kind") == 1
    hide(fran, room, hidden, "show")
    again = streams["bob"].next()
    assert again.index("Something better not shown") < again.index("Keep it kind")   # back in its place
    assert "New thought" not in again   # shown again, not new
    for events in streams.values():
        events.close()


def test_a_screen_back_after_a_drop_gets_what_it_missed_whole_and_nothing_twice(room, as_user):
    follow_the_course(room)
    alice, bob = as_user(room.alice), as_user(room.bob)
    add_thought(alice, room, "Say at the start what the relationship is")
    page = text(bob.get(discussion_url(room)))   # then the Wi-Fi drops; meanwhile two more arrive
    add_thought(alice, room, "Ask what they want from it")
    add_thought(alice, room, "Check in again later")
    events = open_stream(bob, room, poller(page))   # live.js opens a new stream with the poller's address
    events.next("hello")
    update = events.next()
    assert update.count('id="thought-list"') == 1 and update.count('id="thought-poller"') == 1
    for words in ("Say at the start what the relationship is", "Ask what they want from it", "Check in again later"):
        assert update.count(f">{words}</p>") == 1
    assert "2 new thoughts. The newest: Check in again later" in update
    events.close()


def test_the_room_s_screen_is_sent_the_same_bytes_and_never_a_name(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    walls = [following(fran, room, "/projector"), following(as_user(room.facilitator), room, "/projector")]
    add_thought(alice, room, "Say at the start what the relationship is")
    add_thought(fran, room, "Boundaries protect both people", anonymous=True)
    updates = [[wall.next() for _ in range(2)] for wall in walls]
    assert updates[0] == updates[1]   # shared: nothing on it is anyone's
    sent = "".join(updates[0])
    assert "Say at the start what the relationship is" in sent and "Boundaries protect both people" in sent
    for never in ("Alice", "Fran", "Someone in the group", "Yours", "csrf_token", "<form", "thought-announce"):
        assert never not in sent
    hide(fran, room, Thought.get(Thought.text == "Say at the start what the relationship is"))
    assert "Say at the start" not in walls[0].next()   # hidden from the group: off the room's screen too
    for wall in walls:
        wall.close()
    assert open_stream(bob, room, poller(text(fran.get(discussion_url(room, tail="/projector"))))).status == 404
