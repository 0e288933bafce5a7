"""Discussion boards a facilitator opens in any session of the group's programme, with a prompt of their own or one
of the session's questions: the group adds thoughts as on a scenario's board (named or not, hidden, taken back),
the facilitator closes and reopens them, and boards of earlier sessions stay readable. A board is kept as a
Discussion whose place is the session's, then `_board/<n>`; a scenario's board keeps its place, as before."""

from conftest import post, text
from test_sessions import BOUNDARIES, COURSE, add_thought, choose, discussion_url, follow_the_course, run_url

from p2p.models import Discussion, Group, Thought

S1, S2 = "p2p/module-1/session-1", "p2p/module-1/session-2"
PROMPT = "What would help you feel safe to speak in this group?"


def board_url(room, session="module-1/session-1", number=1, tail=""):
    return f"/groups/{room.group.id}/discuss/{session}/_board/{number}{tail}"


def open_board(client, room, prompt, place=S1, htmx=False, **extra):
    return post(client, run_url(room, "/boards"), {"place": place, "prompt": prompt, **extra},
                token_from=run_url(room), headers={"HX-Request": "true"} if htmx else {})


def think(client, room, words, anonymous=False, htmx=False, **board):
    data = {"text": words, **({"anonymous": "1"} if anonymous else {})}
    return post(client, board_url(room, tail="/thoughts", **board), data, token_from=board_url(room, **board),
                headers={"HX-Request": "true"} if htmx else {})


def set_state(client, room, action, **board):
    return post(client, board_url(room, tail="/state", **board), {"action": action}, token_from=board_url(room, **board))


def test_a_facilitator_opens_a_board_in_a_session_without_scenarios_and_the_group_adds_thoughts(room, as_user):
    fran, alice, bob = as_user(room.facilitator), as_user(room.alice), as_user(room.bob)
    choose(fran, room, S1)
    run = text(fran.get(run_url(room)))
    assert "Discussion boards" in run and "Open a new board" in run and "Boards opened in this session" not in run
    # The session's own questions are offered too.
    assert "<option>What feels positive about undertaking P2P?</option>" in run
    opened = open_board(fran, room, PROMPT)
    assert opened.status_code == 302 and opened.headers["Location"].endswith(board_url(room))
    board = Discussion.get()
    assert (board.place, board.prompt, board.closed) == (f"{S1}/_board/1", PROMPT, False)

    # Members find it on their home and group pages (open now) and on the session page, and add their thoughts.
    for path in ("/", f"/groups/{room.group.id}"):
        assert f'Discussion: <a href="{board_url(room)}">{PROMPT}</a>' in text(alice.get(path)), path
    session = text(alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    assert "The group’s discussion boards" in session and f'<a href="{board_url(room)}">{PROMPT}</a>' in session
    page = text(alice.get(board_url(room)))
    assert f"<h1 class=\"board-prompt\">{PROMPT}</h1>" in page and '<label for="thought-text">Your thought</label>' in page
    assert "Close the board" not in page   # a facilitator's button
    assert think(alice, room, "Knowing nobody will repeat it outside").status_code == 302
    fragment = text(think(alice, room, "Time to think before I answer", anonymous=True, htmx=True))
    assert "Added, without your name." in fragment and "Alice" not in fragment
    seen = text(bob.get(board_url(room)))
    assert "Knowing nobody will repeat it outside" in seen and "Alice" in seen
    assert "Time to think before I answer" in seen and "Someone in the group" in seen
    assert "· 2 thoughts" in text(fran.get(run_url(room)))

    # Live, by version, as a scenario's board: a poll costs nothing when nothing changed.
    version = Discussion.get().version
    assert bob.get(board_url(room, tail=f"/live?v={version}&last=0")).status_code == 204
    assert "Time to think before I answer" in text(bob.get(board_url(room, tail="/live?v=0&last=0")))

    # Hidden by the facilitator (its author still sees it), taken back by its author: the same routes.
    named = Thought.get(Thought.text.startswith("Knowing"))
    post(fran, f"/groups/{room.group.id}/thoughts/{named.id}", {"action": "hide"}, token_from=board_url(room))
    assert "Knowing nobody" not in text(bob.get(board_url(room)))
    assert "hidden from the group by the facilitator" in text(alice.get(board_url(room)))
    assert post(bob, f"/groups/{room.group.id}/thoughts/{named.id}/take-back",
                token_from=board_url(room)).status_code == 404
    post(alice, f"/groups/{room.group.id}/thoughts/{named.id}/take-back", token_from=board_url(room))
    assert Thought.select().count() == 1


def test_a_board_opens_in_any_programme_and_module(room, as_user):
    follow_the_course(room)
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    place = f"{COURSE}/course/what-is-recovery"   # a session with no blocks at all
    choose(fran, room, place)
    assert "Open a new board" in text(fran.get(run_url(room))) and "<select id=\"board-question\"" not in text(
        fran.get(run_url(room)))
    open_board(fran, room, "What does recovery mean to you?", place=place)
    think(alice, room, "Hope", session="course/what-is-recovery")
    assert "Hope" in text(alice.get(board_url(room, session="course/what-is-recovery")))
    # The scenarios' boards of the course are as they were: their place is the scenario's, with no prompt.
    add_thought(alice, room, "Say it at the start")
    scenario = Discussion.get(Discussion.place == f"{COURSE}/{BOUNDARIES}/scenario-1")
    assert (scenario.prompt, scenario.closed) == ("", False)
    assert "Scenario 1" in text(alice.get(discussion_url(room))) and "Say it at the start" in text(
        alice.get(discussion_url(room)))


def test_several_boards_in_a_session_are_numbered_and_a_resend_opens_one(room, as_user):
    fran = as_user(room.facilitator)
    choose(fran, room, S1)
    open_board(fran, room, PROMPT, request_key="k" * 20)
    open_board(fran, room, PROMPT, request_key="k" * 20)   # the answer was lost, and it was sent again
    again = open_board(fran, room, PROMPT, htmx=True, request_key="k" * 20)
    assert again.headers["HX-Redirect"].endswith(board_url(room))
    open_board(fran, room, "Is there anything that feels challenging?")   # one of the session's questions
    open_board(fran, room, "How was today?", place=S2)
    assert [d.place for d in Discussion.select().order_by(Discussion.id)] == [
        f"{S1}/_board/1", f"{S1}/_board/2", f"{S2}/_board/1"]
    first = text(fran.get(board_url(room)))
    assert f'rel="next" href="{board_url(room, number=2)}"' in first and 'rel="prev"' not in first
    run = text(fran.get(run_url(room)))
    assert "Boards opened in this session" in run and "How was today?" not in run
    assert run.count("· 0 thoughts") == 2


def test_only_a_facilitator_of_the_group_opens_and_closes_boards(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    outsider, oona = as_user(room.outsider), as_user(room.other_facilitator)
    choose(fran, room, S1)
    open_board(fran, room, PROMPT)
    think(alice, room, "Only for our group")
    thought = Thought.get()
    assert open_board(alice, room, "Mine").status_code == 404
    assert set_state(alice, room, "close").status_code == 404
    for client in (outsider, oona):   # another group's members, its facilitator too
        assert client.get(board_url(room)).status_code == 404
        assert client.get(board_url(room, tail="/live?v=0")).status_code == 404
        assert post(client, board_url(room, tail="/thoughts"), {"text": "Hello"}).status_code == 404
        assert post(client, run_url(room, "/boards"), {"place": S1, "prompt": "Ours"}).status_code == 404
        assert post(client, board_url(room, tail="/state"), {"action": "close"}).status_code == 404
        assert post(client, f"/groups/{room.group.id}/thoughts/{thought.id}", {"action": "hide"}).status_code == 404
    # The same address in the other group is not our board.
    assert oona.get(f"/groups/{room.other_group.id}/discuss/module-1/session-1/_board/1").status_code == 404
    assert Discussion.select().count() == 1 and not Discussion.get().closed
    # Addresses that are no board: another number, no number, a session not in the programme; a scenario's board
    # cannot be closed.
    for path in (board_url(room, number=2), board_url(room, number="01"), board_url(room, number="x"),
                 board_url(room, number="%00"), board_url(room, number="١"), board_url(room, session="module-1/nope"),
                 board_url(room, session="module-9/session-1")):
        assert alice.get(path).status_code == 404, path
    Group.update(programme=COURSE).where(Group.id == room.group.id).execute()
    assert alice.get(board_url(room)).status_code == 404   # its session is not in the group's programme now
    assert post(fran, discussion_url(room, tail="/state"), {"action": "close"},
                token_from=discussion_url(room)).status_code == 404


def test_a_closed_board_is_read_but_takes_no_thoughts_until_opened_again(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, S1)
    open_board(fran, room, PROMPT)
    think(alice, room, "Before it closed")
    page_before = board_url(room)
    response = set_state(fran, room, "close")
    assert response.status_code == 302 and response.headers["Location"].endswith(page_before)
    assert Discussion.get().closed
    page = text(alice.get(board_url(room)))
    assert "This board is closed: nothing more can be added. Everyone can still read it." in page
    assert "Before it closed" in page and 'id="thought-text"' not in page
    live = text(alice.get(board_url(room, tail="/live?v=0&last=0")))
    assert "This board is closed" in live
    # Someone still typing when it closed: told kindly, with their words kept.
    late = text(think(alice, room, "Just one more", htmx=True))
    assert "The facilitator has closed this board" in late and "Just one more" in late
    again = text(think(alice, room, "Just one more"))   # without scripts: the page, with the form and the words
    assert "The facilitator has closed this board" in again and ">Just one more</textarea>" in again
    assert Thought.select().count() == 1
    # Gone from "open now" on the group page; still on the session page and the run page, marked closed.
    assert PROMPT not in text(alice.get(f"/groups/{room.group.id}")) and PROMPT not in text(alice.get("/"))
    assert "closed, still here to read" in text(alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    run = text(fran.get(run_url(room)))
    assert "· 1 thought · closed" in run and f"Open it again<span class=\"visually-hidden\">: {PROMPT}</span>" in run
    # Opened again from the run page, which it returns to.
    back = post(fran, board_url(room, tail="/state"), {"action": "open", "back": run_url(room) + "#boards"},
                token_from=run_url(room))
    assert back.headers["Location"].endswith(run_url(room) + "#boards")
    assert think(alice, room, "Just one more").status_code == 302 and Thought.select().count() == 2
    assert post(fran, board_url(room, tail="/state"), {"action": "delete"}, token_from=run_url(room)).status_code == 404
    evil = post(fran, board_url(room, tail="/state"), {"action": "close", "back": "//example.com/"},
                token_from=run_url(room))
    assert evil.headers["Location"].endswith(board_url(room))   # never to another site


def test_a_prompt_the_board_cannot_take_is_said_calmly_with_the_words_kept(room, as_user):
    fran = as_user(room.facilitator)
    choose(fran, room, S1)
    for prompt in ("", "   ", "\x00"):
        answer = open_board(fran, room, prompt, htmx=True)
        body = text(answer)
        assert answer.status_code == 200 and body.lstrip().startswith('<div id="open-board"')
        assert "Please write a question or prompt for the board first." in body and 'aria-invalid="true"' in body
    long = "Why " * 80
    body = text(open_board(fran, room, long, htmx=True))
    assert "Please keep the prompt to 300 characters (this one has 319)" in body and long.strip() in body
    page = open_board(fran, room, long)   # without scripts: a page of its own, the words kept
    assert page.status_code == 200 and "<h1>Open a discussion board</h1>" in text(page) and long.strip() in text(page)
    assert Discussion.select().count() == 0
    # A session that is not the programme's: back to the run page, saying so.
    wrong = open_board(fran, room, PROMPT, place="p2p/module-1/session-9")
    assert wrong.status_code == 302 and "Please choose the group’s session first" in text(fran.get(run_url(room)))
    # Markup is words; a NUL goes.
    open_board(fran, room, "<script>alert(1)</script> \x00and <b>bold</b>")
    assert Discussion.get().prompt == "<script>alert(1)</script> and <b>bold</b>"
    raw = fran.get(board_url(room)).get_data(as_text=True)
    assert "<script>alert(1)" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;" in raw


def test_boards_of_earlier_sessions_stay_readable_to_the_group(room, as_user):
    fran, alice, bob = as_user(room.facilitator), as_user(room.alice), as_user(room.bob)
    choose(fran, room, S1)
    open_board(fran, room, PROMPT)
    think(alice, room, "Kindness")
    choose(fran, room, S2)   # the group moves on; the board was left open
    assert PROMPT not in text(bob.get(f"/groups/{room.group.id}"))   # "open now" is the current session's
    assert "Boards opened in this session" not in text(fran.get(run_url(room)))
    earlier = text(bob.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    assert PROMPT in earlier and "· 1 thought" in earlier
    assert "Kindness" in text(bob.get(board_url(room)))
    assert f"<title>{PROMPT} · Session 1: Co-create" in text(bob.get(board_url(room)))


def test_a_board_a_facilitator_opened_goes_on_the_projector_with_its_prompt_and_no_name(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    choose(fran, room, "module-1/session-1")
    open_board(fran, room, PROMPT)
    think(alice, room, "Knowing what is said stays here")
    assert board_url(room, tail="/projector") in text(fran.get(board_url(room)))
    page = text(fran.get(board_url(room, tail="/projector")))
    assert PROMPT in page and "Knowing what is said stays here" in page and "Alice" not in page
    assert alice.get(board_url(room, tail="/projector")).status_code == 404
