"""The code of behaviour board: proposing, live updates by version, responding, the facilitator's controls,
the projector. Names appear only where the group chose named proposals, and never on the projector."""

from conftest import post, text
from p2p.models import Board, Group, Membership, Proposal, Response


def board_url(room, tail=""):
    return f"/groups/{room.group.id}/board{tail}"


def propose(client, room, words, htmx=False):
    return post(client, board_url(room, "/proposals"), {"text": words}, token_from=board_url(room),
                headers={"HX-Request": "true"} if htmx else {})


def settings(client, room, action):
    return post(client, board_url(room, "/settings"), {"action": action}, token_from=board_url(room))


def respond(client, room, proposal, kind, private=False):
    data = {"kind": kind, **({"private": "1"} if private else {})}
    return post(client, board_url(room, f"/proposals/{proposal.id}/respond"), data, token_from=board_url(room))


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


def test_the_live_board_rechecks_membership_on_every_poll(room, as_user):
    bob = as_user(room.bob)
    assert bob.get(board_url(room, "/live")).status_code == 200
    Membership.of(room.bob, room.group).delete_instance()
    assert bob.get(board_url(room, "/live")).status_code == 404


def test_proposals_hidden_until_revealed(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    settings(fran, room, "hide-on")
    propose(alice, room, "Phones on silent")
    propose(bob, room, "One voice at a time")
    alice_page = text(alice.get(board_url(room)))
    assert "Phones on silent" in alice_page and "One voice at a time" not in alice_page
    assert "2 behaviours proposed so far" in alice_page
    projector = text(fran.get(board_url(room, "/projector")))
    assert "Phones on silent" not in projector and "2 behaviours proposed so far" in projector
    assert "One voice at a time" in text(fran.get(board_url(room)))   # the facilitator can prepare
    settings(fran, room, "reveal")
    assert "One voice at a time" in text(alice.get(board_url(room)))


def test_proposing_is_kind_about_problems_and_keeps_the_words(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    too_long = propose(alice, room, "x" * 201, htmx=True)
    assert "200 characters" in text(too_long) and "x" * 201 in text(too_long)
    settings(fran, room, "phase:respond")
    closed = text(propose(alice, room, "Late idea", htmx=True))
    assert "Proposing has closed" in closed and "Late idea" in closed
    assert Proposal.select().count() == 0


def test_one_response_per_person_changeable_and_pass_is_fine(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    proposal = Proposal.get()
    assert respond(alice, room, proposal, "agree").status_code == 400   # not the respond phase yet
    settings(fran, room, "phase:respond")
    respond(alice, room, proposal, "agree")
    respond(alice, room, proposal, "unsure")
    assert [r.kind for r in Response.select()] == ["unsure"]
    respond(alice, room, proposal, "pass")
    assert Response.select().count() == 0


def test_a_private_objection_shows_only_needs_discussion(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Hugs at the end")
    proposal = Proposal.get()
    settings(fran, room, "phase:respond")
    respond(bob, room, proposal, "object", private=True)
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
    from p2p.board import PROPOSAL_LIMIT
    alice, bob = as_user(room.alice), as_user(room.bob)
    for n in range(PROPOSAL_LIMIT[0]):
        propose(alice, room, f"Idea {n}")
    assert "a lot of proposals at once" in text(propose(alice, room, "One more", htmx=True))
    propose(bob, room, "Bob's idea")
    assert Proposal.select().count() == PROPOSAL_LIMIT[0] + 1


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
    assert [r.kind for r in Response.select().order_by(Response.id)] == ["agree", "object"]


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
    assert "- Be kind" in md and "Version 1" in md and "Alice" not in md


def test_a_reaffirm_round_makes_version_2_and_shows_what_changed(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    settings(fran, room, "phase:agree")
    shape(fran, room, Proposal.get(), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    post(fran, board_url(room, "/round"), token_from=board_url(room))
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


def test_the_projector_shows_no_proposal_while_they_wait_to_be_revealed(room, as_user):
    fran = as_user(room.facilitator)
    settings(fran, room, "hide-on")
    propose(fran, room, "The facilitator's own idea")
    page = text(fran.get(board_url(room, "/projector")))
    assert "The facilitator's own idea" not in page and "1 behaviour proposed so far" in page


def test_a_nul_character_in_a_proposal_or_a_group_name_is_dropped(room, as_user):
    # PostgreSQL cannot store NUL in text: both databases drop it rather than fail the request.
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    assert propose(alice, room, "Be\x00 kind").status_code == 302
    assert Proposal.get().text == "Be kind"
    assert post(fran, f"/groups/{room.group.id}/edit", {"name": "\x00", "programme": "p2p"},
                token_from="/").status_code == 200   # the form asks for a name: there is none
    assert Group.get_by_id(room.group.id).name == "Tuesday group"
