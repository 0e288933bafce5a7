"""The code of behaviour board: proposing, live updates by version, responding, the facilitator's controls,
the projector. Names appear only where the group chose named proposals, and never on the projector."""

import re

import pytest
from conftest import post, text

from p2p.models import Board, BoardResponse, Group, Membership, Proposal, Throttle


def board_url(room, tail=""):
    return f"/groups/{room.group.id}/board{tail}"


def propose(client, room, words, htmx=False):
    return post(client, board_url(room, "/proposals"), {"text": words}, token_from=board_url(room),
                headers={"HX-Request": "true"} if htmx else {})


def settings(client, room, action):
    return post(client, board_url(room, "/settings"), {"action": action}, token_from=board_url(room))


def respond(client, room, proposal, kind, private=False, htmx=False):
    data = {"kind": "object-private" if private else kind}
    return post(client, board_url(room, f"/proposals/{proposal.id}/respond"), data, token_from=board_url(room),
                headers={"HX-Request": "true"} if htmx else {})


def pressed(page, proposal, kind):
    """Whether this choice on this behaviour shows as the person's own (a pressed button)."""
    return bool(re.search(rf'id="respond-{proposal.id}-{kind}"[^>]*aria-pressed="true"', page))


def answered(page):
    return re.search(r'id="respond-count"[^>]*>([^<]*)<', page).group(1)


def test_an_anonymous_proposal_never_shows_its_author(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Listen without judging")
    for client, path in ((bob, board_url(room)), (bob, board_url(room, "/live")), (fran, board_url(room)),
                         (fran, board_url(room, "/projector")), (fran, board_url(room, "/live?view=projector"))):
        page = text(client.get(path))
        assert "Listen without judging" in page, path
        assert "Alice" not in page, path
    assert "Your proposal" in text(alice.get(board_url(room)))


def test_named_proposals_show_names_except_on_the_projector(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    settings(fran, room, "named-on")
    propose(alice, room, "Keep what is shared in the room")
    assert "Proposed by Alice" in text(bob.get(board_url(room)))
    assert "Alice" not in text(fran.get(board_url(room, "/projector")))
    settings(fran, room, "named-off")   # changing the setting later never unmasks or masks earlier proposals
    assert "Proposed by Alice" in text(bob.get(board_url(room)))


def test_live_updates_come_by_version_and_cost_nothing_when_nothing_changed(room, as_user):
    alice, bob = as_user(room.alice), as_user(room.bob)
    version = Board.for_group(room.group).version
    assert bob.get(board_url(room, f"/live?v={version}")).status_code == 204
    propose(alice, room, "Be on time")
    live = bob.get(board_url(room, f"/live?v={version}"))
    body = text(live)
    assert live.status_code == 200 and "Be on time" in body
    assert body.lstrip().startswith('<div id="board-list"')
    assert f"v={version + 1}" in body and 'data-hx-swap-oob="true"' in body


@pytest.mark.sqlite_only
def test_a_proposal_with_no_turn_to_write_is_refused_calmly_and_adds_nothing(room, as_user, no_turn_to_write):
    """An overloaded server: the proposal is not made, and the person is told to send it again, never an error of
    the app's (board.js says so on the board, keeping the words)."""
    alice = as_user(room.alice)
    board = alice.get(board_url(room))   # (the board is made before the turns run out)
    assert board.status_code == 200
    with no_turn_to_write():
        refused = propose(alice, room, "Be kind to yourself", htmx=True)
    assert refused.status_code == 503
    assert "Many people are sending things at once" in text(refused) and "send it again" in text(refused)
    assert not Proposal.select().where(Proposal.text == "Be kind to yourself").exists()
    assert propose(alice, room, "Be kind to yourself", htmx=True).status_code == 200
    assert Proposal.select().where(Proposal.text == "Be kind to yourself").count() == 1


def test_the_live_board_rechecks_membership_on_every_poll(room, as_user):
    bob = as_user(room.bob)
    assert bob.get(board_url(room, "/live")).status_code == 200
    Membership.of(room.bob, room.group).delete_instance()
    assert bob.get(board_url(room, "/live")).status_code == 404


def test_proposals_hidden_until_revealed(room, as_user):
    """Hiding holds back only what comes after it is turned on, until the facilitator reveals it all at once."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Seen by everyone already")
    settings(fran, room, "hide-on")
    propose(alice, room, "Phones on silent")
    propose(bob, room, "One voice at a time")
    alice_page = text(alice.get(board_url(room)))
    assert "Phones on silent" in alice_page and "One voice at a time" not in alice_page   # her own, marked
    assert "Seen by everyone already" in alice_page and "2 behaviours waiting to be revealed" in alice_page
    projector = text(fran.get(board_url(room, "/projector")))
    assert "Phones on silent" not in projector and "2 behaviours waiting to be revealed" in projector
    assert "One voice at a time" in text(fran.get(board_url(room)))   # the facilitator can prepare
    settings(fran, room, "reveal")
    assert "One voice at a time" in text(alice.get(board_url(room)))
    propose(alice, room, "After the reveal")   # revealing ends the hiding: new proposals show at once
    assert "After the reveal" in text(bob.get(board_url(room)))
    settings(fran, room, "hide-on")
    propose(fran, room, "The facilitator's own idea")   # the projector holds back the facilitator's own too
    page = text(fran.get(board_url(room, "/projector")))
    assert "The facilitator's own idea" not in page and "1 behaviour waiting to be revealed" in page


def test_proposing_is_kind_about_problems_and_keeps_the_words(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    too_long = propose(alice, room, "x" * 201, htmx=True)
    assert "200 characters" in text(too_long) and "x" * 201 in text(too_long)
    settings(fran, room, "phase:respond")
    closed = text(propose(alice, room, "Late idea", htmx=True))
    assert "Proposing has closed" in closed and "Late idea" in closed
    assert Proposal.select().count() == 0


def test_a_long_proposal_is_never_cut_and_comes_back_with_its_words_and_a_count(room, as_user):
    alice = as_user(room.alice)
    words = "Listen " * 30   # 209 characters once its spaces are as kept
    page = text(propose(alice, room, words))   # without script: the page again, nothing lost
    assert "Please keep a behaviour to 200 characters, so it fits on the code (this one has 209)" in page
    assert words.strip() in page and "209 of 200 characters: 9 too many" in page
    textarea = re.search(r"<textarea[^>]*>", page).group(0)
    assert "maxlength" not in textarea and 'data-text-max="200"' in textarea   # a browser would cut a paste
    short = text(alice.get(board_url(room)))
    assert re.search(r'<p class="char-count" id="proposal-text-count" aria-hidden="true" hidden>', short)
    assert Proposal.select().count() == 0


def test_a_tap_that_came_too_late_is_told_what_happened_and_nothing_else_changes(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Be kind", "Be on time", "Phones away", "No phones"):
        propose(alice, room, words)
    kind, on_time, phones, no_phones = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    respond(alice, room, kind, "agree")

    def said(answer):   # in place, for htmx: a 200 with the status line by the answered count, out of band
        assert answer.status_code == 200
        return re.fullmatch(r'\s*<p id="respond-said" data-hx-swap-oob="innerHTML">(.*) <button [^>]*>OK</button></p>\s*',
                            text(answer), re.S).group(1)

    # The facilitator hides one, merges two, and (another) is merged and split back out: a page that has not
    # caught up yet still offers their choices.
    shape(fran, room, on_time, "hide")
    assert said(respond(alice, room, on_time, "agree", htmx=True)) == (
        "The facilitator has taken that behaviour off the board for now, so this last choice was not saved. "
        "Everything you chose before it is kept.")
    post(fran, board_url(room, "/merge"), {"proposal": [phones.id, no_phones.id]}, token_from=board_url(room))
    assert "merged with a similar one" in said(respond(alice, room, phones, "object", htmx=True))
    merged = Proposal.get(Proposal.text == "Phones away", Proposal.merged_into.is_null())
    shape(fran, room, merged, "split")
    assert "no longer on the board" in said(respond(alice, room, merged, "pass", htmx=True))
    # Then they move on: responding has closed.
    settings(fran, room, "phase:agree")
    closed = ("The group has moved on to “Agree our code”, so this last choice was not saved. "
              "Everything you chose before it is kept.")
    assert said(respond(alice, room, kind, "unsure", htmx=True)) == closed
    # Without script: the board again, saying so at the top (never a bare 400).
    answer = respond(alice, room, kind, "unsure")
    assert answer.status_code == 302 and closed in text(alice.get(answer.headers["Location"]))
    assert [(r.proposal_id, r.kind) for r in BoardResponse.select()] == [(kind.id, "agree")]


def test_one_response_per_person_changeable_and_pass_is_a_choice_of_its_own(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    propose(alice, room, "Be on time")
    proposal = Proposal.get(Proposal.text == "Be kind")
    settings(fran, room, "phase:respond")
    page = text(alice.get(board_url(room)))
    assert "aria-pressed=\"true\"" not in page and answered(page) == "0 of 2 answered"   # nothing chosen for them
    respond(alice, room, proposal, "agree")
    respond(alice, room, proposal, "unsure")
    assert [r.kind for r in BoardResponse.select()] == ["unsure"]
    respond(alice, room, proposal, "pass")   # answered, and in no count
    assert [r.kind for r in BoardResponse.select()] == ["pass"]
    page = text(alice.get(board_url(room)))
    assert pressed(page, proposal, "pass") and answered(page) == "1 of 2 answered"
    assert "1 person has responded" in page
    settings(fran, room, "tallies-on")
    assert "Agree 0 · Unsure 0 · Object 0" in text(alice.get(board_url(room)))
    # Pressed again, a choice is taken back: no response at all, as before they chose.
    assert 'value="clear"' in page
    respond(alice, room, proposal, "clear")
    page = text(alice.get(board_url(room)))
    assert BoardResponse.select().count() == 0 and not pressed(page, proposal, "pass")
    assert answered(page) == "0 of 2 answered" and "0 people have responded" in page
    assert respond(alice, room, proposal, "maybe").status_code == 400   # no page offers it


def test_a_private_objection_shows_only_needs_discussion_once_the_counts_are_shown(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Hugs at the end")
    proposal = Proposal.get()
    settings(fran, room, "phase:respond")
    respond(bob, room, proposal, "object")            # with his name first, then he thinks again:
    respond(bob, room, proposal, "object", private=True)
    for client in (alice, fran):   # nothing about objections shows while people respond, so no change can be seen
        page = text(client.get(board_url(room)))
        assert "needs discussion" not in page and "Bob" not in page
    settings(fran, room, "tallies-on")
    for client in (alice, fran):
        page = text(client.get(board_url(room)))
        assert "needs discussion" in page and "Bob" not in page
    respond(bob, room, proposal, "object")   # an open objection: the facilitator may invite Bob to speak
    assert "would like to talk about it: Bob" in text(fran.get(board_url(room)))
    assert "Bob" not in text(alice.get(board_url(room)))


def test_tallies_stay_hidden_until_the_facilitator_shows_them(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    settings(fran, room, "phase:respond")
    respond(alice, room, Proposal.get(), "agree")
    respond(bob, room, Proposal.get(), "agree")
    assert "Agree 2" not in text(alice.get(board_url(room)))
    assert "2 people have responded" in text(alice.get(board_url(room)))
    settings(fran, room, "tallies-on")
    assert "Agree 2 · Unsure 0 · Object 0" in text(alice.get(board_url(room)))
    assert "Agree 2" in text(fran.get(board_url(room, "/projector")))


def test_shaping_edits_wording_and_hides_for_others_only(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "listen  properly")
    proposal = Proposal.get()
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, f"/proposals/{proposal.id}"), {"action": "edit", "text": "Listen properly"},
         token_from=board_url(room))
    assert "Listen properly" in text(bob.get(board_url(room)))
    post(fran, board_url(room, f"/proposals/{proposal.id}"), {"action": "hide"}, token_from=board_url(room))
    assert "Listen properly" not in text(bob.get(board_url(room)))
    assert "Listen properly" not in text(fran.get(board_url(room, "/projector")))
    assert "you still see it" in text(alice.get(board_url(room)))


def test_the_projector_can_be_blanked(room, as_user):
    fran = as_user(room.facilitator)
    propose(fran, room, "Be kind")
    post(fran, board_url(room, "/settings"), {"action": "blank-on", "back": "projector"}, token_from=board_url(room))
    page = text(fran.get(board_url(room, "/projector")))
    assert "Be kind" not in page and "Show the board again" in page


def test_proposals_are_rate_limited_per_person(app, room, as_user):
    """Counted in memory only: a counter row updated with each of someone's proposals would tie their anonymous
    ones together, and to their named ones, in the database's history."""
    from p2p.board import PROPOSAL_LIMIT
    alice, bob = as_user(room.alice), as_user(room.bob)
    counters = list(Throttle.select().tuples())
    for n in range(PROPOSAL_LIMIT[0]):
        propose(alice, room, f"Idea {n}")
    assert "a lot of proposals at once" in text(propose(alice, room, "One more", htmx=True))
    propose(bob, room, "Bob's idea")
    assert Proposal.select().count() == PROPOSAL_LIMIT[0] + 1
    assert list(Throttle.select().tuples()) == counters


# Merging, agreeing, versions and commitments.

def shape(client, room, proposal, action, **data):
    return post(client, board_url(room, f"/proposals/{proposal.id}"), {"action": action, **data},
                token_from=board_url(room))


def test_merging_keeps_provenance_and_responses_follow(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    for client, words in ((alice, "Listen"), (bob, "Listen to each other"), (alice, "Be on time")):
        propose(client, room, words)
    listen, listen2, on_time = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    respond(alice, room, listen, "agree")
    respond(bob, room, listen2, "object", private=True)
    settings(fran, room, "tallies-on")
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, "/merge"), {"proposal": [listen.id, listen2.id], "text": "Listen to each other fully"},
         token_from=board_url(room))
    page = text(alice.get(board_url(room)))
    assert "Listen to each other fully" in page and "Proposed by 2 people" in page
    assert page.count('class="proposal__text"') == 2   # the merge and "Be on time"
    assert "needs discussion" in page                  # Bob's objection moved with his proposal
    merged = Proposal.get(Proposal.text == "Listen to each other fully")
    shape(fran, room, merged, "split")
    page = text(alice.get(board_url(room)))
    assert "Listen to each other fully" not in page and page.count('class="proposal__text"') == 3
    assert [r.kind for r in BoardResponse.select().order_by(BoardResponse.id)] == ["agree", "object"]


def test_agreeing_makes_version_1_and_everyone_commits_once(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    propose(bob, room, "No phones")
    kind, phones = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    for client in (alice, bob):
        respond(client, room, kind, "agree")
    respond(alice, room, phones, "object")
    settings(fran, room, "phase:agree")
    page = text(fran.get(board_url(room)))
    assert page.count("suggested: no objection, most agree") == 1
    shape(fran, room, kind, "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    assert Board.for_group(room.group).phase == "commit"
    code = text(alice.get(f"/groups/{room.group.id}/code"))
    assert "version 1" in code and "Be kind" in code and "No phones" not in code
    assert "Please read it, and commit to it" in text(alice.get(f"/groups/{room.group.id}"))
    for _ in range(2):   # a double tap counts once
        post(alice, board_url(room, "/commit"), token_from=board_url(room))
    assert "1 person has committed" in text(bob.get(f"/groups/{room.group.id}/code"))
    assert "Please read it" not in text(alice.get(f"/groups/{room.group.id}"))
    assert "Alice" not in text(bob.get(f"/groups/{room.group.id}/code"))   # anonymous group: a count only
    md = alice.get(f"/groups/{room.group.id}/code.md").get_data(as_text=True)
    assert "1. Be kind" in md and "Version 1" in md and "Alice" not in md


def code_of_one_then_a_new_round(proposer, fran, room, behaviour: str) -> None:
    """A code of one behaviour (version 1), then a re-affirm round: where Sessions 2-4 begin."""
    propose(proposer, room, behaviour)
    settings(fran, room, "phase:agree")
    shape(fran, room, Proposal.get(Proposal.text == behaviour), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    post(fran, board_url(room, "/round"), token_from=board_url(room))


def test_a_reaffirm_round_makes_version_2_and_shows_what_changed(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    code_of_one_then_a_new_round(alice, fran, room, "Be kind")
    assert "Still agree" in text(alice.get(board_url(room)))
    settings(fran, room, "phase:propose")
    propose(alice, room, "Start on time")
    settings(fran, room, "phase:agree")
    shape(fran, room, Proposal.get(Proposal.text == "Start on time"), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    code = text(alice.get(f"/groups/{room.group.id}/code"))
    assert "version 2" in code and "What changed since version 1" in code
    changes = code[code.index("What changed since version 1"):]
    assert "Start on time" in changes[changes.index("Added or reworded"):] and "Taken out" not in changes
    assert "Please read it" in text(alice.get(f"/groups/{room.group.id}"))   # a new version asks again


def test_a_workbook_answer_can_be_proposed_after_editing_and_nothing_leaves_until_then(room, as_user):
    from test_workbook import S1, autosave
    alice = as_user(room.alice)
    place = f"{S1}/behaviours-help-you-feel-safe"
    autosave(alice, place, "Being listened to, without advice.")
    session = text(alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    assert session.count("Propose to the group’s code of behaviour") == 2   # the two questions that offer it
    page = text(alice.get(board_url(room, f"?from={place}")))
    assert ">Being listened to, without advice.</textarea>" in page
    assert Proposal.select().count() == 0                                      # only pre-filled
    fran = as_user(room.facilitator)
    assert "Being listened to" not in text(fran.get(board_url(room, f"?from={place}")))  # their own workbook only
    other = text(alice.get(board_url(room, f"?from={S1}/anything-challenging")))        # not offered there
    assert "></textarea>" in other


def test_a_proposal_is_named_only_if_the_form_said_so_when_it_was_sent(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    page = text(alice.get(board_url(room)))
    assert "It is anonymous: nobody can see who wrote it" in page and 'name="named" value="0"' in page
    settings(fran, room, "named-on")   # ...while Alice is still typing
    post(alice, board_url(room, "/proposals"), {"text": "Written as anonymous", "named": "0"}, token_from=board_url(room))
    post(alice, board_url(room, "/proposals"), {"text": "Written as named", "named": "1"}, token_from=board_url(room))
    page = text(bob.get(board_url(room)))
    assert "Proposed by Alice" in page and page.count("Proposed by Alice") == 1
    assert Proposal.get(Proposal.text == "Written as anonymous").named is False
    live = text(alice.get(board_url(room, "/live?v=1")))
    assert "Your name is shown with it." in live and 'id="proposal-naming" data-hx-swap-oob="true"' in live


def test_object_without_my_name_is_a_choice_of_its_own(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Hugs at the end")
    settings(fran, room, "phase:respond")
    proposal = Proposal.get(Proposal.text == "Hugs at the end")
    respond(bob, room, proposal, "object-private")
    assert BoardResponse.get().private and BoardResponse.get().user_id is None   # kept under his pseudonym only
    page = text(bob.get(board_url(room)))
    assert pressed(page, proposal, "object-private") and not pressed(page, proposal, "object")
    settings(fran, room, "tallies-on")
    fran_page = text(fran.get(board_url(room)))
    assert "needs discussion" in fran_page and "Bob" not in fran_page
    respond(bob, room, proposal, "object")   # changing their mind: now the facilitator may invite them to speak
    assert "would like to talk about it: Bob" in text(fran.get(board_url(room)))


def test_themes_group_the_behaviours_on_the_board_and_in_the_code(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Phones on silent", "Hear each other out", "Start on time"):
        propose(alice, room, words)
    settings(fran, room, "phase:shape")
    by_text = {p.text: p for p in Proposal.select()}
    for words, theme in (("Phones on silent", "Being present"), ("Start on time", "Being present"),
                         ("Hear each other out", "  Listening  ")):
        post(fran, board_url(room, f"/proposals/{by_text[words].id}"), {"action": "theme", "theme": theme},
             token_from=board_url(room))
    page = text(alice.get(board_url(room)))
    assert page.index("Being present") < page.index("Phones on silent") < page.index("Start on time") \
        < page.index("Listening") < page.index("Hear each other out")
    assert '<option value="Being present">' in text(fran.get(board_url(room)))   # suggested while shaping
    settings(fran, room, "phase:agree")
    for p in list(Proposal.select()):
        post(fran, board_url(room, f"/proposals/{p.id}"), {"action": "agree"}, token_from=board_url(room))
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    code = text(alice.get(f"/groups/{room.group.id}/code"))
    assert code.index("Being present") < code.index("Phones on silent") < code.index("Listening")
    markdown = text(alice.get(f"/groups/{room.group.id}/code.md"))
    assert "## Being present" in markdown and "2. Start on time" in markdown


def test_changes_outside_the_board_reach_its_screens(room, as_user):
    """A new join code reaches the projector; a co-facilitator's open page gains the controls."""
    fran = as_user(room.facilitator)
    version = Board.for_group(room.group).version
    post(fran, f"/groups/{room.group.id}/invite/new-code", token_from=f"/groups/{room.group.id}/invite")
    room.group = type(room.group).get_by_id(room.group.id)
    live = text(fran.get(board_url(room, f"/live?v={version}&view=projector")))
    assert room.group.join_code_display in live and 'id="projector-join"' in live
    other = as_user(room.other_facilitator)
    Membership.join(room.other_facilitator, room.group)
    version = Board.for_group(room.group).version
    assert 'id="board-controls"></div>' in text(other.get(board_url(room)))
    post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": room.other_facilitator.id},
         token_from=f"/groups/{room.group.id}")
    live = text(other.get(board_url(room, f"/live?v={version}")))
    assert "Facilitator’s controls" in live


def test_a_blanked_projector_keeps_places_for_live_updates(room, as_user):
    fran = as_user(room.facilitator)
    settings(fran, room, "blank-on")
    page = text(fran.get(board_url(room, "/projector")))
    for place in ('id="board-list"', 'id="board-phase"', 'id="board-poller"', 'id="board-announce"',
                  'id="projector-state"', "Show the board again"):
        assert place in page
    live = text(fran.get(board_url(room, "/live?v=1&view=projector")))
    assert 'data-blank="true"' in live


def test_the_facilitator_blanks_the_projector_from_their_own_controls(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    assert "Blank the projector" in text(fran.get(board_url(room)))
    assert "Blank the projector" not in text(alice.get(board_url(room)))
    settings(fran, room, "blank-on")
    assert Board.get(Board.group == room.group).blank
    assert "Show the board on the projector" in text(fran.get(board_url(room)))
    assert "Show the board again" in text(fran.get(board_url(room, "/projector")))


def announcement(client, room, **seen) -> str:
    """What a screen's live region is given, for a poll from a screen that showed `seen` (see _poller.html)."""
    query = "&".join(f"{key}={value}" for key, value in {"v": 0, "phase": "propose", **seen}.items())
    body = text(client.get(board_url(room, f"/live?{query}")))
    return re.search(r'<p id="board-announce"[^>]*>(.*?)</p>', body, re.S)[1].strip()


def test_screen_readers_hear_the_words_of_what_is_new_on_their_screen_only(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Listen without judging")
    first = Proposal.get(Proposal.text == "Listen without judging")
    assert announcement(bob, room, n=0, t=0, m=0) == "New behaviour: Listen without judging"
    propose(alice, room, "Be on time")
    newest = Proposal.get(Proposal.text == "Be on time")
    assert announcement(bob, room, n=1, t=1, m=first.id) == "New behaviour: Be on time"
    # A hidden behaviour shown again is not new, and its words are not another's: Bob's screen showed only
    # "Be on time"; saying "New behaviour: Be on time" again would be wrong.
    shape(fran, room, first, "hide")
    shape(fran, room, first, "show")
    said = announcement(bob, room, n=1, t=2, m=newest.id)
    assert "Be on time" not in said and said == "One more behaviour on the board."


def test_duplicates_merged_before_the_reveal_still_wait_for_it(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    settings(fran, room, "hide-on")
    propose(alice, room, "Listen")
    propose(bob, room, "Listen to each other")
    first, second = Proposal.select().order_by(Proposal.id)
    # The facilitator tidies duplicates while everyone is still writing, before revealing them all.
    post(fran, board_url(room, "/merge"), {"proposal": [first.id, second.id], "text": "Listen well"},
         token_from=board_url(room))
    for page in (text(bob.get(board_url(room))), text(fran.get(board_url(room, "/projector")))):
        assert "Listen well" not in page and "Listen to each other" not in page
        assert "1 behaviour waiting to be revealed" in page
    settings(fran, room, "reveal")
    assert "Listen well" in text(bob.get(board_url(room)))


def test_still_agree_is_asked_only_of_behaviours_in_the_current_code(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    code_of_one_then_a_new_round(alice, fran, room, "Be kind")
    settings(fran, room, "phase:propose")
    propose(alice, room, "Start on time")
    new = Proposal.get(Proposal.text == "Start on time")
    settings(fran, room, "phase:agree")
    shape(fran, room, new, "agree")   # agreed for the next version, but not in the code yet
    settings(fran, room, "phase:respond")
    page = text(alice.get(board_url(room)))
    kept = Proposal.get(Proposal.text == "Be kind")
    def label(proposal, kind):
        return re.search(rf'id="respond-{proposal.id}-{kind}".*?</span><span>(.*?)</span></button>', page, re.S).group(1)
    assert label(kept, "agree") == "Still agree" and label(kept, "unsure") == "Want to revisit"
    assert label(new, "agree") == "Agree"
    assert label(new, "unsure") == 'Unsure<span class="visually-hidden"> /</span> <span class="respond__more">want to talk</span>'


def test_every_control_a_live_update_redraws_has_an_id_to_keep_focus_on(room, as_user):
    """htmx puts focus back on an element with the same id after a swap; without one, a keyboard user resting on
    a control is thrown back to the top of the page whenever anyone else changes the board."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Listen", "Listen to each other"):
        propose(alice, room, words)
    first, second = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, "/merge"), {"proposal": [first.id, second.id]}, token_from=board_url(room))
    for phase in Board.PHASES:
        settings(fran, room, f"phase:{phase}")
        for client in (alice, fran):
            live = re.sub(r"<noscript>.*?</noscript>", "", text(client.get(board_url(room, "/live"))), flags=re.S)
            focusable = re.findall(r"<(?:button|a|summary|input(?! type=\"hidden\"))\b[^>]*>", live)
            assert focusable, phase
            missing = [tag for tag in focusable if " id=" not in tag and "<summary" not in tag]
            assert not missing, f"{phase}: {missing}"
            assert not re.findall(r"<details(?![^>]*\bid=)[^>]*>", live), phase   # a summary's details keeps it


def test_a_merge_never_tells_the_room_that_two_anonymous_proposals_share_an_author(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Phones away")
    propose(alice, room, "No phones please")
    settings(fran, room, "phase:shape")
    ids = [str(p.id) for p in Proposal.select()]
    post(fran, board_url(room, "/merge"), {"proposal": ids, "text": "Phones away during the session"},
         token_from=board_url(room))
    assert "Proposed by 2 people" in text(bob.get(board_url(room)))


def test_shared_renders_never_carry_one_persons_view_or_token_to_another(room, as_user):
    """Behaviours are rendered once per kind of screen and version, and shared (board.proposal_html): what is
    personal (their own proposal, their own response, their form token) must still be each person's own."""
    from p2p.stream import CSRF_STAND_IN
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Take turns to speak")
    settings(fran, room, "phase:respond")
    proposal = Proposal.get(Proposal.text == "Take turns to speak")
    respond(alice, room, proposal, "object-private")
    pages = {name: text(client.get(board_url(room, "/live?v=0"))) for name, client in
             (("alice", alice), ("bob", bob), ("fran", fran))}
    assert "Your proposal" in pages["alice"] and "Your proposal" not in pages["bob"]
    assert pressed(pages["alice"], proposal, "object-private") and not pressed(pages["bob"], proposal, "object-private")
    assert 'aria-pressed="true"' not in pages["bob"]   # nothing chosen for him
    tokens = {name: set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for name, page in pages.items()}
    assert all(len(found) == 1 for found in tokens.values()) and tokens["alice"] != tokens["bob"]
    assert not any(CSRF_STAND_IN in page for page in pages.values())
    # Bob's token from his page works for his response (it is his session's, not a shared one).
    response = bob.post(board_url(room, f"/proposals/{proposal.id}/respond"),
                        data={"kind": "agree", "csrf_token": tokens["bob"].pop()})
    assert response.status_code == 302 and sorted(r.kind for r in BoardResponse.select()) == ["agree", "object"]


def test_a_nul_character_in_a_proposal_or_a_group_name_is_dropped(room, as_user):
    # PostgreSQL cannot store NUL in text: both databases drop it rather than fail the request.
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    assert propose(alice, room, "Be\x00 kind").status_code == 302
    assert Proposal.get().text == "Be kind"
    assert post(fran, f"/groups/{room.group.id}/edit", {"name": "\x00", "programme": "p2p"},
                token_from="/").status_code == 200   # the form asks for a name: there is none
    assert Group.get_by_id(room.group.id).name == "Tuesday group"


def test_words_with_html_are_shown_as_words_in_every_shared_render(room, as_user):
    """board.proposal_html marks each rendered behaviour as safe to reuse it: that is only right because the
    template escapes what people typed. Proposal text and a theme, on every kind of screen."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, '<script>alert("x")</script> & <b>be kind</b>')
    settings(fran, room, "phase:shape")
    proposal = Proposal.get()
    post(fran, board_url(room, f"/proposals/{proposal.id}"), {"action": "theme", "theme": "<i>Care</i>"},
         token_from=board_url(room))
    for client, path in ((alice, ""), (bob, ""), (bob, "/live?v=0"), (fran, ""), (fran, "/projector"),
                         (fran, "/live?v=0&view=projector")):
        raw = client.get(board_url(room, path)).get_data(as_text=True)
        assert "<script>alert" not in raw and "<b>be kind" not in raw and "<i>Care" not in raw, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;be kind&lt;/b&gt;" in raw, path


def test_the_respond_help_says_where_a_name_goes_and_keeps_the_rest_one_tap_away(room, as_user):
    """On a phone the first behaviour should be near the top: the help says what matters most (an objection with
    your name shows it to the facilitator), and the rest of who sees what is a disclosure away."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    settings(fran, room, "phase:respond")
    page = text(alice.get(board_url(room)))
    phase = page[page.index('id="board-phase"'):page.index("</section>", page.index('id="board-phase"'))]
    assert "“Object” shows your name to the facilitator" in phase
    assert re.search(r'<details class="phase-more" id="who-sees" data-hx-preserve="true"><summary>Who sees what you '
                     r'choose</summary><p>Apart from an objection with your name, nobody sees who chose what', phase)
    settings(fran, room, "phase:agree")
    assert "who-sees" not in text(alice.get(board_url(room)))
