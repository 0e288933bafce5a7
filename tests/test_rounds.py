"""Re-affirm rounds (Sessions 2–4): a round is about the code, new proposals are made in the same round, and every
round is kept. Nothing is deleted by starting one; earlier rounds' counts stay readable to the facilitator (never
who responded), and a person's responses in two rounds stay as unrelated in the database as two behaviours'."""

import re

from conftest import PASSWORD, post, text
from test_board import board_url, propose, respond, settings, shape
from test_facilitator_flow import HTMX, undo
from test_sent_twice import form_of

from p2p import crypto
from p2p.db import db
from p2p.models import Board, BoardResponse, CodeVersion, Proposal, Responder, User
from p2p.models.schema import _rounds


def item(page: str, words: str) -> str:
    """One behaviour's <li> on a board page."""
    return re.search(rf'<li id="proposal-\d+"[^>]*>\s*<p class="proposal__text">{re.escape(words)}</p>.*?</li>',
                     page, re.S).group(0)


def part(page: str, heading: str) -> str:
    """A re-affirm round's part of the list, from its heading to the next part (or the list's end)."""
    start = page.index(f">{heading}</h3>")
    ends = [i for i in (page.find('class="proposals__part"', start), page.find('class="earlier"', start)) if i > 0]
    return page[start:min(ends, default=len(page))]


def pseudonyms_of(user: User) -> bytes:
    return crypto.pseudonym_key(User.get_by_id(user.id).unlock_with_password(PASSWORD))


def session_1(room, as_user):
    """Three behaviours proposed and responded to; two agreed as version 1; "Start on time" left out."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    for words in ("Be kind", "Phones away", "Start on time"):
        propose(alice, room, words)
    kind, phones, late = (Proposal.get(Proposal.text == w) for w in ("Be kind", "Phones away", "Start on time"))
    settings(fran, room, "phase:respond")
    respond(alice, room, kind, "agree")
    respond(bob, room, kind, "object")            # named: the facilitator sees who, to invite them to talk
    respond(bob, room, late, "unsure")
    settings(fran, room, "phase:agree")
    for proposal in (kind, phones):
        shape(fran, room, proposal, "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    return alice, bob, fran, (kind, phones, late)


def start_round(fran, room):
    fran.post(board_url(room, "/round"), data=form_of(fran, board_url(room, "/round"), board_url(room, "/round")))


def test_starting_a_round_asks_first_and_says_nothing_is_lost(room, as_user):
    alice, bob, fran, _ = session_1(room, as_user)
    controls = text(fran.get(board_url(room)))
    assert f'href="/groups/{room.group.id}/board/round"' in controls   # a link to the question, not a one-tap form
    page = " ".join(text(fran.get(board_url(room, "/round"))).split())
    assert "<h1>Start a re-affirm round?</h1>" in page and "Nothing is lost" in page
    assert "version 1" in page and "This round’s responses are kept (2 people responded)" in page
    assert "1 behaviour proposed before but not in the code stays in the record" in page
    assert Board.get().round == 1   # asking changes nothing
    assert fran.get(board_url(room, "/round")).status_code == 200
    assert alice.get(board_url(room, "/round")).status_code == 404   # the facilitator's question only


def test_a_round_without_a_code_starts_nothing(room, as_user):
    fran = as_user(room.facilitator)
    assert "Nothing to re-affirm yet" in text(fran.get(board_url(room, "/round")))
    answer = post(fran, board_url(room, "/round"), token_from=board_url(room), follow_redirects=True)
    assert "nothing to re-affirm" in text(answer) and Board.get().round == 1


def test_round_2_asks_about_version_1_only_and_takes_new_proposals_in_the_same_round(room, as_user):
    alice, bob, fran, (kind, phones, late) = session_1(room, as_user)
    start_round(fran, room)
    board = Board.get()
    assert (board.round, board.phase) == (2, "respond")
    page = text(alice.get(board_url(room)))
    assert "Now: Re-affirm our code" in page and 'data-proposing="true"' in page
    in_code = part(page, "In our code, version 1")
    assert "Still agree" in item(in_code, "Be kind") and "Want to revisit" in item(in_code, "Phones away")
    assert "Start on time" not in page   # proposed before, not in the code: it stays in the record only
    assert "Nothing new yet." in part(page, "New this round")
    # Proposing is open while the round's responses are given, and the new ones are responded to as usual.
    propose(alice, room, "Text the group if you are late")
    new = Proposal.get(Proposal.text == "Text the group if you are late")
    assert new.round == 2
    page = text(bob.get(board_url(room)))
    added = item(part(page, "New this round"), "Text the group if you are late")
    assert "Still agree" not in added and re.search(r">Agree<", added)
    assert "2 in our code · 1 new" in page
    assert "2 in our code · 1 new" in text(fran.get(board_url(room, "/projector")))   # the room's screen says the same
    respond(bob, room, new, "agree")
    respond(bob, room, kind, "object")   # his named objection again, in this round: one per round
    # Version 2: what the group agrees in this round, and only that.
    settings(fran, room, "phase:agree")
    shape(fran, room, new, "agree")
    shape(fran, room, phones, "unagree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    two = CodeVersion.latest(board)
    assert (two.number, two.round, two.behaviours) == (2, 2, ["Be kind", "Text the group if you are late"])
    assert "Proposing has closed for now" in text(post(alice, board_url(room, "/proposals"), {"text": "Late"},
                                                       token_from=board_url(room), follow_redirects=True))


def test_every_round_is_kept_and_its_counts_stay_readable_to_the_facilitator_only(room, as_user):
    alice, bob, fran, (kind, phones, late) = session_1(room, as_user)
    before = {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()}
    start_round(fran, room)
    assert {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()} == before   # nothing deleted
    assert Responder.select().where(Responder.round == 1).count() == 2
    respond(alice, room, kind, "unsure")
    settings(fran, room, "tallies-on")
    # This round's counts on the board; last round's beside them, for the facilitator.
    mine = item(text(fran.get(board_url(room))), "Be kind")
    assert "Agree 0 · Unsure 1 · Object 0" in mine and "Last round: Agree 1 · Unsure 0 · Object 1" in mine
    page = text(fran.get(board_url(room)))
    assert "1 person has responded" in page and "Last round, 2 people responded." in page
    for seen in (text(alice.get(board_url(room))), text(fran.get(board_url(room, "/projector"))),
                 text(fran.get(board_url(room, "/live?view=projector")))):
        assert "Last round" not in seen and "earlier round" not in seen.lower()
        assert "Bob" not in seen
    # The behaviour left out of the code: kept, with its counts, and the facilitator can bring it back.
    earlier = page[page.index('class="earlier"'):]
    assert "Left in earlier rounds (1)" in earlier and "Start on time" in earlier
    assert "Last round: Agree 0 · Unsure 1 · Object 0" in earlier
    for _ in range(2):   # sent twice, it comes back once
        post(fran, board_url(room, f"/proposals/{late.id}/bring-back"), token_from=board_url(room))
    late = Proposal.get_by_id(late.id)
    assert (late.round, late.agreed) == (2, False)
    assert "Start on time" in part(text(alice.get(board_url(room))), "New this round")
    assert 'class="earlier"' not in text(fran.get(board_url(room)))
    assert post(alice, board_url(room, f"/proposals/{late.id}/bring-back"), token_from=board_url(room)).status_code == 404


def test_a_response_in_another_round_is_under_a_pseudonym_of_its_own(room, as_user):
    """One pseudonym per behaviour and per round: the same person's responses to one behaviour in two rounds look
    unrelated in the database (one pseudonym for both would tell who changed their mind); so do the responders."""
    alice, bob, fran, (kind, _, _) = session_1(room, as_user)
    start_round(fran, room)
    respond(alice, room, kind, "unsure")
    voters = [r.voter for r in BoardResponse.select().where(BoardResponse.proposal == kind,
                                                            BoardResponse.user.is_null()).order_by(BoardResponse.round)]
    pseudonyms = pseudonyms_of(room.alice)
    assert voters == [BoardResponse.voter_for(pseudonyms, kind.id, 1), BoardResponse.voter_for(pseudonyms, kind.id, 2)]
    assert len(set(voters)) == 2
    tags = [r.tag for r in Responder.select().order_by(Responder.round)]
    assert Responder.tag_for(pseudonyms, kind.board_id, 1) in tags and Responder.tag_for(pseudonyms, kind.board_id, 2) in tags
    # Taking back her only response this round takes her out of this round's responders, not last round's.
    respond(alice, room, kind, "clear")
    assert Responder.select().where(Responder.round == 2).count() == 0
    assert Responder.select().where(Responder.round == 1).count() == 2


def test_someone_leaving_takes_their_responses_from_every_round(room, as_user):
    alice, bob, fran, (kind, _, _) = session_1(room, as_user)
    start_round(fran, room)
    respond(alice, room, kind, "agree")
    respond(bob, room, kind, "unsure")
    post(alice, "/account/delete", {"password": PASSWORD}, token_from="/account/delete")
    pseudonyms = pseudonyms_of(room.bob)
    late = Proposal.get(Proposal.text == "Start on time")
    assert {(r.round, r.voter) for r in BoardResponse.select()} == {
        (1, BoardResponse.voter_for(pseudonyms, kind.id, 1)), (1, BoardResponse.voter_for(pseudonyms, late.id, 1)),
        (2, BoardResponse.voter_for(pseudonyms, kind.id, 2))}
    assert Responder.select().count() == 2   # Bob's, one per round


def test_the_rounds_step_keeps_an_old_board_in_the_round_it_was_in(room, as_user):
    """Upgrade step 16 on what a database from before holds: one round's responses (a re-affirm round deleted the
    ones before). A board whose round began after its version was agreed was re-affirming it: it goes on doing so
    (the version is earlier, round 0), with its responses where they are (round 1, pseudonyms as they were made)."""
    alice, bob, fran, (kind, phones, late) = session_1(room, as_user)
    board = Board.get()
    responses = {(r.id, r.voter, r.kind) for r in BoardResponse.select()}
    # As a re-affirm round left it before rounds were kept: started after version 1, every behaviour in it.
    Board.update(phase="respond", round_started_at=CodeVersion.get().made_at.replace(year=2100)).execute()
    with db.atomic():
        _rounds()
    assert CodeVersion.get().round == 0 and Board.get().round == 1
    assert {(r.id, r.voter, r.kind) for r in BoardResponse.select()} == responses
    assert {r.round for r in BoardResponse.select()} == {1}
    page = text(alice.get(board_url(room)))
    assert "Still agree" in item(part(page, "In our code, version 1"), "Be kind")
    assert "Start on time" in part(page, "New this round")   # responded to in this round, so still listed
    # Its next round is about the code only, and keeps this one.
    start_round(fran, room)
    assert Board.get().round == 2 and "Start on time" not in text(alice.get(board_url(room)))
    assert {(r.id, r.voter, r.kind) for r in BoardResponse.select()} == responses
    assert board.id == Board.get().id


def test_a_re_affirm_round_does_not_pass_over_a_wish_to_revisit_the_code(room, as_user):
    """The code's behaviours come into a round agreed: before the next version, the facilitator is asked to show
    the counts, and told which agreed behaviours someone objected to or wants to revisit this round."""
    alice, bob, fran, (kind, phones, _) = session_1(room, as_user)
    start_round(fran, room)
    respond(alice, room, kind, "agree")
    respond(bob, room, phones, "unsure")   # "Want to revisit"
    settings(fran, room, "phase:agree")
    controls = text(fran.get(board_url(room)))
    assert "Before agreeing, show the counts" in controls and 'id="control-next"' in controls
    assert "an objection or a wish to revisit" not in controls   # nothing said of them before the counts are
    settings(fran, room, "tallies-on")
    controls = text(fran.get(board_url(room)))
    assert "1 of the agreed behaviours has an objection or a wish to revisit this round" in controls
    assert "a wish to revisit" not in text(alice.get(board_url(room)))   # the facilitator's to say, not the board's


def merged_in_session_1(room, as_user):
    """Two duplicates merged, then responded to as one and agreed: version 1 holds the merged wording."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    for client, words in ((alice, "Listen"), (bob, "Listen to each other")):
        propose(client, room, words)
    listen, listen2 = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    respond(alice, room, listen, "agree")
    respond(bob, room, listen2, "object")
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, "/merge"), {"proposal": [listen.id, listen2.id], "text": "Listen fully"},
         token_from=board_url(room))
    merged = Proposal.get(Proposal.text == "Listen fully")
    settings(fran, room, "phase:respond")
    respond(bob, room, merged, "unsure")
    settings(fran, room, "phase:agree")
    shape(fran, room, merged, "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    return alice, bob, fran, (listen, listen2, merged)


def test_a_merge_split_in_a_later_round_comes_apart_there_and_its_earlier_rounds_stay(room, as_user):
    """Split in the re-affirm round it was carried into, a merged behaviour's parts are asked about in that round
    (not left in Session 1, where nobody would see them), and what the group said about the merged wording in
    Session 1 stays in the record, with its counts: only this round's responses to that wording go."""
    alice, bob, fran, (listen, listen2, merged) = merged_in_session_1(room, as_user)
    before = {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()}
    start_round(fran, room)
    respond(alice, room, merged, "agree")   # this round's, to the wording that goes
    settings(fran, room, "phase:shape")
    answer = text(post(fran, board_url(room, f"/proposals/{merged.id}"), {"action": "split"},
                       token_from=board_url(room), headers=HTMX))
    assert {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()} == before
    page = text(alice.get(board_url(room)))
    new = part(page, "New this round")
    assert "Listen to each other" in new and re.search(r"<p class=\"proposal__text\">Listen</p>", new)
    assert "Listen fully" not in page
    assert {(p.round, p.agreed) for p in (Proposal.get_by_id(listen.id), Proposal.get_by_id(listen2.id))} == {(2, False)}
    record = text(fran.get(board_url(room)))
    earlier = record[record.index('class="earlier"'):]
    assert "Listen fully" in earlier and "Last round: Agree 0 · Unsure 1 · Object 0" in earlier
    # Undone, the merged wording itself comes back into the round as it was, once: agreed, in the code's part,
    # with its Session 1 responses, out of the record (not its words a second time beside it).
    undo(fran, room, answer)
    again = Proposal.get_by_id(merged.id)
    assert (again.round, again.agreed) == (2, True)
    assert {p.merged_into_id for p in (Proposal.get_by_id(listen.id), Proposal.get_by_id(listen2.id))} == {merged.id}
    assert Proposal.select().where(Proposal.text == "Listen fully").count() == 1
    page = text(fran.get(board_url(room)))
    assert page.count("<p class=\"proposal__text\">Listen fully</p>") == 1
    assert "Listen fully" in part(page, "In our code, version 1") and 'class="earlier"' not in page
    assert {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()} == before


def test_a_merge_merged_again_in_a_later_round_keeps_its_earlier_rounds(room, as_user):
    """Merged with a proposal new in the re-affirm round, a merged behaviour's parts move to the new wording (a
    merge keeps one level), and its Session 1 responses stay in the record with it."""
    alice, bob, fran, (listen, listen2, merged) = merged_in_session_1(room, as_user)
    before = {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()}
    start_round(fran, room)
    propose(alice, room, "Listen well")
    again = Proposal.get(Proposal.text == "Listen well")
    respond(bob, room, merged, "agree")   # this round's, to the wording that goes
    settings(fran, room, "phase:shape")
    answer = text(post(fran, board_url(room, "/merge"), {"proposal": [merged.id, again.id],
                                                         "text": "Listen well and fully"},
                       token_from=board_url(room), headers=HTMX))
    assert {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()} == before
    newest = Proposal.get(Proposal.text == "Listen well and fully")
    assert {p.text for p in newest.originals} == {"Listen", "Listen to each other", "Listen well"}
    kept = Proposal.get_by_id(merged.id)
    assert (kept.round, kept.merged_into_id) == (1, None)
    assert "Listen well and fully" in text(alice.get(board_url(room)))
    # Undone, the carried behaviour comes back as it was (agreed, in the code's part, with its own parts under
    # it), and the new proposal on its own: not its parts as new proposals with the behaviour left in the record.
    undo(fran, room, answer)
    back = Proposal.get_by_id(merged.id)
    assert (back.round, back.agreed, back.merged_into_id) == (2, True, None)
    assert {p.text for p in back.originals} == {"Listen", "Listen to each other"}
    assert (Proposal.get_by_id(again.id).merged_into_id, Proposal.get_by_id(again.id).round) == (None, 2)
    assert not Proposal.select().where(Proposal.text == "Listen well and fully").exists()
    page = text(fran.get(board_url(room)))
    assert "Listen fully" in part(page, "In our code, version 1") and "Listen well" in part(page, "New this round")
    assert page.count("<p class=\"proposal__text\">Listen fully</p>") == 1 and 'class="earlier"' not in page
    assert {(r.proposal_id, r.kind, r.round) for r in BoardResponse.select()} == before


def test_a_merged_wording_is_agreed_only_if_the_group_agreed_those_very_words(room, as_user):
    """In a re-affirm round the code's behaviours come in agreed: merged into new words (with a new proposal, or
    with each other), they make a wording nobody has agreed, which must not slip into the next version unseen.
    Merged under the code's own words, it is still the behaviour the group agreed."""
    alice, bob, fran, (kind, phones, late) = session_1(room, as_user)
    start_round(fran, room)
    propose(alice, room, "Be gentle")
    gentle = Proposal.get(Proposal.text == "Be gentle")
    settings(fran, room, "phase:shape")
    answer = text(post(fran, board_url(room, "/merge"), {"proposal": [kind.id, gentle.id], "text": "Be kind and gentle"},
                       token_from=board_url(room), headers=HTMX))
    assert "It is not marked agreed: the group has not agreed this wording yet." in answer
    assert not Proposal.get(Proposal.text == "Be kind and gentle").agreed
    undo(fran, room, answer)   # the code's behaviour back as it came into the round: agreed
    assert Proposal.get_by_id(kind.id).agreed and not Proposal.get_by_id(gentle.id).agreed
    answer = text(post(fran, board_url(room, "/merge"), {"proposal": [kind.id, gentle.id], "text": "Be kind"},
                       token_from=board_url(room), headers=HTMX))
    kept_words = Proposal.get(Proposal.text == "Be kind", Proposal.merged_into.is_null())
    assert kept_words.id != kind.id and kept_words.agreed and "not marked agreed" not in answer
    assert "Be kind" in part(text(alice.get(board_url(room))), "In our code, version 1")
    undo(fran, room, answer)
    answer = text(post(fran, board_url(room, "/merge"), {"proposal": [kind.id, phones.id], "text": "Kind, phones away"},
                       token_from=board_url(room), headers=HTMX))
    assert not Proposal.get(Proposal.text == "Kind, phones away").agreed and "not marked agreed" in answer


def test_splitting_says_first_that_this_rounds_responses_to_the_wording_go_and_the_count_follows(room, as_user):
    """A split takes this round's responses to the merged wording with it: the facilitator is told beside the
    button and after, and "n people have responded" drops for someone whose only response it was as soon as
    their own screen looks (their pseudonyms say which responder they are; nothing else can)."""
    alice, bob, fran, (listen, listen2, merged) = merged_in_session_1(room, as_user)
    start_round(fran, room)
    respond(alice, room, merged, "agree")
    settings(fran, room, "phase:shape")
    page = " ".join(text(fran.get(board_url(room))).split())
    assert ('<p class="hint" id="split-note-3">Splitting clears the response given to this wording this round: '
            'everyone can respond to each part instead.</p>') in page
    assert 'aria-describedby="split-note-3">Split them back out' in page
    assert "Splitting clears" not in text(alice.get(board_url(room)))   # the facilitator's to do
    answer = text(post(fran, board_url(room, f"/proposals/{merged.id}"), {"action": "split"},
                       token_from=board_url(room), headers=HTMX))
    assert "The response given to ‘Listen fully’ this round was cleared: everyone can respond again." in answer
    settings(fran, room, "phase:respond")
    assert "1 person has responded" in text(fran.get(board_url(room)))   # until her screen looks
    assert "0 people have responded" in text(alice.get(board_url(room)))
    assert "0 people have responded" in text(fran.get(board_url(room)))
    assert not Responder.select().where(Responder.round == 2).exists()
    # Someone with a response left stays counted.
    respond(bob, room, Proposal.get_by_id(listen.id), "agree")
    assert "1 person has responded" in text(bob.get(board_url(room)))


def test_once_the_round_makes_its_version_the_list_says_where_its_behaviours_came_from(room, as_user):
    alice, bob, fran, _ = session_1(room, as_user)
    start_round(fran, room)
    assert "In our code, version 1</h3>" in text(alice.get(board_url(room)))
    settings(fran, room, "phase:agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    page = text(alice.get(board_url(room)))
    assert "Our code, version 2</h3>" in page and "From version 1</h3>" in page and "In our code, version 1" not in page
    assert "New this round" not in page and "Nothing new yet" not in page   # nothing was proposed in the round


def test_a_wording_of_the_code_brought_back_comes_back_into_the_code_part_agreed(room, as_user):
    """Split in a re-affirm round, a merged wording of the code stays in the record; brought back (rather than
    undone), it is the code's behaviour again, as the others came into the round: agreed, asked "still agree?"."""
    alice, bob, fran, (listen, listen2, merged) = merged_in_session_1(room, as_user)
    start_round(fran, room)
    settings(fran, room, "phase:shape")
    post(fran, board_url(room, f"/proposals/{merged.id}"), {"action": "split"}, token_from=board_url(room), headers=HTMX)
    record = " ".join(text(fran.get(board_url(room))).split())
    assert "Left in earlier rounds (1)" in record
    assert "Its words are in our code, version 1: merge its parts again under these words to bring it back" in record
    page = text(post(fran, board_url(room, f"/proposals/{merged.id}/bring-back"), token_from=board_url(room),
                     follow_redirects=True))
    assert "Brought back into this round: ‘Listen fully’." in page
    back = Proposal.get_by_id(merged.id)
    assert (back.round, back.agreed) == (2, True)
    assert "Listen fully" in part(text(alice.get(board_url(room))), "In our code, version 1")
    # One not in the code comes back as a new proposal, not agreed.
    post(fran, board_url(room, f"/proposals/{listen.id}/bring-back"), token_from=board_url(room))
    assert not Proposal.get_by_id(listen.id).agreed


def test_a_split_wording_merged_again_in_its_words_is_the_same_behaviour_from_any_tab(room, as_user):
    """A merged wording of the code split in a re-affirm round stays in the record. Its parts merged again under
    its words bring it back itself (its id, its earlier rounds, agreed as it was), not a copy; so does the split's
    Undo pressed in one tab after the wording was brought back in another, and merging its parts into it there."""
    alice, bob, fran, (listen, listen2, merged) = merged_in_session_1(room, as_user)
    start_round(fran, room)
    settings(fran, room, "phase:shape")

    def split():
        return text(post(fran, board_url(room, f"/proposals/{merged.id}"), {"action": "split"},
                         token_from=board_url(room), headers=HTMX))

    def merge(*ids, words="Listen fully"):
        return text(post(fran, board_url(room, "/merge"), {"proposal": list(ids), "text": words},
                         token_from=board_url(room), headers=HTMX))

    def just_one_listen_fully():
        again = Proposal.get_by_id(merged.id)
        assert (again.round, again.agreed, again.merged_into_id) == (2, True, None)
        assert {p.text for p in again.originals} == {"Listen", "Listen to each other"}
        assert Proposal.select().where(Proposal.text == "Listen fully").count() == 1
        page = text(fran.get(board_url(room)))
        assert page.count('<p class="proposal__text">Listen fully</p>') == 1 and "Left in earlier rounds" not in page

    answer = split()
    merge(listen.id, listen2.id)   # "Merge with…", under the same words
    just_one_listen_fully()
    assert "no longer on the board as it was" in text(undo(fran, room, answer))   # the split's Undo, from another tab
    just_one_listen_fully()
    answer = split()
    post(fran, board_url(room, f"/proposals/{merged.id}/bring-back"), token_from=board_url(room))   # another tab
    undo(fran, room, answer)
    just_one_listen_fully()
    split()
    post(fran, board_url(room, f"/proposals/{merged.id}/bring-back"), token_from=board_url(room))
    merge(merged.id, listen.id)
    merge(merged.id, listen2.id)
    just_one_listen_fully()
