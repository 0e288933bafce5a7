"""The wall display: the projector views of the board, a discussion board and the timer. Only a facilitator of the
group opens one; each shows the room only what the facilitator has shown it, and never a name."""

from conftest import post, text
from test_board import board_url, propose, respond, settings
from test_sessions import add_thought, discussion_url, follow_the_course, run_url, start_timer

from p2p.models import Board, Discussion, Proposal, Thought


def agree_and_make_version(client, room, *words):
    for proposal in list(Proposal.select().where(Proposal.text.in_(words))):   # read before the requests
        post(client, board_url(room, f"/proposals/{proposal.id}"), {"action": "agree"}, token_from=board_url(room))
    post(client, board_url(room, "/version"), token_from=board_url(room))


def test_only_a_facilitator_of_the_group_opens_a_projector_view(room, as_user):
    follow_the_course(room)
    paths = [board_url(room, "/projector"), board_url(room, "/live?view=projector"), run_url(room, "/projector"),
             discussion_url(room, tail="/projector"), discussion_url(room, tail="/projector/live")]
    fran = as_user(room.facilitator)
    for path in paths:
        assert fran.get(path).status_code == 200, path
    for someone in (room.alice, room.other_facilitator, room.outsider):
        client = as_user(someone)
        for path in paths:
            assert client.get(path).status_code == 404, (someone.name, path)
    assert fran.get(discussion_url(room, "scenario-9", "/projector")).status_code == 404
    assert fran.get(f"/groups/{room.other_group.id}/run/projector").status_code == 404


def test_needs_discussion_and_the_counts_wait_for_the_facilitator_on_the_projector(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Phones on silent")
    settings(fran, room, "phase:respond")
    respond(alice, room, Proposal.get(), "object", private=True)
    for phase in Board.PHASES:   # commit before any version: the list, as in agree
        settings(fran, room, f"phase:{phase}")
        for tallies, shown in (("tallies-off", False), ("tallies-on", True)):
            settings(fran, room, tallies)
            for path in ("/projector", "/live?view=projector"):
                page = text(fran.get(board_url(room, path)))
                assert "Phones on silent" in page, (phase, path)
                assert ("needs discussion" in page) is shown, (phase, tallies, path)
                assert ("Agree 0 · Unsure 0 · Object 1" in page) is shown, (phase, tallies, path)


def test_committing_the_projector_shows_the_code_the_count_and_what_changed(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    settings(fran, room, "named-on")
    for words in ("Listen without judging", "Phones on silent", "Be on time"):
        propose(alice, room, words)
    settings(fran, room, "phase:agree")
    agree_and_make_version(fran, room, "Listen without judging", "Phones on silent")
    post(alice, board_url(room, "/commit"), token_from=board_url(room))
    page = text(fran.get(board_url(room, "/projector")))
    assert "Our code, version 1" in page and "1 of 3 has committed." in page
    assert "Listen without judging" in page and "Be on time" not in page   # the code, not every proposal
    assert "What changed" not in page and "Alice" not in page

    settings(fran, room, "phase:agree")
    post(fran, board_url(room, f"/proposals/{Proposal.get(text='Phones on silent').id}"), {"action": "unagree"},
         token_from=board_url(room))
    agree_and_make_version(fran, room, "Be on time")
    version = Board.for_group(room.group).version
    for page in (text(fran.get(board_url(room, "/projector"))),
                 text(fran.get(board_url(room, f"/live?v={version - 1}&view=projector")))):
        assert "Our code, version 2" in page and "0 of 3 have committed." in page
        changes = page[page.index("What changed since version 1"):]
        assert changes.index("Added or reworded") < changes.index("Be on time") < changes.index("Taken out")
        assert changes.index("Taken out or reworded") < changes.index("Phones on silent")
        assert "Alice" not in page
    assert fran.get(board_url(room, f"/live?v={version}&view=projector")).status_code == 204


def test_the_discussion_projector_shows_what_the_group_sees_and_no_name(room, as_user):
    follow_the_course(room)
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    add_thought(alice, room, "Say at the start what the relationship is")
    add_thought(alice, room, "It can feel like friendship", anonymous=True)
    add_thought(alice, room, "Not for the room")
    post(fran, f"/groups/{room.group.id}/thoughts/{Thought.get(text='Not for the room').id}", {"action": "hide"})
    page = text(fran.get(discussion_url(room, tail="/projector")))
    assert "Say at the start what the relationship is" in page and "It can feel like friendship" in page
    assert "Not for the room" not in page and "Alice" not in page and "Someone in the group" not in page
    assert "John is a peer supporter" in page   # the scenario stays in sight
    assert 'id="group-timer"' in page   # (empty until the timer starts)

    live = discussion_url(room, tail="/projector/live")
    version = Discussion.get().version
    assert fran.get(f"{live}?v={version}").status_code == 204
    add_thought(alice, room, "Ask what they want from it")
    page = text(fran.get(f"{live}?v={version}"))
    assert "Ask what they want from it" in page and "Not for the room" not in page and "Alice" not in page
    # The facilitator's own page and run page lead to it.
    assert discussion_url(room, tail="/projector") in text(fran.get(discussion_url(room)))
    assert discussion_url(room, tail="/projector") not in text(alice.get(discussion_url(room)))


def test_the_timer_projector_shows_the_session_and_the_time_left(room, as_user):
    fran = as_user(room.facilitator)
    post(fran, run_url(room, "/current"), {"place": "p2p/module-1/session-1"}, token_from=run_url(room))
    page = text(fran.get(run_url(room, "/projector")))
    assert "Session 1: Co-create an empowering and safe learning environment" in page
    assert "The time left shows here when the facilitator starts the timer." in page
    start_timer(fran, room, minutes="5", label="Take five minutes to reflect")
    page = text(fran.get(run_url(room, "/projector")))
    assert "Take five minutes to reflect" in page and 'role="timer"' in page and "js/timer.js" in page
    assert f'href="{run_url(room, "/projector")}"' in text(fran.get(run_url(room)))
