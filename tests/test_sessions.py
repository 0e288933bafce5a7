"""Running a session: the group's current session, the facilitator's run page, the timer everyone sees, and the
discussion boards of scenario lessons. Anonymous thoughts never carry a name; the Mini Knowledge is never shown
to participants."""

import re
from datetime import timedelta

import pytest
from conftest import post, text
from test_content import GOOD_MODULE, write_programme

from p2p.content import ContentError, load_library
from p2p.db import db
from p2p.models import Board, CurrentSession, Discussion, Group, Membership, Proposal, Thought, Timer, utcnow
from p2p.models.schema import UPGRADES, upgrade
from p2p.sessions import THOUGHT_LIMIT

MINI_KNOWLEDGE = "This Mini Knowledge provides helpful underpinning knowledge"   # Module 1's notes
S1 = "Session 1: Co-create an empowering and safe learning environment"
S2 = "Session 2: Explore the principles and relationships in peer support"
COURSE = "peer-support-training"
BOUNDARIES = "course/positive-risk-taking-and-boundaries/boundaries"


def run_url(room, tail=""):
    return f"/groups/{room.group.id}/run{tail}"


def choose(client, room, place):
    return post(client, run_url(room, "/current"), {"place": place}, token_from=f"/groups/{room.group.id}")


def start_timer(client, room, **data):
    return post(client, f"/groups/{room.group.id}/timer", data, token_from=f"/groups/{room.group.id}")


def follow_the_course(room):
    """The boundaries scenarios are in the Peer Support Training course."""
    Group.update(programme=COURSE).where(Group.id == room.group.id).execute()


def discussion_url(room, scenario="scenario-1", tail=""):
    return f"/groups/{room.group.id}/discuss/{BOUNDARIES}/{scenario}{tail}"


def add_thought(client, room, words, anonymous=False, scenario="scenario-1", htmx=False):
    data = {"text": words, **({"anonymous": "1"} if anonymous else {})}
    return post(client, discussion_url(room, scenario, "/thoughts"), data, token_from=discussion_url(room, scenario),
                headers={"HX-Request": "true"} if htmx else {})


# ---------------------------------------------------------------------------------------------------
# The current session.


def test_the_facilitator_sets_the_current_session_and_everyone_sees_it(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    assert "Now:" not in text(alice.get("/"))
    assert "No session is chosen yet" in text(fran.get(run_url(room)))
    choose(fran, room, "p2p/module-1/session-1")
    assert CurrentSession.place_of(room.group) == "p2p/module-1/session-1"
    link = f'href="/groups/{room.group.id}/modules/module-1/sessions/session-1">{S1}</a>'
    for page in (text(alice.get("/")), text(alice.get(f"/groups/{room.group.id}"))):
        assert "Now:" in page and link in page
    assert "This is the session your group is in now." in text(
        alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    # The other group is somewhere else.
    assert "Now:" not in text(as_user(room.outsider).get("/"))


def test_start_with_the_first_session_starts_the_groups_first_session_not_the_reading_before_it(room, as_user):
    """Preparing is worked through by each person before the group meets (before_the_group): the group's first
    session is Module 1's Session 1, and the button starts that one."""
    fran = as_user(room.facilitator)
    page = text(fran.get(run_url(room)))
    start = re.search(r'<input type="hidden" name="place" value="([^"]+)">\s*<button type="submit" class="button">'
                      r'Start with the first session: ([^<]+)</button>', page)
    assert start and start[2] == S1
    choose(fran, room, start[1])
    assert CurrentSession.place_of(room.group) == "p2p/module-1/session-1"
    assert f"Now: {S1}" in text(fran.get(run_url(room)))


def test_preparing_is_marked_before_the_group_and_stays_in_the_list_to_choose(app):
    from p2p.sessions import all_sessions
    programme = app.extensions["p2p.content"].programme("p2p")
    assert programme.module("preparing").before_the_group and not programme.module("module-1").before_the_group
    assert [s.module.id for s in all_sessions(programme)][:1] == ["preparing"]   # still listed first, to choose


def test_next_session_moves_on_through_the_modules(room, as_user):
    fran = as_user(room.facilitator)
    page = text(fran.get(run_url(room)))
    assert f"Start with the first session: {S1}" in page
    choose(fran, room, "p2p/module-1/session-1")
    page = text(fran.get(run_url(room)))
    assert f"Now: {S1}" in page and f"Move on to the next session: {S2}" in page
    assert 'value="p2p/module-1/session-2"' in page
    choose(fran, room, "p2p/preparing/personal-recovery-story")   # the last session of Preparing…
    assert f"Move on to the next session: {S1}" in text(fran.get(run_url(room)))   # …leads into Module 1


def test_only_a_session_of_the_programme_can_be_chosen(room, as_user):
    fran = as_user(room.facilitator)
    response = choose(fran, room, "peer-support-training/course/what-is-recovery")
    assert "Please choose a session from the list." in text(fran.get(run_url(room)))
    assert response.status_code == 302 and CurrentSession.place_of(room.group) is None


def test_a_current_session_from_another_programme_is_not_shown(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, "p2p/module-1/session-1")
    follow_the_course(room)
    assert "Now:" not in text(alice.get("/"))
    assert "No session is chosen yet" in text(fran.get(run_url(room)))


def test_participants_and_other_groups_cannot_choose_or_run(room, as_user):
    alice, oona = as_user(room.alice), as_user(room.other_facilitator)
    assert alice.get(run_url(room)).status_code == 404
    assert oona.get(run_url(room)).status_code == 404
    assert choose(alice, room, "p2p/module-1/session-1").status_code == 404
    assert start_timer(alice, room, minutes="5").status_code == 404
    assert CurrentSession.select().count() == 0 and Timer.select().count() == 0


# ---------------------------------------------------------------------------------------------------
# The run page.


def test_the_run_page_shows_the_session_its_activities_and_the_mini_knowledge(room, as_user):
    fran = as_user(room.facilitator)
    choose(fran, room, "p2p/module-1/session-1")
    page = text(fran.get(run_url(room)))
    assert f"Now: {S1}" in page
    assert "Commit to a code of behaviour for the group." in page          # a learning intention
    assert "What happens in this session" in page and "Preparing for Session 1" in page
    assert "What feels positive about undertaking P2P?" in page             # the agenda, from the blocks
    assert "Open the code of behaviour board" in page and f'href="/groups/{room.group.id}/board"' in page
    assert "Start a re-affirm round" not in page
    assert f'href="/groups/{room.group.id}/board/projector"' in page
    assert MINI_KNOWLEDGE in page and "Only facilitators see this." in page


def test_sessions_2_to_4_offer_a_reaffirm_round_once_there_is_a_code(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, "p2p/module-1/session-2")
    page = text(fran.get(run_url(room)))
    assert "has not agreed a code of behaviour yet" in page and "Start a re-affirm round" not in page
    post(alice, f"/groups/{room.group.id}/board/proposals", {"text": "Be kind"}, token_from=f"/groups/{room.group.id}")
    board = f"/groups/{room.group.id}/board"
    post(fran, board + "/settings", {"action": "phase:agree"}, token_from=board)
    post(fran, board + f"/proposals/{Proposal.get().id}", {"action": "agree"}, token_from=board)
    post(fran, board + "/version", token_from=board)
    page = text(fran.get(run_url(room)))
    # It asks first (the confirmation page, board/round.html), then starts.
    assert "Start a re-affirm round" in page and f'href="/groups/{room.group.id}/board/round"' in page
    post(fran, board + "/round", token_from=board + "/round")
    assert Board.for_group(room.group).phase == "respond"


def test_the_mini_knowledge_is_never_shown_to_participants(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, "p2p/module-1/session-1")
    start_timer(fran, room, minutes="5")
    group = f"/groups/{room.group.id}"
    for path in ("/", group, f"{group}/modules/module-1", f"{group}/modules/module-1/sessions/session-1",
                 f"{group}/board", f"{group}/timer/live", run_url(room)):
        page = text(alice.get(path))
        assert MINI_KNOWLEDGE not in page and "Only facilitators see this." not in page, path
    follow_the_course(room)
    page = text(alice.get(discussion_url(room)))
    assert "Scenario 1" in page and "Only facilitators see this." not in page


def test_the_run_page_links_the_discussion_boards_of_the_sessions_scenarios(room, as_user):
    follow_the_course(room)
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, f"{COURSE}/{BOUNDARIES.rsplit('/', 1)[0]}")
    add_thought(alice, room, "Say at the start what the relationship is")
    page = text(fran.get(run_url(room)))
    assert "Discussion boards" in page
    for n in range(1, 5):
        assert f'href="/groups/{room.group.id}/discuss/{BOUNDARIES}/scenario-{n}">Scenario {n}</a>' in page
    assert "· 1 thought" in page and "· 0 thoughts" in page
    # Members of a group following the course reach them from the session page too.
    session = text(alice.get(f"/groups/{room.group.id}/modules/course/sessions/positive-risk-taking-and-boundaries"))
    assert "Discuss Scenario 1 with the group" in session
    assert f'href="/groups/{room.group.id}/discuss/{BOUNDARIES}/scenario-4"' in session


# ---------------------------------------------------------------------------------------------------
# Discussion boards.


def test_a_named_thought_shows_its_authors_name(room, as_user):
    follow_the_course(room)
    alice, bob = as_user(room.alice), as_user(room.bob)
    response = add_thought(alice, room, "Agree the boundaries at the start")
    assert response.status_code == 302
    page = text(bob.get(discussion_url(room)))
    assert "Agree the boundaries at the start" in page and "Alice" in page
    assert "Yours" in text(alice.get(discussion_url(room)))


def test_an_anonymous_thought_never_shows_its_author(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    fragment = text(add_thought(alice, room, "It feels like friendship, and that is the risk", anonymous=True,
                                htmx=True))
    assert "Added, without your name." in fragment and "Alice" not in fragment
    add_thought(alice, room, "A second, also without a name", anonymous=True)
    thought = Thought.get(Thought.text.startswith("It feels"))
    group = f"/groups/{room.group.id}"
    session = f"{group}/modules/course/sessions/positive-risk-taking-and-boundaries"
    seen = [(client, path) for client in (bob, fran, alice)
            for path in (discussion_url(room), discussion_url(room, tail="/live?v=0&last=0"), session)]
    seen += [(bob, group), (bob, "/"), (fran, run_url(room)), (fran, f"{group}/board/projector")]
    for client, path in seen:
        page = text(client.get(path))
        assert "It feels like friendship" in page or path not in (discussion_url(room),), path
        assert "Alice" not in page, path
    assert "Someone in the group" in text(bob.get(discussion_url(room)))
    assert "Yours, without your name" in text(alice.get(discussion_url(room)))
    for action in ("hide", "show"):   # the facilitator's own answers to hiding carry no name either
        answer = text(post(fran, f"{group}/thoughts/{thought.id}", {"action": action},
                           token_from=discussion_url(room), headers={"HX-Request": "true"}))
        assert "It feels like friendship" in answer and "Alice" not in answer


def test_thoughts_are_kind_about_problems_and_keep_the_words(room, as_user):
    follow_the_course(room)
    alice = as_user(room.alice)
    empty = text(add_thought(alice, room, "   ", htmx=True))
    assert "Please write your thought first." in empty
    long = "word " * 120
    too_long = text(add_thought(alice, room, long, htmx=True))
    assert "Please keep a thought to 500 characters" in too_long and long.strip() in too_long
    assert "599 of 500 characters: 99 too many" in too_long   # the count under the box says it too
    page = text(add_thought(alice, room, long))    # without htmx: the page again, with the words and the problem
    assert "Please keep a thought to 500 characters" in page and long.strip() in page
    assert Thought.select().count() == 0
    assert 'data-tone="problem"' in empty and "red" not in empty


def test_thoughts_are_rate_limited_per_person(room, as_user):
    follow_the_course(room)
    alice, bob = as_user(room.alice), as_user(room.bob)
    for n in range(THOUGHT_LIMIT[0]):
        add_thought(alice, room, f"Thought {n}")
    assert "a lot of thoughts at once" in text(add_thought(alice, room, "One more", htmx=True))
    add_thought(bob, room, "Bob's thought")
    assert Thought.select().count() == THOUGHT_LIMIT[0] + 1


def test_thoughts_arrive_by_version_and_polls_cost_nothing_when_nothing_changed(room, as_user):
    follow_the_course(room)
    alice, bob = as_user(room.alice), as_user(room.bob)
    assert bob.get(discussion_url(room, tail="/live?v=0&last=0")).status_code == 204
    add_thought(alice, room, "Clarity at the outset")
    version = Discussion.get().version
    live = bob.get(discussion_url(room, tail="/live?v=0&last=0"))
    body = text(live)
    assert live.status_code == 200 and body.lstrip().startswith('<div id="thought-list"')
    assert "Clarity at the outset" in body and f"v={version}" in body
    # Screen readers hear what is new, in the region that stays in the page: only its text is swapped.
    assert '<p id="thought-announce" data-hx-swap-oob="innerHTML">New thought: Clarity at the outset</p>' in body
    assert bob.get(discussion_url(room, tail=f"/live?v={version}&last=0")).status_code == 204
    # Her own thought is not announced to its author.
    assert "thought-announce" not in text(alice.get(discussion_url(room, tail="/live?v=0&last=0")))
    # The typing box is never in a poll's answer.
    assert "thought-text" not in body


def test_the_htmx_answer_to_adding_keeps_the_box_and_brings_the_list(room, as_user):
    follow_the_course(room)
    alice = as_user(room.alice)
    body = text(add_thought(alice, room, "Be clear", htmx=True))
    assert body.lstrip().startswith('<section id="add-thought"')
    assert '<div id="thought-list"' in body and 'data-hx-swap-oob="true"' in body and "Be clear" in body


def test_the_facilitator_hides_a_thought_and_its_author_still_sees_it(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    add_thought(alice, room, "Something better not shown")
    thought = Thought.get()
    assert post(alice, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": "hide"},
                token_from=discussion_url(room)).status_code == 404   # participants cannot hide
    post(fran, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": "hide"}, token_from=discussion_url(room))
    assert "Something better not shown" not in text(bob.get(discussion_url(room)))
    mine = text(alice.get(discussion_url(room)))
    assert "Something better not shown" in mine and "hidden from the group by the facilitator (you still see it)" in mine
    assert "Show it again" in text(fran.get(discussion_url(room)))
    post(fran, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": "show"}, token_from=discussion_url(room))
    assert "Something better not shown" in text(bob.get(discussion_url(room)))


def test_an_author_can_take_a_thought_back_and_nobody_else_can(room, as_user):
    follow_the_course(room)
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    add_thought(alice, room, "On second thoughts")
    thought = Thought.get()
    for other in (bob, fran):
        assert post(other, f"/groups/{room.group.id}/thoughts/{thought.id}/take-back",
                    token_from=discussion_url(room)).status_code == 404
    post(alice, f"/groups/{room.group.id}/thoughts/{thought.id}/take-back", token_from=discussion_url(room))
    assert Thought.select().count() == 0
    assert "On second thoughts" not in text(bob.get(discussion_url(room)))


def test_discussions_belong_to_one_group_and_to_real_scenarios(room, as_user):
    follow_the_course(room)
    Group.update(programme=COURSE).where(Group.id == room.other_group.id).execute()
    alice, outsider, oona = as_user(room.alice), as_user(room.outsider), as_user(room.other_facilitator)
    add_thought(alice, room, "Only for our group")
    thought = Thought.get()
    assert outsider.get(discussion_url(room)).status_code == 404
    assert outsider.get(discussion_url(room, tail="/live")).status_code == 404
    assert post(oona, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": "hide"}).status_code == 404
    # The same scenario in the other group is another board.
    other = f"/groups/{room.other_group.id}/discuss/{BOUNDARIES}/scenario-1"
    assert "Only for our group" not in text(outsider.get(other))
    assert oona.post(f"/groups/{room.other_group.id}/thoughts/{thought.id}", data={}).status_code in (400, 404)
    assert alice.get(discussion_url(room, "scenario-9")).status_code == 404
    assert alice.get(f"/groups/{room.group.id}/discuss/course/positive-risk-taking-and-boundaries/"
                     "trauma-informed-peer-support/scenario-1").status_code == 404   # a reading has no scenarios


def test_the_live_discussion_rechecks_membership_on_every_poll(room, as_user):
    follow_the_course(room)
    bob = as_user(room.bob)
    assert bob.get(discussion_url(room, tail="/live")).status_code == 200
    Membership.of(room.bob, room.group).delete_instance()
    assert bob.get(discussion_url(room, tail="/live")).status_code == 404


# ---------------------------------------------------------------------------------------------------
# The timer.


def test_a_timer_shows_on_every_screen_of_the_group(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    start_timer(fran, room, minutes="5", label="Take five minutes to reflect")
    timer = Timer.get()
    assert 298 <= timer.remaining <= 300 and timer.seconds == 300
    group = f"/groups/{room.group.id}"
    for client, path in ((alice, group), (alice, f"{group}/board"), (alice, f"{group}/modules/module-1"),
                         (alice, f"{group}/modules/module-1/sessions/session-1"), (fran, f"{group}/board/projector"),
                         (fran, run_url(room))):
        page = text(client.get(path))
        assert 'id="group-timer"' in page and "Take five minutes to reflect" in page, path
        assert 'data-remaining="' in page and "js/timer.js" in page, path
        assert 'id="timer-announce" class="visually-hidden" aria-live="polite"' in page, path
    follow_the_course(room)
    assert 'id="group-timer"' in text(alice.get(discussion_url(room)))
    # Pages outside a group's session do not poll for it.
    assert 'id="group-timer"' not in text(alice.get("/account"))


def test_the_timer_polls_by_version_and_stops(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    live = f"/groups/{room.group.id}/timer/live"
    assert alice.get(live + "?v=0").status_code == 204   # no timer yet
    start_timer(fran, room, length="2")
    version = Timer.get().version
    assert alice.get(f"{live}?v={version}").status_code == 204
    fresh = text(alice.get(f"{live}?v=0"))
    assert 'data-fresh="true"' in fresh and 'data-length="2 minutes"' in fresh and "2:00 left" in fresh
    post(fran, f"/groups/{room.group.id}/timer", {"action": "stop"}, token_from=run_url(room))
    stopped = text(alice.get(f"{live}?v={version}"))
    assert "data-remaining" not in stopped and 'id="group-timer"' in stopped
    assert Timer.get().ends_at is None and "Stop the timer" not in text(fran.get(run_url(room)))


def test_the_timer_takes_a_number_of_minutes_and_says_so_kindly_otherwise(room, as_user):
    fran = as_user(room.facilitator)
    for wrong in ("", "none", "0", "-3", "999", "0.001", "nan", "1e999"):
        start_timer(fran, room, length=wrong)
        assert "Please give the timer a number of minutes, up to 180 (half a minute is 0.5)." in text(fran.get(run_url(room))), wrong
    assert Timer.select().count() == 0
    start_timer(fran, room, length="1.5")
    assert Timer.get().seconds == 90
    assert "The timer is running: 1 minute and 30 seconds." in text(fran.get(run_url(room)))
    start_timer(fran, room, minutes="10", length="3")   # a quick button wins over the number in the box
    assert Timer.get().seconds == 600


def test_a_finished_timer_is_no_longer_shown(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    start_timer(fran, room, minutes="1")
    Timer.update(ends_at=utcnow() - timedelta(seconds=1)).execute()
    assert "data-remaining" not in text(alice.get(f"/groups/{room.group.id}"))


def test_the_timer_is_only_for_the_groups_members(room, as_user):
    fran, outsider = as_user(room.facilitator), as_user(room.outsider)
    start_timer(fran, room, minutes="3")
    assert outsider.get(f"/groups/{room.group.id}/timer/live?v=0").status_code == 404
    page = text(outsider.get(f"/groups/{room.group.id}/board"))   # the 404 page on a timer page's address
    assert 'id="group-timer"' not in page
    assert 'id="group-timer"' in text(outsider.get(f"/groups/{room.other_group.id}"))
    assert "data-remaining" not in text(outsider.get(f"/groups/{room.other_group.id}"))


# ---------------------------------------------------------------------------------------------------
# Content and schema.


def test_a_session_names_known_activities_only(tmp_path):
    path = write_programme(tmp_path, GOOD_MODULE.replace('title = "Session one"',
                                                         'title = "Session one"\nactivities = ["code-bored"]'))
    with pytest.raises(ContentError) as caught:
        load_library(tmp_path)
    assert caught.value.file == str(path) and "sessions[0].activities[0]" in caught.value.where
    assert "'code-bored' is not an activity" in caught.value.message


def test_module_1_opens_the_board_in_session_1_and_reaffirms_in_2_to_4(app):
    module = app.extensions["p2p.content"].programme("p2p").module("module-1")
    assert [s.activities for s in module.sessions] == [("code-board",), *[("reaffirm-round",)] * 3]


def test_an_existing_database_gains_the_session_tables(app):
    with db.connection_context():
        for table in ("thought", "discussion", "timer", "current_session"):
            db.execute_sql(f'DROP TABLE "{table}"')
        db.execute_sql("DELETE FROM schema_version WHERE version >= " + db.param, (UPGRADES.index(
            next(step for step in UPGRADES if step.__name__ == "_sessions")) + 1,))
        upgrade()
        assert {"thought", "discussion", "timer", "current_session"} <= set(db.get_tables())
