"""The facilitator's flow on the board: the next step said with one main button, changes answered in place to
htmx (the board as it now is, and what was done with its Undo) and as before to a plain form, all suggested
behaviours agreed in one tap, merging from the behaviour itself, and bad input answered calmly."""

import re

from conftest import post, text
from test_board import board_url, propose, respond, settings, shape

from p2p.models import Board, BoardResponse, CodeVersion, Proposal

HTMX = {"HX-Request": "true"}


def fran_does(fran, room, tail, data, htmx=True):
    return post(fran, board_url(room, tail), data, token_from=board_url(room), headers=HTMX if htmx else {})


def status_line(html: str) -> str:
    """What the answer puts in the facilitator's status line (out of band), as words."""
    found = re.search(r'<div id="board-done" data-hx-swap-oob="innerHTML">(.*?)</div>', html, re.S)
    assert found, "no status line in the answer"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def undo_form(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The Undo form of the status line: where it posts, and its fields (its token left out)."""
    part = html[html.index('<div id="board-done"'):]
    action = re.search(r'<form method="post" action="([^"]+)"', part)[1]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', part[:part.index("</form>")])
    return action, [(name, value) for name, value in fields if name != "csrf_token"]


def undo(fran, room, html: str):
    action, fields = undo_form(html)
    data: dict = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return post(fran, action, data, token_from=board_url(room), headers=HTMX)


def next_step(html: str) -> str:
    part = html[html.index('<div class="next-step">'):]
    return " ".join(re.sub(r"<[^>]+>", " ", part[:part.index("</div>")]).split())


def test_the_next_step_is_said_with_one_main_button_in_each_phase(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    for words in ("Be kind", "Listen well", "Phones away"):
        propose(alice, room, words)
    page = text(fran.get(board_url(room)))
    assert "3 behaviours proposed" in next_step(page)
    assert re.search(r'id="control-next" class="button button--small">Next: shape the list together<', page)
    assert page.count('id="control-next"') == 1
    assert "Move to: Respond" in page   # every other phase is still there, quiet
    assert not re.search(r'class="button button--small">Move to:', page)
    settings(fran, room, "hide-on")
    propose(alice, room, "Held back")
    assert "1 proposal is waiting" in next_step(text(fran.get(board_url(room))))
    assert "Next: reveal the proposals" in text(fran.get(board_url(room)))
    settings(fran, room, "reveal")
    for phase, words in (("shape", "Next: ask everyone to respond"), ("respond", "Next: agree our code")):
        settings(fran, room, f"phase:{phase}")
        assert words in next_step(text(fran.get(board_url(room))))
    assert "next-step" not in text(alice.get(board_url(room)))   # participants see no controls


def test_a_change_sent_by_htmx_is_answered_with_the_board_and_its_undo(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Hugs only when asked")
    hugs = Proposal.get()
    settings(fran, room, "phase:shape")
    version = Board.for_group(room.group).version
    answer = fran_does(fran, room, f"/proposals/{hugs.id}", {"action": "hide"})
    html = text(answer)
    assert answer.status_code == 200 and html.lstrip().startswith('<div id="board-list"')
    assert f"v={version + 1}" in html   # the poller comes with it: the next poll is a 204
    assert status_line(html) == "Hidden from the group: ‘Hugs only when asked’. Undo"
    assert Proposal.get().hidden
    html = text(undo(fran, room, html))
    assert not Proposal.get().hidden and status_line(html).startswith("Shown to the group again")
    # The same change from a plain form: the page again, its status line with the Undo on it once.
    answer = fran_does(fran, room, f"/proposals/{hugs.id}", {"action": "hide"}, htmx=False)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/board#proposal-{hugs.id}")
    page = text(fran.get(board_url(room)))
    assert "Hidden from the group: ‘Hugs only when asked’." in page and ">Undo</button>" in page
    assert "Hidden from the group: ‘Hugs only" not in text(fran.get(board_url(room)))   # said once
    assert "Hidden from the group: ‘Hugs only" not in text(alice.get(board_url(room)))   # to the facilitator only
    # Nothing to say: nothing at all, not even a space (app.css shows the line only when it is :empty no longer).
    assert '<div id="board-done" class="board-done" role="status"></div>' in text(fran.get(board_url(room)))


def test_a_phase_moved_by_mistake_goes_back_with_undo(room, as_user):
    fran = as_user(room.facilitator)
    html = text(fran_does(fran, room, "/settings", {"action": "phase:agree"}))
    assert status_line(html) == "Now: Agree our code. Undo"
    undo(fran, room, html)
    assert Board.for_group(room.group).phase == "propose"
    # A setting that shows itself on its button says nothing more.
    assert status_line(text(fran_does(fran, room, "/settings", {"action": "named-on"}))) == ""


def test_mark_all_suggested_as_agreed_in_one_tap_with_undo(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    for words in ("Be kind", "Listen well", "No phones", "Hugs only when asked"):
        propose(alice, room, words)
    kind, listen, phones, hugs = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:respond")
    for proposal in (kind, listen, hugs):
        respond(alice, room, proposal, "agree")
        respond(bob, room, proposal, "agree")
    respond(bob, room, phones, "object")
    settings(fran, room, "phase:shape")
    shape(fran, room, hugs, "hide")   # hidden: never agreed by "all"
    settings(fran, room, "phase:agree")
    # The counts first: agreeing without them would pass over Bob's objection.
    page = text(fran.get(board_url(room)))
    assert "Before agreeing, show the counts" in next_step(page) and "Next: show the counts" in next_step(page)
    settings(fran, room, "tallies-on")
    page = text(fran.get(board_url(room)))
    assert "The board suggests 2 more" in next_step(page)
    suggested = re.search(r'action="(/groups/\d+/board/agreed)".*?Mark all 2 suggested as agreed', page, re.S)
    assert suggested
    ids = [kind.id, listen.id]
    html = text(fran_does(fran, room, "/agreed", {"action": "agree", "proposal": ids}))
    assert status_line(html) == "Agreed: 2 behaviours. Undo"
    assert [p.text for p in Proposal.select().where(Proposal.agreed)] == ["Be kind", "Listen well"]
    assert "Make the agreed behaviours version 1 of our code" in next_step(html)
    assert re.search(r'id="control-next" class="button">Make the agreed behaviours version 1', html)   # focus goes on
    undo(fran, room, html)
    assert not Proposal.select().where(Proposal.agreed).exists()
    # Sent again, or with a hidden or objected-to one slipped in, nothing unseen is agreed twice or at all.
    fran_does(fran, room, "/agreed", {"action": "agree", "proposal": ids})
    again = text(fran_does(fran, room, "/agreed", {"action": "agree", "proposal": [*ids, hugs.id]}))
    assert status_line(again) == "Nothing to change: the board is as you see it."
    assert Proposal.select().where(Proposal.agreed).count() == 2
    assert fran_does(fran, room, "/agreed", {"action": "everything"}).status_code == 400
    assert fran_does(fran, room, "/agreed", {"action": "agree"}, htmx=False).status_code == 302


def test_making_a_version_by_htmx_stays_on_the_board_and_asks_everyone_to_commit(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    settings(fran, room, "phase:agree")
    problem = text(fran_does(fran, room, "/version", {}))
    assert status_line(problem) == "Mark at least one behaviour as agreed first."
    assert CodeVersion.select().count() == 0
    shape(fran, room, Proposal.get(), "agree")
    html = text(fran_does(fran, room, "/version", {}))
    assert status_line(html) == "Version 1 of our code is made. Everyone is asked to commit to it now."
    assert "Our code, version 1" in html and "0 of 3 have committed to our code" in next_step(html)
    # A plain form goes to the code's page, as before.
    assert fran_does(fran, room, "/version", {}, htmx=False).headers["Location"].endswith("/code")


def test_merge_from_the_behaviour_itself_and_undo_by_splitting(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Listen")
    propose(bob, room, "Listen to each other")
    listen, listen2 = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:shape")
    page = text(fran.get(board_url(room)))
    # Each behaviour offers the others to merge with (asked for as "Merge with…" opens), its own words to start
    # from, and a key of its own.
    assert re.search(rf'<select id="merge-other-{listen.id}" name="proposal" required>\s*<option value="">Choose a '
                     rf'behaviour</option>\s*</select>', page)
    choices = text(fran.get(board_url(room, f"/proposals/{listen.id}/merge-choices"), headers=HTMX))
    assert re.fullmatch(rf'\s*<option value="">Choose a behaviour</option>\s*<option value="{listen2.id}">Listen to each '
                        rf'other</option>\s*', choices)
    assert bob.get(board_url(room, f"/proposals/{listen.id}/merge-choices")).status_code == 404   # facilitators' only
    keys = re.findall(r'name="request_key" value="([^"]+)">\s*<input type="hidden" name="proposal"', page)
    assert len(keys) == 2 and len(set(keys)) == 2
    html = text(fran_does(fran, room, "/merge", {"proposal": [listen.id, listen2.id], "text": "Listen to each other",
                                                 "request_key": "a" * 22}))
    assert status_line(html) == "Merged into ‘Listen to each other’. Undo"
    assert "Proposed by 2 people" in html
    again = text(fran_does(fran, room, "/merge", {"proposal": [listen.id, listen2.id], "request_key": "a" * 22}))
    assert status_line(again) == "Merged into ‘Listen to each other’. Undo"   # sent twice, merged once
    assert Proposal.select().where(Proposal.merged_into.is_null()).count() == 1
    action, fields = undo_form(html)
    split = text(undo(fran, room, html))
    assert status_line(split) == "Split back out: ‘Listen’, ‘Listen to each other’. Undo"
    again = post(fran, action, dict(fields), token_from=board_url(room), headers=HTMX)   # a double tap's second
    assert again.status_code == 204   # the first's answer stands, with its Undo
    assert Proposal.select().where(Proposal.merged_into.is_null()).count() == 2
    undo(fran, room, split)   # and merged again, with the merged wording
    assert Proposal.get(Proposal.merged_into.is_null()).text == "Listen to each other"
    # A split sent again from another tab, after its merge was split there (or for a behaviour that never was a
    # merge): nothing goes.
    plain = Proposal.get(Proposal.text == "Listen", Proposal.merged_into.is_null(False))
    merged = Proposal.get(Proposal.merged_into.is_null())
    post(fran, board_url(room, f"/proposals/{merged.id}"), {"action": "split"}, token_from=board_url(room), headers=HTMX)
    again = text(post(fran, board_url(room, f"/proposals/{plain.id}"), {"action": "split"}, token_from=board_url(room),
                      headers=HTMX))
    assert status_line(again) == "‘Listen’ is not merged now: nothing to split."
    assert Proposal.select().where(Proposal.merged_into.is_null()).count() == 2


def test_a_late_duplicate_merged_into_a_merge_under_its_words_joins_it_and_nothing_said_to_it_goes(room, as_user):
    """People have responded to a merged behaviour when a late duplicate comes in: merged into it under its own
    words, the duplicate becomes one more of its parts, and what was said to it stays (a merge into new words
    would make a new behaviour, and clear them). Undone, only the duplicate comes out again."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    for client, words in ((alice, "Listen"), (bob, "Listen to each other"), (bob, "Listen, please")):
        propose(client, room, words)
    listen, listen2, late = Proposal.select().order_by(Proposal.id)
    settings(fran, room, "phase:shape")
    fran_does(fran, room, "/merge", {"proposal": [listen.id, listen2.id], "text": "Listen to each other"})
    merged = Proposal.get(Proposal.text == "Listen to each other", Proposal.merged_into.is_null())
    settings(fran, room, "phase:respond")
    respond(alice, room, merged, "agree")
    settings(fran, room, "phase:shape")   # the duplicate noticed late
    details = re.search(rf'id="(originals-{merged.id}-[^"]+)"', text(fran.get(board_url(room))))[1]
    sent = {"proposal": [merged.id, late.id], "text": "Listen to each other", "request_key": "b" * 22}
    said = status_line(html := text(fran_does(fran, room, "/merge", sent)))
    assert said == "Merged into ‘Listen to each other’. Undo"   # nothing cleared
    again = text(fran_does(fran, room, "/merge", sent))   # a double tap: merged once, answered with the same Undo
    assert undo_form(again) == undo_form(html) and ("action", "take-out") in undo_form(html)[1]
    # Its list of parts is drawn again on every screen (kept open across updates only while the parts are the same).
    assert f'id="{details}"' not in text(alice.get(board_url(room)))
    assert {p.text for p in Proposal.get_by_id(merged.id).originals} == {"Listen", "Listen to each other", "Listen, please"}
    assert "Proposed by 3 people" in text(alice.get(board_url(room)))
    assert Proposal.get_by_id(merged.id).responses.count() == 1   # Alice's, to the merged behaviour
    taken_out = text(undo(fran, room, html))
    assert status_line(taken_out) == "Taken out of ‘Listen to each other’: ‘Listen, please’. Undo"
    assert {p.text for p in Proposal.get_by_id(merged.id).originals} == {"Listen", "Listen to each other"}
    assert Proposal.get_by_id(late.id).merged_into is None and Proposal.get_by_id(merged.id).responses.count() == 1
    # The take-out's own Undo, after another tab changed the wording: back into it as it is now, nothing cleared.
    fran_does(fran, room, f"/proposals/{merged.id}", {"action": "edit", "text": "Listen, really"})
    said = status_line(text(undo(fran, room, taken_out)))
    assert said == "Merged into ‘Listen, really’. Undo"
    assert Proposal.get_by_id(late.id).merged_into_id == merged.id and Proposal.get_by_id(merged.id).responses.count() == 1


def test_bad_input_is_answered_calmly_and_keeps_the_words(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    propose(alice, room, "Be gentle")
    kind, gentle = Proposal.get(text="Be kind"), Proposal.get(text="Be gentle")
    settings(fran, room, "phase:shape")
    html = text(fran_does(fran, room, f"/proposals/{kind.id}", {"action": "edit", "text": "   "}))
    said = "A behaviour needs some words, and at most 200 characters. ‘Be kind’ is as it was."
    assert status_line(html.split(f'<span id="wording-problem-{kind.id}"')[0]) == said
    assert f'<span id="wording-problem-{kind.id}" data-hx-swap-oob="innerHTML">{said}</span>' in html   # beside it
    assert Proposal.get_by_id(kind.id).text == "Be kind"
    plain = fran_does(fran, room, f"/proposals/{kind.id}", {"action": "edit", "text": ""}, htmx=False)
    assert plain.status_code == 302 and said in text(fran.get(board_url(room)))
    # Merging with nothing chosen, or with a behaviour gone since the page was drawn.
    for chosen in ([kind.id], [kind.id, ""], [kind.id, 999999]):
        answer = fran_does(fran, room, "/merge", {"proposal": chosen, "text": "Be kind"})
        assert answer.status_code == 200
        assert status_line(text(answer)) == ("Please choose the behaviour to merge it with." if chosen[-1] != 999999 else
                                             "That behaviour is no longer on the board as it was (it may have been "
                                             "merged or split back out). The board now shows it as it is.")
    # A merged wording over the limit: refused, never cut short unseen; nothing merged.
    long = "Be kind " * 30
    answer = fran_does(fran, room, "/merge", {"proposal": [kind.id, gentle.id], "text": long})
    assert status_line(text(answer)) == f"Please keep the merged wording to 200 characters (it has {len(long.strip())})."
    assert Proposal.select().where(Proposal.merged_into.is_null(False)).count() == 0
    # The facilitator's wording boxes count characters near the limit; none cuts a pasted wording short.
    page = text(fran.get(board_url(room)))
    assert f'id="edit-{kind.id}" name="text" value="Be kind" data-text-max="200"' in page
    assert f'<p class="char-count" id="merge-text-{kind.id}-count" aria-hidden="true" hidden>' in page
    assert 'maxlength="200"' not in page
    # A behaviour merged or split away since the page was drawn.
    gone = fran_does(fran, room, "/proposals/999999", {"action": "hide"})
    assert gone.status_code == 200 and "no longer on the board as it was" in status_line(text(gone))
    assert fran_does(fran, room, "/proposals/999999", {"action": "hide"}, htmx=False).status_code == 404
    assert fran_does(fran, room, f"/proposals/{kind.id}", {"action": "sparkle"}).status_code == 400
    assert fran_does(fran, room, "/settings", {"action": "phase:nowhere"}).status_code == 400


def test_wording_and_theme_changes_can_be_undone(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    propose(alice, room, "Be kind")
    kind = Proposal.get()
    settings(fran, room, "phase:shape")
    html = text(fran_does(fran, room, f"/proposals/{kind.id}", {"action": "edit", "text": "Be kind to each other"}))
    assert status_line(html) == "New wording: ‘Be kind to each other’. Undo"
    undo(fran, room, html)
    assert Proposal.get().text == "Be kind"
    html = text(fran_does(fran, room, f"/proposals/{kind.id}", {"action": "theme", "theme": "Kindness"}))
    assert status_line(html) == "‘Be kind’ is under the theme ‘Kindness’. Undo"
    undo(fran, room, html)
    assert Proposal.get().theme is None


def test_a_tap_on_a_merged_behaviour_split_apart_meanwhile_never_lands_on_a_newer_one(room, as_user):
    """A merged wording goes when its merge is split again; a behaviour proposed after it gets an id of its own
    (SQLite would hand out the gone one's again: models.base.IdNeverReused). A tap kept offline on the merged
    one, sent later, finds nothing: it is not counted on someone's new proposal."""
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    propose(alice, room, "Listen")
    propose(bob, room, "Listen to each other")
    listen, listen2 = Proposal.select().order_by(Proposal.id)
    html = text(fran_does(fran, room, "/merge", {"proposal": [listen.id, listen2.id], "text": "Be present"}))
    merged = Proposal.get(Proposal.merged_into.is_null())
    assert merged.text == "Be present" and merged.id > listen2.id
    undo(fran, room, html)   # split apart: "Be present" goes
    assert not Proposal.select().where(Proposal.id == merged.id).exists()
    propose(alice, room, "Phones on silent")
    newest = Proposal.get(Proposal.text == "Phones on silent")
    assert newest.id > merged.id
    settings(fran, room, "phase:respond")
    stale = respond(bob, room, merged, "agree", htmx=True)
    assert "That behaviour is no longer on the board" in text(stale)
    assert not BoardResponse.select().where(BoardResponse.proposal == newest.id).exists()
