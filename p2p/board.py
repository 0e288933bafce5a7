"""The code of behaviour board: the group proposes behaviours from their own devices, shapes them with the
facilitator, and responds to each, live on every screen and on the projector.

Live updates go by the board's version number (kept in the database, so several worker processes agree). Each
screen follows the board through its stream (p2p/stream.py; Follower below), which sends it only what changed
on it; without a stream, it polls ("anything after version N?", 204 No Content when nothing changed) and gets
the live regions whole (`live`). The text box a person is typing in is never among them, and htmx puts focus
back on a control with the same id.
"""

from __future__ import annotations

import re
import secrets
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from peewee import JOIN, fn

from . import permissions, sending, stream
from .access import managed_or_404, membership_or_404
from .auth import my_pseudonyms
from .db import first_written_once, written_once, written_once_keeping
from .models import THEME_MAX, Board, BoardResponse, CodeVersion, Commitment, Membership, Proposal, Responder, SentRequest, User, one_line
from .poster import committed_words, poster_type, signatures
from .stream import REQUEST_KEY_STAND_IN, for_this_person, shared, shared_html
from .web import content, is_fragment_request, join_url, local_time, log, new_request_key, seen_already, whole_number

bp = Blueprint("board", __name__)

PHASE_TITLES = {
    "propose": "Propose behaviours",
    "shape": "Shape the list together",
    "respond": "Respond to each behaviour",
    "agree": "Agree our code",
    "commit": "Commit to our code",
}
PHASE_HELP = {
    "propose": "What behaviours help you feel safe and able to take part? Add as many as you like.",
    "shape": "The facilitator is tidying the wording with the group, and bringing duplicates together.",
    "respond": "For each behaviour: agree, unsure or want to talk, or object. Passing is always fine. “Object” "
               "shows your name to the facilitator, so they can invite you to talk; “Object without my name” does not.",
    "agree": "The group is settling which behaviours make our code.",
    "commit": "Read our code, and commit to it when you are ready.",
}
# A re-affirm round responds and proposes at once.
REAFFIRM_TITLE = "Re-affirm our code"
REAFFIRM_HELP = ("For each behaviour in our code: still agree, or want to revisit. You can propose new behaviours in "
                 "this round too, and respond to the new ones as usual. Passing is always fine. “Object” shows your "
                 "name to the facilitator, so they can invite you to talk; “Object without my name” does not.")
# The rest of what a person may want to know before choosing: one tap away, so the first behaviour is near the top
# of a phone's screen (the help above says what matters most: where a name goes).
WHO_SEES = ("Apart from an objection with your name, nobody sees who chose what: the group sees only the counts, once "
            "the facilitator shows them. An objection without your name only tells everyone the behaviour is worth "
            "talking about, and the app keeps no record of whose it is.")


def phase_words(board: Board, reaffirmed: CodeVersion | None) -> dict:
    """The phase's title and help, as the board's screens say them."""
    who_sees = WHO_SEES if board.phase == "respond" else None
    if board.phase == "respond" and reaffirmed:
        return {"phase_title": REAFFIRM_TITLE, "phase_help": REAFFIRM_HELP, "who_sees": who_sees}
    return {"phase_title": PHASE_TITLES[board.phase], "phase_help": PHASE_HELP[board.phase], "who_sees": who_sees}


# When responses of merged proposals meet, the most careful one speaks for the person (a pass says the least).
CAUTION = {BoardResponse.PASS: -1, "agree": 0, "unsure": 1, "object": 2}


class Choice(NamedTuple):
    """One response, as the board counts it: plain values, not model rows (a poll with 50 people and 30
    behaviours reads 1,500 of them). `who` is the person as far as the board can tell (a pseudonym, one per
    behaviour); `user_id` only for an objection made with the name."""
    who: str
    user_id: int | None
    kind: str
    private: bool


def merged_into(board: Board, items) -> dict[int, int]:
    """Each behaviour's id, and each original's (before a merge) the id of the merged behaviour it counts for."""
    origin = {item.id: item.id for item in items}
    for original_id, merged_id in written_once("board merged into", lambda board_id: (
            Proposal.select(Proposal.id, Proposal.merged_into)
            .where(Proposal.board == board_id, Proposal.merged_into.is_null(False)).tuples()), board.id):
        origin[original_id] = merged_id
    return origin


def effective_responses(board: Board, items) -> tuple[dict[int, dict[str, Choice]], Counter]:
    """Per item, the responses that count for it in the board's round: its own, and those made to its originals
    before a merge (they moved with them). Pseudonyms are per behaviour, so one person's responses to two
    originals count as two until their own session settles them (settle_merged_responses), or they respond to the
    merged behaviour itself, which replaces them (respond). Also, per merged behaviour, how many of them were
    given to its own wording: those go if it is split (Board._wordings_go), and the facilitator is told first."""
    origin = merged_into(board, items)
    found: dict[int, dict[str, Choice]] = {item.id: {} for item in items}
    to_wording: Counter = Counter()
    for proposal_id, voter, user_id, kind, private in written_once("board responses", lambda board_id, round_: (
            BoardResponse.select(BoardResponse.proposal, BoardResponse.voter, BoardResponse.user, BoardResponse.kind, BoardResponse.private)
            .join(Proposal).where(Proposal.board == board_id, BoardResponse.round == round_).tuples()), board.id, board.round):
        item = origin.get(proposal_id)
        if item in found:   # (not: an original whose merge is gone, or a merge of merges in the making)
            who = voter or f"account:{user_id}"
            found[item][who] = Choice(who, user_id if not private else None, kind, bool(private))
            to_wording[item] += item == proposal_id
    return found, to_wording


class EarlierCounts(NamedTuple):
    """A behaviour's counts in the latest earlier round it was responded to in: counts only, never who."""
    last_round: bool   # the round just before this one
    counts: dict[str, int]


def earlier_counts(board: Board, items) -> dict[int, EarlierCounts]:
    """For the facilitator: per item, its counts in the latest earlier round with responses to it (its originals'
    before a merge counting for it, as they do in the round itself)."""
    origin = merged_into(board, items)
    by_round: dict[int, dict[int, dict[str, int]]] = {}
    for proposal_id, round_, kind, count in written_once("board earlier counts", lambda board_id, before: (
            BoardResponse.select(BoardResponse.proposal, BoardResponse.round, BoardResponse.kind, fn.COUNT(BoardResponse.id))
            .join(Proposal).where(Proposal.board == board_id, BoardResponse.round < before)
            .group_by(BoardResponse.proposal, BoardResponse.round, BoardResponse.kind).tuples()), board.id, board.round):
        item = origin.get(proposal_id)
        if item is not None:
            counts = by_round.setdefault(item, {}).setdefault(round_, dict.fromkeys(BoardResponse.KINDS, 0))
            counts[kind] += count
    return {item: EarlierCounts(max(rounds) == board.round - 1, rounds[max(rounds)]) for item, rounds in by_round.items()}


def my_responses(screen: Screen, shared: Snapshot, shown: frozenset[int], round_: int) -> dict[int, Choice]:
    """This person's own response to each behaviour they see (`shown`), in this round: to the behaviour itself,
    else (a merge) the most careful of theirs to its originals. Found by their pseudonyms, which only their
    session can make: those of theirs among everyone's (Snapshot.by_who), not each behaviour looked up in turn."""
    if screen.pseudonyms is None:
        return {}
    mine, earlier, voters = {}, {}, screen.voters(shared, round_)
    for who in shared.by_who.keys() & voters.keys():
        item, choice = shared.by_who[who]
        if item not in shown:
            continue
        if voters[who] == item:
            mine[item] = choice
        else:   # to one of its originals, before the merge
            earlier.setdefault(item, []).append(choice)
    for item, choice in shared.by_account.get(f"account:{current_user.id}", {}).items():   # (from before pseudonyms)
        if item in shown:
            mine.setdefault(item, choice)
    for item, choices in earlier.items():
        if item not in mine:
            mine[item] = max(choices, key=lambda c: CAUTION[c.kind])
    return mine


def by_theme(proposals) -> list[tuple[str | None, list[Proposal]]]:
    """Behaviours (in theme order) under their themes, in that order."""
    return [(theme, [p for p in proposals if p.theme == theme]) for theme in dict.fromkeys(p.theme for p in proposals)]


def in_theme_order(proposals) -> list[Proposal]:
    """Grouped by theme, the themes in the order they first appear, behaviours without a theme last."""
    proposals = list(proposals)
    first = {}
    for index, p in enumerate(proposals):
        first.setdefault(p.theme, index)
    return sorted(proposals, key=lambda p: (p.theme is None, first[p.theme]))


PROPOSAL_LIMIT = (20, 300)   # proposals per person per 5 minutes: plenty for a person, a brake for a script
PROPOSALS = sending.Words(
    "proposal", Proposal.TEXT_MAX, PROPOSAL_LIMIT, "Please write a behaviour first.",
    lambda text: (f"Please keep a behaviour to {Proposal.TEXT_MAX} characters, so it fits on the code (this one has "
                  f"{len(text)}). Your words are still here to shorten."),
    "That is a lot of proposals at once. Please wait a moment and try again.")


@dataclass
class Snapshot:
    """What the board holds at one version, the same for everyone: read once per version in each process, not
    once per screen (50 phones polling after a change would otherwise each read and build it all again). Each
    screen's view is then picked out of it (board_state). Correct with several worker processes: the version
    comes from the database, and a snapshot is only used for the version it was read at."""

    version: int
    proposals: list[Proposal]                      # every behaviour of this round not merged away, in theme order
    responses: dict[int, dict[str, Choice]]        # behaviour -> who (a pseudonym) -> their response, this round
    merges: dict[int, list[Proposal]]              # merged behaviour's id -> its originals
    code: CodeVersion | None
    committed: list[Commitment]
    members: int
    responders: frozenset[str]                     # who has responded this round: each a pseudonym (Responder)
    themes: list[str]                              # the themes in use, for grouping and suggesting while shaping
    reaffirmed: CodeVersion | None                 # the version this round re-affirms (None: the first round)
    earlier: list[Proposal]                        # behaviours left in earlier rounds (not in the code)
    earlier_counts: dict[int, EarlierCounts]       # for these and this round's: their latest earlier round's counts
    last_responders: int                           # how many people responded in the round before this one
    board: Board | None = None                     # the board's row at this version
    to_wording: Counter = field(default_factory=Counter)   # merged behaviour -> responses to its own wording
    # Each behaviour's HTML as one kind of screen shows it at this version (see proposal_html), each live
    # region's (Follower), each kind of screen's shared view (board_state): after a change, 50 phones need a few
    # variants of each, not 50 renders of it.
    made_once: stream.MadeOnce = field(default_factory=stream.MadeOnce)
    # Each behaviour's HTML by everything it shows (item_key), made at this version or taken from the two versions
    # before (`kept`, `older`: a stream busy while one went by asks from the one before): a change re-renders the
    # behaviours it changed, not all of them.
    items: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    older: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)       # each behaviour's row as read -> its object (kept if unchanged)

    def __post_init__(self) -> None:
        # What each screen picks out at each change (board_state), worked out once.
        self.shown_to_group = [p for p in self.proposals if not p.kept_from_group]   # neither hidden nor held
        self.kept_ids = frozenset(p.id for p in self.proposals if p.kept_from_group)
        self.makers = [*self.proposals, *(o for originals in self.merges.values() for o in originals)]
        self.makers_ids = tuple(p.id for p in self.makers)
        self.makers_set = frozenset(self.makers_ids)
        self.makers_by_id = dict(zip(self.makers_ids, self.makers))
        # Each response by who made it (a pseudonym: one person, one behaviour, one round) -> the behaviour it
        # counts for and what it is; those from before pseudonyms by their account (my_responses).
        self.by_who: dict[str, tuple[int, Choice]] = {}
        self.by_account: dict[str, dict[int, Choice]] = {}
        for item, by_who in self.responses.items():
            for who, choice in by_who.items():
                if who.startswith("account:"):
                    self.by_account.setdefault(who, {})[item] = choice
                else:
                    self.by_who[who] = item, choice
        # Each behaviour's counts (a pass is in none), the same for every kind of screen.
        self.counts = {item: dict.fromkeys(BoardResponse.KINDS, 0) for item in self.responses}
        for item, by_who in self.responses.items():
            counted = self.counts[item]
            for choice in by_who.values():
                if choice.kind in counted:
                    counted[choice.kind] += 1
        self._ids = {id(self.proposals): tuple(p.id for p in self.proposals),
                     id(self.shown_to_group): tuple(p.id for p in self.shown_to_group)}

    def ids_of(self, proposals: list[Proposal]) -> tuple[int, ...]:
        found = self._ids.get(id(proposals))
        return found if found is not None else tuple(p.id for p in proposals)

    def item(self, key, make):
        """A behaviour's HTML by `key`: kept from a version before, or made once at this one."""
        found = self.items.get(key)
        if found is None:
            found = self.kept.get(key)
            if found is None:
                found = self.older.get(key)
                if found is None:
                    found = self.made_once(("html", key), make)
            self.items[key] = found
        return found


def item_key(state: dict, proposal: Proposal) -> tuple:
    """Everything board/_proposal.html shows of this behaviour on this screen: two screens (or two versions) with
    the same key show the same HTML. What varies between people is here too (the kind of screen, whether they
    wrote it, their own response). A new input of the template must be added here, or screens keep old HTML
    (tests/test_stream.py renders a whole story both ways and compares)."""
    pid = proposal.id
    chosen = state["mine"].get(pid)
    # (What everyone of this kind sees of it, worked out once per version: shared_view.)
    return (pid in state["own"], (chosen.kind, chosen.private) if chosen else None, bool(state["respond_later"]),
            state["items_seen"][pid])


def _item_shown(state: dict, board: Board, proposal: Proposal) -> tuple:
    """What everyone of this kind sees of a behaviour at this version (shared_view's `state`): item_key's shared
    part."""
    pid, facilitator = proposal.id, state["facilitator"]
    counted = state["earlier_counts"].get(pid) if facilitator else None
    return (state["view"], facilitator, board.phase, pid, proposal.text, proposal.theme, proposal.hidden,
            proposal.held, proposal.agreed, proposal.named and proposal.author.name,
            tuple((o.text, o.named, o.author_id, o.named and o.author.name) for o in state["merges"].get(pid, ())),
            pid in state["suggested"], pid in state["needs_talk"], tuple(state["open_objectors"].get(pid, ())),
            bool(state["tallies"]), tuple(state["tallies"].get(pid, {}).values()),
            (counted.last_round, tuple(counted.counts.values())) if counted else None,
            proposal.text in state["in_code"], len(state["proposals"]) > 1, state["cleared_by_split"].get(pid, 0))


def proposal_html(state: dict, proposal: Proposal, key: tuple | None = None) -> Markup:
    """One behaviour as this screen shows it: made once per version for every screen with the same item_key
    (`key`, if worked out already), and kept from the version before if nothing it shows changed. Which choice is
    pressed is put in last (with_choice): a response changes its behaviour's counts on every screen, and made again
    for each of the choices people had pressed, it was most of a room's work."""
    shared, key = state["shared"], key or item_key(state, proposal)
    own, chosen, later, seen = key
    return shared.item(key, lambda: with_choice(shared.item(("unpressed", own, later, seen), lambda: shared_html(
        "board/_proposal.html", **state, proposal=proposal, **CHOICE_STAND_INS)), chosen))


# Stand-ins for which response button is pressed (_proposal.html), each person's put in by with_choice. Random:
# nobody can type them into their words.
CHOICE_STAND_IN = f"choice-{secrets.token_hex(8)}"
CHOICE_STAND_INS = {"choice_value": lambda kind: f"{CHOICE_STAND_IN}:value:{kind}:",
                    "choice_pressed": lambda kind: f"{CHOICE_STAND_IN}:pressed:{kind}:"}
_CHOICE = re.compile(re.escape(CHOICE_STAND_IN) + r":(value|pressed):([a-z-]+):")


def with_choice(html: str, chosen: tuple[str, bool] | None) -> Markup:
    """A behaviour's HTML with this person's choice (item_key's: kind, private) pressed: its button sends "clear"
    (pressed again, it takes the choice back), the others their own kind."""
    pressed = ("object-private" if chosen[1] else chosen[0]) if chosen else ""
    return Markup(_CHOICE.sub(lambda found: (("clear" if found[1] == "value" else "true") if found[2] == pressed else
                                             (found[2] if found[1] == "value" else "false")), html))


def render_board(template: str, **state) -> str:
    state["proposal_html"] = lambda proposal: proposal_html(state, proposal)
    state.setdefault("was", request.args)   # what this screen showed before (a poll's query; _announce.html)
    state["request_key_stand_in"] = REQUEST_KEY_STAND_IN
    return for_this_person(render_template(template, **state))


_snapshot_lock = threading.Lock()


def snapshot(board: Board) -> Snapshot:
    cache = shared("board snapshots")
    found = cache.get(board.id)
    if found is not None and found.version == board.version:
        return found
    with _snapshot_lock:   # screens polling at once after a change wait for one read, not 50
        found = cache.get(board.id)
        if found is not None and found.version == board.version:
            return found
        # Authors' names only: their other columns (password hashes, wrapped keys) have no business here.
        def with_names(board_id, *where):
            return (Proposal.select(Proposal, User.id, User.name).join(User, JOIN.LEFT_OUTER)
                    .where(Proposal.board == board_id, *where).order_by(Proposal.created_at, Proposal.id))

        # Each behaviour's model object is made again only if its row changed (read_again).
        previous = cache.get(board.id)
        kept, rows = previous.rows if previous else {}, {}

        def read_again(shape, make, *values) -> list[Proposal]:
            found = written_once_keeping(shape, make, kept, *values)
            rows.update(found)
            return list(found.values())

        proposals = in_theme_order(read_again("board proposals", lambda board_id, round_: with_names(
            board_id, Proposal.merged_into.is_null(), Proposal.round == round_), board.id, board.round))
        current = {p.id for p in proposals}
        merges: dict[int, list[Proposal]] = {}
        for original in read_again("board originals", lambda board_id: with_names(
                board_id, Proposal.merged_into.is_null(False)), board.id):
            if original.merged_into_id in current:
                merges.setdefault(original.merged_into_id, []).append(original)
        earlier = read_again("board earlier", lambda board_id, round_: with_names(
            board_id, Proposal.merged_into.is_null(), Proposal.round < round_), board.id, board.round)
        code = CodeVersion.latest(board)
        committed = (list(written_once("board committed", lambda code_id: (
            Commitment.select(Commitment, User.id, User.name).join(User)
            .where(Commitment.version == code_id).order_by(Commitment.committed_at)), code.id)) if code else [])
        responders: dict[int, set[str]] = {board.round: set(), board.round - 1: set()}
        for round_, tag in written_once("board responders", lambda board_id, since: (
                Responder.select(Responder.round, Responder.tag)
                .where(Responder.board == board_id, Responder.round >= since).tuples()), board.id, board.round - 1):
            responders[round_].add(tag)
        responses, to_wording = effective_responses(board, proposals)
        members = first_written_once("board members", lambda group_id: (
            Membership.select(fn.COUNT(Membership.id)).join(User).where(Membership.group == group_id).tuples()),
            board.group_id)
        found = Snapshot(board.version, proposals, responses, merges, code, committed, members[0],
                         frozenset(responders[board.round]), sorted({p.theme for p in proposals if p.theme}),
                         CodeVersion.reaffirmed_in(board), earlier,
                         earlier_counts(board, [*proposals, *earlier]) if board.round > 1 else {},
                         len(responders[board.round - 1]), Board(**board.__data__), to_wording, rows=rows)
        if previous:
            found.kept, found.older = previous.items, previous.kept
        cache[board.id] = found
        return found


class Screen:
    """One person's screen (or the projector): what only their session can tell about the board, worked out as
    needed and kept, for a stream, from one change to the next (their pseudonym for a behaviour never changes;
    whether a behaviour is theirs neither). A page or a poll makes one for its one answer."""

    def __init__(self, pseudonyms: bytes | None) -> None:
        self.pseudonyms = pseudonyms
        self._voters: dict[tuple[int, int], str] = {}
        self._own_among: tuple[tuple, frozenset[int]] = ((), frozenset())
        self._looked_at: set[int] = set()   # the behaviours asked whether they are theirs, and of those theirs:
        self._theirs: set[int] = set()
        # The round; the behaviours they have a pseudonym for in it; each of those pseudonyms -> its behaviour.
        self._by_voter: tuple[int, set[int], dict[str, int]] = (0, set(), {})
        self._later: tuple | None = None
        self._responder: tuple[int, int, str] | None = None   # the board, the round, their tag as a responder in it

    def voter(self, proposal_id: int, round_: int) -> str:
        found = self._voters.get((proposal_id, round_))
        if found is None:
            found = self._voters[proposal_id, round_] = BoardResponse.voter_for(self.pseudonyms, proposal_id, round_)
        return found

    def own_among(self, shared: Snapshot) -> frozenset[int]:
        """Which of the snapshot's behaviours (and their originals, before a merge) are theirs: worked out again
        only when the behaviours are not the same as at the last change."""
        ids, own = self._own_among
        if ids != shared.makers_ids and self.pseudonyms is not None:
            for pid in shared.makers_set - self._looked_at:   # (usually none, or the one new since the last change)
                self._looked_at.add(pid)
                if shared.makers_by_id[pid].made_by(self.pseudonyms):
                    self._theirs.add(pid)
            own = frozenset(self._theirs & shared.makers_set)
            self._own_among = shared.makers_ids, own
        return own

    def voters(self, shared: Snapshot, round_: int) -> dict[str, int]:
        """Their pseudonym for each of the snapshot's behaviours (and originals) in this round -> the behaviour's
        id: kept, and added to as behaviours come."""
        round_then, known, by_voter = self._by_voter
        if round_then != round_:
            known, by_voter = set(), {}
            self._by_voter = round_, known, by_voter
        for pid in shared.makers_set - known:   # (usually none, or the one new since the last change)
            by_voter[self.voter(pid, round_)] = pid
            known.add(pid)
        return by_voter

    def responder_tag(self, board: Board) -> str:
        if self._responder is None or self._responder[:2] != (board.id, board.round):
            self._responder = board.id, board.round, Responder.tag_for(self.pseudonyms, board.id, board.round)
        return self._responder[2]

    def responds_later(self, board: Board, user_id: int) -> bool:
        if self._later is None or self._later[0] != board.round_started_at:
            self._later = (board.round_started_at, board.responds_later(user_id))
        return self._later[1]


_reading_boards: dict[int, threading.Lock] = {}


def newest_snapshot(group, board_id: int | None, known: int) -> Snapshot | None:
    """The board's snapshot at version `known` or newer: after a change, one of the room's streams reads the board
    (and makes its snapshot) while the others wait for it, rather than each reading it for itself."""
    cache = shared("board snapshots")
    found = cache.get(board_id)
    if found is not None and found.version >= known:
        return found
    with _reading_boards.setdefault(group.id, threading.Lock()):
        found = cache.get(board_id)
        if found is not None and found.version >= known:
            return found
        board = Board.of(group)
        return snapshot(board) if board else None


def settle_merged_responses(board: Board, shared: Snapshot, screen: Screen) -> bool:
    """A merge brings together the responses to its duplicates, and one person may have answered two of them;
    pseudonyms are one per behaviour, so only that person's own session can tell. When they next open or poll
    the board, it keeps the most careful of theirs and lets the others go, so they count once (until then, once
    per duplicate). A write in a poll, but once per person per merge. True if anything changed."""
    extra = []
    for merged_id, originals in shared.merges.items():
        by_who = shared.responses.get(merged_id, {})
        if screen.voter(merged_id, board.round) in by_who:
            continue   # answered the merged one: their answers to the duplicates went then (respond)
        mine = [by_who[voter] for voter in (screen.voter(o.id, board.round) for o in originals) if voter in by_who]
        kept = max(mine, key=lambda choice: CAUTION[choice.kind], default=None)
        extra += [choice.who for choice in mine if choice is not kept]
    if not extra:
        return False
    board.let_go(extra)
    return True


def settle_responder(board: Board, shared: Snapshot, screen: Screen) -> bool:
    """Someone counted among this round's responders whose responses in it have all gone since: a split, or a
    merge of a merge, takes this round's responses to the merged wording with it (Board._wordings_go). Their
    pseudonyms say whose responses those were, and only their session can make them: when they next open or
    follow the board, it takes them out of the count ("n people have responded"), as taking back their last
    response would. True if anything changed."""
    if screen.responder_tag(board) not in shared.responders:
        return False
    if not shared.by_who.keys().isdisjoint(screen.voters(shared, board.round)) or f"account:{current_user.id}" in shared.by_account:
        return False
    return board.forget_responder(screen.pseudonyms)


def board_state(group, membership, view: str = "page", board: Board | None = None, screen: Screen | None = None) -> dict:
    """Everything the board's live regions show to this person (or to the projector): what everyone of their kind
    (participant, facilitator, projector) sees at this version, worked out once per version (shared_view), and
    what only this person's session can tell (their own proposals and responses). `screen`: a stream's screen,
    which keeps what it works out about its person from one change to the next."""
    # The board (its version) is read first: each later read may see newer changes (READ COMMITTED, or SQLite
    # outside a transaction), never older ones, so a screen never holds a version whose change it lacks.
    board = board or Board.for_group(group)
    board.group = group
    facilitator = permissions.can_manage_group(membership) and view != "projector"
    projector = view == "projector"
    shared = snapshot(board)
    me = current_user.id
    screen = screen or Screen(None if projector else my_pseudonyms())
    if screen.pseudonyms is not None and (settle_merged_responses(board, shared, screen)
                                          | settle_responder(board, shared, screen)):   # (|: both settle)
        shared = snapshot(board)
    # Theirs, as only their session can tell (MadeBySomeone): a hidden or held behaviour stays visible to them.
    own = screen.own_among(shared)
    if projector:   # the room's screen: nothing hidden, nothing held back (the facilitator's own proposals neither)
        proposals = shared.shown_to_group
    elif facilitator:
        proposals = shared.proposals
    elif own.isdisjoint(shared.kept_ids):
        proposals = shared.shown_to_group
    else:
        proposals = [p for p in shared.proposals if not p.kept_from_group or p.id in own]
    common = shared.made_once(("view", view, facilitator, shared.ids_of(proposals)),
                              lambda: shared_view(shared, board, view, facilitator, proposals))
    mine = my_responses(screen, shared, common["id_set"], board.round)
    # Their workbook started afresh this round: what they may not do, said instead of the choices.
    respond_later = (RESPOND_NEXT_ROUND if not projector and board.phase == "respond"
                     and screen.responds_later(board, me) else None)
    # "n of m answered" (_respond_count.html): the behaviours that show them the choices, and theirs among them.
    answerable = (common["not_hidden"] if not projector and board.phase == "respond" and not respond_later
                  else frozenset())
    return {**common, "board": board, "group": group, "mine": mine, "own": own,
            "i_committed": any(c.user_id == me for c in shared.committed),
            "i_signed": any(c.user_id == me and c.signed for c in shared.committed),
            "respond_later": respond_later,
            "answerable": len(answerable), "answered": len(answerable & mine.keys()),
            "join_url": join_url(group) if projector and group.join_code_active else None}


def shared_view(shared: Snapshot, board: Board, view: str, facilitator: bool, proposals: list[Proposal]) -> dict:
    """What every screen of one kind showing these behaviours sees at the snapshot's version (board_state)."""
    projector = view == "projector"
    responses = {p.id: shared.responses[p.id] for p in proposals}
    # Who objects, and that a behaviour needs discussion, show once the facilitator shows the counts, together:
    # shown as each came in, an objection changed to "without my name" would leave its mark where the name was.
    revealed = board.tallies_shown
    counts = {item: shared.counts[item] for item in responses}
    needs_talk = {item for item, c in counts.items() if c["object"]} if revealed else set()
    open_objectors = {}
    if facilitator and revealed:   # public objections: the facilitator invites them to speak
        objecting = {item: [r.user_id for r in by_who.values() if r.kind == "object" and r.user_id]
                     for item, by_who in responses.items()}
        wanted = {user_id for ids in objecting.values() for user_id in ids}
        names = dict(User.select(User.id, User.name).where(User.id.in_(wanted)).tuples()) if wanted else {}
        open_objectors = {item: sorted(names[i] for i in ids if i in names) for item, ids in objecting.items() if ids}
    # The board suggests: no objection, and most of those who responded agree.
    suggested = {item for item, c in counts.items() if not c["object"] and c["agree"] * 2 > sum(c.values())}
    # Someone objects, or is unsure / wants to revisit it, this round: worth talking through before it is agreed
    # (in a re-affirm round the code's behaviours come in agreed from the version before).
    concerns = {item for item, c in counts.items() if c["object"] or c["unsure"]}
    in_play = [p for p in shared.proposals if not p.hidden]
    version, reaffirmed = shared.code, shared.reaffirmed
    # A re-affirm round asks "still agree?" of what is in the code it re-affirms, not of what was agreed since; the
    # new proposals of the round are a part of their own, responded to as usual.
    in_code = set(reaffirmed.behaviours) if reaffirmed else set()
    # Once this round has made the next version (committing), the part is what came from the one it re-affirmed.
    came_from = "From version" if version and reaffirmed and version.number > reaffirmed.number else "In our code, version"
    parts = ([(f"{came_from} {reaffirmed.number}", [p for p in proposals if p.text in in_code],
               "Nothing listed here now."),
              ("New this round", [p for p in proposals if p.text not in in_code], "Nothing new yet.")]
             if reaffirmed else [(None, proposals, None)])
    ids = shared.ids_of(proposals)
    state = {"facilitator": facilitator, "view": view, "shared": shared, "proposals": proposals, "ids": ids,
             "id_set": frozenset(ids), "not_hidden": frozenset(p.id for p in proposals if not p.hidden),
            "responses": responses, "needs_talk": needs_talk, "open_objectors": open_objectors,
            "tallies": counts if board.tallies_shown else {}, "holding": board.holding,
            "held": sum(p.held for p in in_play), "total": len(in_play), "suggested": suggested,
            "concerns": concerns if facilitator else set(),
            "responded": len(shared.responders),
            # Splitting a merged behaviour clears this round's responses to its wording: said beside "Split".
            "cleared_by_split": ({pid: n for pid, n in shared.to_wording.items() if n}
                                 if facilitator and board.phase == "shape" else {}),
            "version": version, "committed": shared.committed,
            "merges": {p.id: shared.merges[p.id] for p in proposals if p.id in shared.merges},
            "in_code": in_code, "reaffirmed": reaffirmed, "proposing": board.takes_proposals(reaffirmed),
            "in_code_total": sum(p.text in in_code for p in in_play),
            # Earlier rounds, for the facilitator: their counts (never who), and what was left in them.
            "earlier": shared.earlier if facilitator else [],
            "earlier_counts": shared.earlier_counts if facilitator else {},
            "last_responders": shared.last_responders if facilitator else 0,
            "signers": [] if projector else signatures(shared.committed)[0],   # the projector never shows a name
            "members": shared.members, "themes": shared.themes,
            "sections": by_theme(proposals),
            # In a re-affirm round: what is in the code, then what is new, each by theme (one unnamed part if not).
            "parts": [(heading, f"part-{index}", by_theme(items), empty)
                      for index, (heading, items, empty) in enumerate(parts)
                      if items or board.phase != "commit"],   # (committing, nothing is added: an empty part says nothing)
            **phase_words(board, reaffirmed)}
    # What the live regions' templates would otherwise work out with filters over every behaviour, once per
    # region and screen (_poller.html, _announce.html, _controls.html): worked out here, once per kind of screen.
    by_id = dict(zip(ids, proposals))
    state["newest"] = max(ids, default=0)
    state["newer_than"] = lambda newest: [by_id[i] for i in ids if i > newest]
    state["agreed"] = [p for p in proposals if p.agreed and not p.hidden]
    state["to_agree"] = [p for p in proposals if p.id in suggested and not p.agreed and not p.hidden]
    # Each list of behaviours on the page (one per theme, in each part) -> their ids, in order (stream.ListFollower).
    state["lists"] = {f"{part_id}-{index}": [p.id for p in items]
                      for _, part_id, sections, _ in state["parts"] for index, (_, items) in enumerate(sections, 1)}
    # What each behaviour shows everyone of this kind (item_key's shared part), and what changed since another
    # version of this view (Follower._behaviours): worked out once, not once per screen.
    state["items_seen"] = {p.id: _item_shown(state, board, p) for p in proposals}
    state["seen_changes"] = {}
    return state


def seen_changes(state: dict, before: dict) -> frozenset[int]:
    """The behaviours whose shared part (items_seen) is not what it was in `before`, another version's items_seen
    of the same kind of screen (new ones included): worked out once for all the screens that showed that
    version."""
    found = state["seen_changes"].get(id(before))
    if found is None or found[0] is not before:
        now = state["items_seen"]
        found = state["seen_changes"][id(before)] = (before, frozenset(
            pid for pid, seen in now.items() if before.get(pid) != seen))
    return found[1]


@bp.get("/groups/<int:group_id>/board")
@login_required
def page(group_id: int):
    group, membership = membership_or_404(group_id)
    pseudonyms = my_pseudonyms()
    if pseudonyms is not None:
        board = Board.for_group(group)
        board.adopt_responses(pseudonyms, current_user.id)
        if Proposal.adopt_named(Proposal.board == board, current_user.id, pseudonyms):
            board.changed()
    done = session.pop(DONE_KEY, None) if DONE_KEY in session else None   # what a plain form just did
    return render_board("board/page.html", **board_state(group, membership),
                        text_max=Proposal.TEXT_MAX, text=_from_workbook(request.args.get("from", "")),
                        done=done if done and done.get("group") == group.id else None)


def _from_workbook(place: str) -> str:
    """"Propose to the group" from a workbook answer: the owner's own words, pre-filled for them to edit before
    sending. Only the place travels in the link; the words are read from their workbook, and nothing is sent
    until they press Propose."""
    if not place:
        return ""
    from .answers import resolve
    from .workbook import open_workbook
    spot, workbook = resolve(content(), place), open_workbook()
    if spot is None or workbook is None or not getattr(spot.block, "to_board", False):
        return ""
    saved = workbook.get(place)
    return one_line(saved.value) if saved else ""   # all of it: the box counts, and says if it is over the limit


def projector_state(group, membership, board: Board | None = None, screen: Screen | None = None) -> dict:
    """The board as the room's screen shows it (board_state's projector view) and, while the group commits to a
    new version of its code, what changed since the version before."""
    state = board_state(group, membership, "projector", board, screen)
    version = state["version"]
    previous = version.previous() if version and state["board"].phase == "commit" else None
    return {**state, "previous": previous, "changes": version.changes_since(previous) if previous else None}


@bp.get("/groups/<int:group_id>/board/projector")
@login_required
def projector(group_id: int):
    group, membership = managed_or_404(group_id)
    return render_board("board/projector.html", **projector_state(group, membership))


@bp.get("/groups/<int:group_id>/board/live")
@login_required
def live(group_id: int):
    """Polled by every screen. Membership is checked on every poll: someone removed stops seeing the board."""
    group, membership = membership_or_404(group_id)
    view = "projector" if request.args.get("view") == "projector" else "page"
    if view == "projector" and not permissions.can_manage_group(membership):
        abort(404)
    board = Board.of(group)   # one read; polls never write
    if board is not None and seen_already(board.version):
        return "", 204
    state = projector_state(group, membership, board) if view == "projector" else board_state(group, membership, view, board)
    return render_board("board/_live.html", **state)


# ---------------------------------------------------------------------------------------------------
# Following the board through a stream (p2p/stream.py): each change is worked out once per kind of screen (the
# snapshot's fragments and regions), and each screen is sent only what differs from what it shows
# (stream.ListFollower).


@stream.follows("board.live")
class Follower(stream.ListFollower):
    """A screen following the board: what it shows (the regions and behaviours this stream sent it, or its page
    had), so that each change sends it only what differs."""

    announcement = "board-announce"

    def __init__(self, group, membership, view_args: dict, args) -> None:
        super().__init__()
        self.view = "projector" if args.get("view") == "projector" else "page"
        if self.view == "projector" and not permissions.can_manage_group(membership):
            abort(404)
        self.topic = ("board", group.id, "")
        self.version = whole_number(args.get("v")) or 0
        # What the screen showed, for what its screen reader is told (_announce.html): its poll's query at first.
        self.was = {key: args.get(key, "") for key in ("phase", "n", "t", "m")}
        self.screen = Screen(None if self.view == "projector" else my_pseudonyms())
        self.csrf_token = generate_csrf()
        self.board_id: int | None = None
        self.made: dict[int, tuple[tuple, str]] = {}   # each behaviour on the screen -> its item_key and HTML
        self.made_from: tuple | None = None   # the items_seen, mine, own and respond_later they were made from

    def version_now(self, group) -> int:
        return Board.version_where(Board.group == group)

    def update(self, group, membership, known: int) -> str | None:
        """What to send this screen now: the changes since it was last sent anything (None: nothing), worked out
        from the newest snapshot (at least version `known`). The first time, if its page shows the version it
        asks from, only what it shows is noted."""
        shared = newest_snapshot(group, self.board_id, known)
        if shared is None:
            return None
        self.board_id = shared.board.id
        if self.sent is not None and shared.version == self.version:
            return None   # (the first look only notes what the screen shows, if its page is up to date)
        board = Board(**shared.board.__data__)   # its own copy: a write on this screen's behalf bumps its version
        if self.view == "projector":
            state = projector_state(group, membership, board, self.screen)
        else:
            state = board_state(group, membership, self.view, board, self.screen)
        state["proposal_html"] = lambda proposal: proposal_html(state, proposal)
        state["was"] = self.was
        changed = self.changes(*self._regions(state), up_to_date=self.version == state["board"].version)
        self.version = state["board"].version
        self.was = {"phase": board.phase, "n": str(len(state["proposals"])), "t": str(state["total"]),
                    "m": str(state["newest"])}
        return for_this_person("".join(changed), self.csrf_token) if changed else None

    def _regions(self, state: dict):
        """Each live region's HTML for this screen (shared ones rendered once per version and kind of screen), the
        list's outline and its behaviours."""
        shared, view, facilitator, shown = state["shared"], state["view"], state["facilitator"], state["ids"]

        def region(template: str, *key, **more) -> str:   # shared: stand-ins for the form token and keys
            return shared.made_once((template, view, facilitator, *key),
                                    lambda: shared_html(template, **{**state, **more, "oob": True}))

        regions = [("board-announce", region("board/_announce.html", shown, tuple(self.was.items()))),
                   ("board-poller", region("board/_poller.html", shown))]
        placeholders = {"proposal_html": lambda proposal: Markup(stream.placeholder(proposal.id))}
        lists = state["lists"]
        if view == "projector":
            regions += [("board-phase", region("board/_projector_phase.html")),
                        ("projector-state", region("board/_projector_state.html")),
                        ("projector-join", region("board/_projector_join.html", state["join_url"]))]
            # Its list as the page's: only what changed (it was the whole list at each change, ~100 KB to the
            # room's screen and a fifth of the streams' work). Blanked, or showing the code while the group
            # commits, it shows no behaviour: nothing to make, add to or replace in it.
            outline = region("board/_projector_list.html", shown, **placeholders)
            items = self._behaviours(state, [p for p in state["proposals"] if stream.placeholder(p.id) in outline])
            return regions, {key: ids for key, ids in lists.items() if f'id="{key}"' in outline}, outline, items
        regions += [("board-phase", region("board/_phase.html", bool(state["respond_later"]))),
                    ("proposal-naming", region("board/_naming.html")),
                    ("board-controls", region("board/_controls.html")),
                    ("respond-count", region("board/_respond_count.html", state["answered"], state["answerable"]))]
        outline = region("board/_list.html", shown, state["i_committed"], state["i_signed"], **placeholders)
        return regions, lists, outline, self._behaviours(state, state["proposals"])

    def _behaviours(self, state: dict, proposals) -> dict[int, str]:
        """Each behaviour's HTML on this screen: what it has already when nothing the behaviour shows changed, else
        as every screen with the same item_key has it (proposal_html). The snapshot keeps a variant only while
        screens ask for it, version after version; the one screen of its kind (the projector, the facilitator's),
        or a person's own behaviours, or a stream that missed a few busy versions, had theirs made again each
        time: half of a room's renders."""
        seen, mine, own, later = state["items_seen"], state["mine"], state["own"], state["respond_later"]
        before = self.made_from
        if before is not None and before[3] == later:
            # What may have changed: what everyone of its kind sees of a behaviour, or this person's own part
            # (theirs or not, their choice). Everything else is as this screen has it.
            again = seen_changes(state, before[0]) | (own ^ before[2]) | {pid for pid, _ in mine.items() ^ before[1].items()}
        else:
            again = None   # the first time, or another round: each behaviour looked at
        made, had_made = {}, self.made
        for pid, proposal in zip(state["ids"], state["proposals"]) if proposals is state["proposals"] else (
                (p.id, p) for p in proposals):
            had = had_made.get(pid)
            if had is not None and again is not None and pid not in again:
                made[pid] = had
            else:
                key = item_key(state, proposal)
                made[pid] = had if had is not None and had[0] == key else (key, proposal_html(state, proposal, key))
        self.made, self.made_from = made, (seen, mine, own, later)
        return {item_id: html for item_id, (_, html) in made.items()}


def _back(group_id: int):
    if is_fragment_request():
        return "", 204   # the next poll shows the change everywhere, this screen included
    return redirect(url_for("board.page", group_id=group_id))


@bp.post("/groups/<int:group_id>/board/proposals")
@login_required
def propose(group_id: int):
    group, membership = membership_or_404(group_id)
    board = Board.for_group(group)
    text = one_line(request.form.get("text", ""))

    def add(pseudonyms: bytes) -> None:
        named = _named_as_shown(board)
        Proposal.create(board=board, author=current_user.id if named else None, text=text, named=named,
                        held=board.holding, round=board.round, **Proposal.new_owner(pseudonyms))
        board.changed()
    closed = (None if board.takes_proposals(CodeVersion.reaffirmed_in(board)) else
              "Proposing has closed for now. Your words are still here if you want to keep them.")
    problem = sending.send(PROPOSALS, group.id, text, add, closed)
    if is_fragment_request():  # the form answers in place: sent, or the problem with the text kept
        return render_template("board/_propose_form.html", board=board, group=group, text_max=Proposal.TEXT_MAX,
                               text=text if problem else "", problem=problem, just_sent=not problem)
    if problem:   # the page again, with the words in the box and the problem said under it: nothing is lost
        return render_board("board/page.html", **board_state(group, membership), text_max=Proposal.TEXT_MAX,
                            text=text, problem=problem)
    return redirect(url_for("board.page", group_id=group.id) + "#propose")


def _named_as_shown(board: Board) -> bool:
    """Named only if the board says so now and the form said so when it was sent: a setting changed while
    someone was typing never puts their name on words they wrote believing them anonymous."""
    shown = request.form.get("named")
    return board.named if shown is None else board.named and shown == "1"


RESPOND_NEXT_ROUND = ("You set a new password with a fresh workbook during this round, so the board can no longer "
                      "tell which responses were yours before. They still count. You can respond again from the "
                      "next round.")

# The choices on each behaviour: kind and private, as kept. "Object without my name" shows the group only "needs
# discussion"; a named objection lets the facilitator invite that person to speak. "pass" is a choice of its own
# (answered, counted in no tally); "clear" takes their choice back, to no response at all.
CHOICES = {"agree": ("agree", False), "unsure": ("unsure", False), "object": ("object", False),
           "object-private": ("object", True), "pass": (BoardResponse.PASS, False), "clear": (None, False)}
NOT_SAVED = "so this last choice was not saved. Everything you chose before it is kept."


def _too_late(board: Board, proposal: Proposal | None, pseudonyms: bytes, facilitator: bool) -> str | None:
    """Why a tap can no longer count, in words for the person who made it: their screen was a moment behind the
    board (the facilitator moved on, or changed that behaviour) and has not caught up yet. None: it counts."""
    if board.phase != "respond":
        return f"The group has moved on to “{PHASE_TITLES[board.phase]}”, {NOT_SAVED}"
    if proposal is None:   # a merge split back out: its wording went, and its proposals came back
        return f"That behaviour is no longer on the board, {NOT_SAVED} The list now shows the behaviours as they are."
    if proposal.merged_into_id:
        return (f"That behaviour has just been merged with a similar one, {NOT_SAVED} What you chose for it "
                "counts for the merged behaviour, which you can respond to in the list.")
    if proposal.hidden or not proposal.shown_to(pseudonyms, facilitator):
        return f"The facilitator has taken that behaviour off the board for now, {NOT_SAVED}"
    return None


def _said(group, words: str):
    """What is said about a tap, where the person is: in place (the status line by the answered count) when htmx
    sent it, at the top of the board otherwise. Always a page or a 200: htmx swaps nothing of a 4xx."""
    if is_fragment_request():
        return render_template("board/_respond_said.html", said=words)
    flash(words)
    return redirect(url_for("board.page", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/proposals/<int:proposal_id>/respond")
@login_required
def respond(group_id: int, proposal_id: int):
    group, membership = membership_or_404(group_id)
    board = Board.for_group(group)
    pseudonyms = my_pseudonyms()
    if pseudonyms is None:   # a session without the workbook key: log in again, and back to this page
        return current_app.login_manager.unauthorized()
    choice = request.form.get("kind", "")
    if choice not in CHOICES:
        abort(400)   # no page offers it
    proposal = first_written_once("board's proposal", lambda id_, board_id: Proposal.select().where(
        (Proposal.id == id_) & (Proposal.board == board_id)), proposal_id, board.id)
    late = _too_late(board, proposal, pseudonyms, permissions.can_manage_group(membership))
    if late:
        return _said(group, late)
    if board.responds_later(current_user.id):   # a page from before their reset: it offered the choices
        return _said(group, RESPOND_NEXT_ROUND)
    kind, private = CHOICES[choice]
    board.respond(proposal, pseudonyms, current_user.id, kind, private)
    return _back(group.id)


# ---------------------------------------------------------------------------------------------------
# The facilitator's controls. Sent by htmx, each answers with the board as it now is (what the next poll would
# bring: the facilitator sees the change at once, with no page load, and htmx keeps focus on the same ids) and
# says in the status line what was done, with an Undo where a tap can be a mistake. Without script they are plain
# forms: the page comes back, its status line kept for it in the session (DONE_KEY) for that one page.

DONE_KEY = "board_done"
GONE = ("That behaviour is no longer on the board as it was (it may have been merged or split back out). The board "
        "now shows it as it is.")


def _quoted(text: str) -> str:
    return f"‘{text}’"


def _did(text: str, undo: tuple[str, list[tuple[str, str]]] | None = None, problem: bool = False,
         field: str | None = None) -> dict:
    """What the status line says: what was done (or could not be), and the form that undoes it (its address and
    fields). `field`: the id of the place beside the form where a problem is said too."""
    return {"text": text, "problem": problem, "field": field,
            "undo": {"url": undo[0], "fields": [list(pair) for pair in undo[1]]} if undo else None}


def _settings_undo(group, action: str) -> tuple[str, list]:
    return url_for("board.settings", group_id=group.id), [("action", action)]


def _shape_undo(group, proposal_id: int, action: str, **fields: str) -> tuple[str, list]:
    return url_for("board.shape", group_id=group.id, proposal_id=proposal_id), [("action", action), *fields.items()]


def _come_back(restore: list[tuple[Proposal, list[int]]], parts: list[Proposal]) -> list[Proposal]:
    """What a split or a take-out puts back on the board: the kept wordings merged again (`restore`), and the
    parts that did not go back into one of them."""
    taken_back = {part for _, ids in restore for part in ids}
    return [into for into, _ in restore] + [p for p in parts if p.id not in taken_back]


def _as_answered_before(group):
    """A change sent again (its key known) that did nothing this time: what the first answer showed stands."""
    return Response(status=204) if is_fragment_request() else redirect(url_for("board.page", group_id=group.id))


def _answer(group, membership, done: dict | None, anchor: str = "", view: str = "page"):
    if is_fragment_request() and request.headers.get("P2P-Live") == "stream":
        # The screen follows its stream (static/js/live.js), which brings the change as it brings everyone's:
        # answered here with the board too, an update the stream had read before this change, arriving after
        # this answer, would put the board as it was back for a moment.
        response = Response(render_template("board/_answered.html", done=done))
        response.headers["HX-Reswap"] = "none"
        return response
    if is_fragment_request():
        return render_board("board/_live.html", **board_state(group, membership, view), done=done, answering=True)
    if done and done["problem"]:
        flash(done["text"])
    elif done:
        session[DONE_KEY] = {"group": group.id, **done}
    if view == "projector":
        return redirect(url_for("board.projector", group_id=group.id))
    return redirect(url_for("board.page", group_id=group.id) + anchor)


SETTINGS = {  # action: (field, value)
    "named-on": ("named", True), "named-off": ("named", False),
    "hide-on": ("hide_until_reveal", True), "hide-off": ("revealed", True),
    "reveal": ("revealed", True),
    "tallies-on": ("tallies_shown", True), "tallies-off": ("tallies_shown", False),
    "blank-on": ("blank", True), "blank-off": ("blank", False),
}


@bp.post("/groups/<int:group_id>/board/settings")
@login_required
def settings(group_id: int):
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    action = request.form.get("action", "")
    done = None
    if action.startswith("phase:") and action[6:] in Board.PHASES:
        changes = {"phase": action[6:]}
        if board.phase != changes["phase"]:   # a phase moved by mistake goes back with one tap
            done = _did(f"Now: {PHASE_TITLES[changes['phase']]}.", _settings_undo(group, f"phase:{board.phase}"))
    elif action in SETTINGS:
        field, value = SETTINGS[action]
        changes = {field: value}
        if action == "hide-on":
            changes["revealed"] = False   # from now on, people write without seeing each other's proposals
    else:
        abort(400)
    board.apply(changes)
    log.info("board-changed group=%s action=%s", group.id, action)
    return _answer(group, membership, done, view="projector" if request.form.get("back") == "projector" else "page")


@bp.post("/groups/<int:group_id>/board/proposals/<int:proposal_id>")
@login_required
def shape(group_id: int, proposal_id: int):
    """Shaping with the group: edit the wording, hide an item (its author still sees it), split a merge back out,
    and (agreeing) mark it agreed. Each says what it did, with its undo: the opposite change."""
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    if SentRequest.result_of(request.form.get("request_key"))[0]:   # (a split's or a take-out's)
        return _as_answered_before(group)   # a double tap's second: the first's answer stands, with its Undo
    proposal = Proposal.get_or_none((Proposal.id == proposal_id) & (Proposal.board == board))
    if proposal is None:   # a page from before a merge or a split: said calmly to htmx, as before to a plain form
        return _answer(group, membership, _did(GONE, problem=True)) if is_fragment_request() else abort(404)
    action = request.form.get("action", "")
    anchor = f"#proposal-{proposal.id}"
    was = _quoted(proposal.text)
    if action == "edit":
        text = one_line(request.form.get("text", ""))
        if not text or len(text) > Proposal.TEXT_MAX:
            return _answer(group, membership, _did(
                f"A behaviour needs some words, and at most {Proposal.TEXT_MAX} characters. {was} is as it was.",
                problem=True, field=f"wording-problem-{proposal.id}"), anchor)
        changes = {"text": text}
        done = _did(f"New wording: {_quoted(text)}.", _shape_undo(group, proposal.id, "edit", text=proposal.text))
    elif action == "theme":
        theme = one_line(request.form.get("theme", ""))[:THEME_MAX]
        changes = {"theme": theme or None}
        done = _did(f"{was} is under the theme {_quoted(theme)}." if theme else f"{was} has no theme now.",
                    _shape_undo(group, proposal.id, "theme", theme=proposal.theme or ""))
    elif action in ("hide", "show"):
        changes = {"hidden": action == "hide"}
        done = _did(f"Hidden from the group: {was}." if action == "hide" else f"Shown to the group again: {was}.",
                    _shape_undo(group, proposal.id, "show" if action == "hide" else "hide"))
    elif action in ("agree", "unagree"):
        changes = {"agreed": action == "agree"}
        done = _did(f"Agreed: {was}." if action == "agree" else f"Taken out of the code: {was}.",
                    _shape_undo(group, proposal.id, "unagree" if action == "agree" else "agree"))
    elif action == "split":   # the originals come back, each with its own responses; the merged wording goes
        restore = _kept_wordings(board, request.form.getlist("restore"))
        originals = list(proposal.originals)
        if not originals:   # (a form from before its split, in another tab: nothing to do)
            return _answer(group, membership, _did(f"{was} is not merged now: nothing to split.", problem=True), anchor)
        cleared = _cleared(board, [proposal])
        if not SentRequest.once(request.form.get("request_key"), lambda: board.split(proposal, restore))[0]:
            return _as_answered_before(group)
        log.info("proposals-split group=%s", group.id)
        back = _come_back(restore, originals)
        kept = Proposal.select().where(Proposal.id == proposal.id).exists()   # in an earlier round's record
        merge_again = (url_for("board.merge", group_id=group.id),
                       [*(("proposal", str(p.id)) for p in back), ("text", proposal.text),
                        *([("into", str(proposal.id))] if kept else []), ("request_key", new_request_key())])
        return _answer(group, membership, _did(
            f"Split back out: {', '.join(_quoted(p.text) for p in back)}.{cleared}", merge_again if back else None),
            "#board-list")
    elif action == "take-out":   # (a merge into this one undone) those parts come back; it keeps the others
        restore = _kept_wordings(board, request.form.getlist("restore"))
        parts = [p for p in proposal.originals if str(p.id) in request.form.getlist("part")]
        if not parts:   # (taken out already, from another tab: nothing to do)
            return _answer(group, membership, _did(GONE, problem=True), anchor)
        if not SentRequest.once(request.form.get("request_key"), lambda: board.take_out(proposal, [p.id for p in parts], restore))[0]:
            return _as_answered_before(group)
        back = _come_back(restore, parts)
        merge_again = (url_for("board.merge", group_id=group.id),
                       [("proposal", str(proposal.id)), *(("proposal", str(p.id)) for p in back), ("into", str(proposal.id)),
                        ("request_key", new_request_key())])
        return _answer(group, membership, _did(f"Taken out of {was}: {', '.join(_quoted(p.text) for p in back)}.",
                                               merge_again if back else None), "#board-list")
    else:
        abort(400)
    board.reshape(proposal, changes)
    return _answer(group, membership, done, anchor)


@bp.post("/groups/<int:group_id>/board/agreed")
@login_required
def agree_all(group_id: int):
    """Every behaviour the board suggests (no objection, most agree) marked agreed with one tap, or (its undo)
    taken out again: the behaviours are those the facilitator's screen listed, so one that a late response
    changed is never agreed unseen."""
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    action = request.form.get("action", "")
    if action not in ("agree", "unagree"):
        abort(400)
    agreeing = action == "agree"
    wanted = set(request.form.getlist("proposal"))
    changing = [p.id for p in board.proposals_for(None, True)
                if str(p.id) in wanted and p.agreed != agreeing and not (agreeing and p.hidden)]
    if not changing:
        done = _did("Nothing to change: the board is as you see it.")
    else:
        board.reshape_all(changing, {"agreed": agreeing})
        log.info("board-agreed-many group=%s action=%s count=%s", group.id, action, len(changing))
        many = f"{len(changing)} behaviour{'s' if len(changing) != 1 else ''}"
        undo = (url_for("board.agree_all", group_id=group.id),
                [("action", "unagree" if agreeing else "agree"), *(("proposal", str(i)) for i in changing)])
        done = _did(f"Agreed: {many}." if agreeing else f"Taken out of the code: {many}.", undo)
    return _answer(group, membership, done, "#board-list")


@bp.get("/groups/<int:group_id>/board/proposals/<int:proposal_id>/merge-choices")
@login_required
def merge_choices(group_id: int, proposal_id: int):
    """The behaviours "Merge with…" offers on one behaviour, asked for as a facilitator opens it. Written into
    every behaviour, each listing every other, they made a board of n behaviours n² choices long (22 MB for 300 of
    them), and every new or reworded behaviour changed every other one on the facilitators' screens: each sent
    again, and made again, at every change while shaping."""
    group, _ = managed_or_404(group_id)
    board = Board.of(group)
    others = [p for p in snapshot(board).proposals if p.id != proposal_id] if board else []
    return render_template("board/_merge_choices.html", others=others)


@bp.app_template_global()
def wording_key(text: str) -> int:
    """A number that changes with a behaviour's words: in the id of a panel kept open across live updates
    (data-hx-preserve) that shows them, so that a new wording draws it afresh."""
    return zlib.crc32(text.encode())


@bp.post("/groups/<int:group_id>/board/merge")
@login_required
def merge(group_id: int):
    """Merge duplicates, chosen on the behaviour itself ("Merge with…", never by dragging): one behaviour with the
    chosen wording, "proposed by N people"; the originals and their responses move with it and can be split back
    out (the status line offers that as its undo)."""
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    chosen = [p for p in board.proposals_for(None, True) if str(p.id) in request.form.getlist("proposal")]
    text = one_line(request.form.get("text", ""))
    key = request.form.get("request_key")
    sent_before, merged_id = SentRequest.result_of(key)
    if not sent_before and len(text) > Proposal.TEXT_MAX:   # never cut short unseen: the words stay in the box
        return _answer(group, membership, _did(f"Please keep the merged wording to {Proposal.TEXT_MAX} characters "
                                               f"(it has {len(text)}).", problem=True), "#board-list")
    if not sent_before and len(chosen) < 2:
        # (an undo from another tab, after the merge was made again there: said as any form from before a change)
        said = GONE if len(list(filter(None, request.form.getlist("proposal")))) > 1 else "Please choose the behaviour to merge it with."
        return _answer(group, membership, _did(said, problem=True), "#board-list")
    cleared = ""
    if not sent_before:   # (sent again: merged already, and answered as the first time, with the same undo)
        wordings = {p.id: [o.id for o in p.originals] for p in chosen}   # merges among the chosen: their parts
        # Into a merged behaviour that is there already (Board.merge), as itself, with its responses and record:
        # one an undo names (a take-out's, under its words now; a split's, the wording an earlier round kept),
        # or one of the chosen under its own words, or one in the record under these very words.
        named = next((p for p in chosen if str(p.id) == request.form.get("into")), None)
        text = named.text if named else (text or chosen[0].text)
        into = named or next((p for p in chosen if p.text == text and (wordings[p.id] or _nobodys(p))), None) \
            or _kept_wording(board, Proposal.id == whole_number(request.form.get("into"))) \
            or _kept_wording(board, Proposal.text == text)
        # Other merged wordings go (a merge keeps one level), with this round's responses to them.
        cleared = _cleared(board, [p for p in chosen if wordings[p.id] and p is not into])

        def merged_with_its_undo() -> str:   # (kept with the request's key: sent again, it gets the same undo)
            merged = board.merge(chosen, text, into)
            with_undo = f"{merged.id}?{urlencode(_merge_undo(board, chosen, wordings, merged))}"
            return with_undo if len(with_undo) <= SentRequest.result.max_length else str(merged.id)   # (then a split)
        made, merged_id = SentRequest.once(key, merged_with_its_undo)
        if made:
            log.info("proposals-merged group=%s count=%s", group.id, len(chosen))
    merged_id, _, undo_fields = (merged_id or "").partition("?")
    merged = Proposal.get_or_none((Proposal.id == whole_number(merged_id)) & (Proposal.board == board))
    if merged is None:
        return _answer(group, membership, None, "#board-list")
    undo = (url_for("board.shape", group_id=group.id, proposal_id=merged.id), parse_qsl(undo_fields) or [("action", "split")])
    return _answer(group, membership, _did(f"Merged into {_quoted(merged.text)}.{cleared}{_not_agreed_yet(chosen, merged)}",
                                           undo), "#board-list")


def _merge_undo(board: Board, chosen: list[Proposal], wordings: dict[int, list[int]], merged: Proposal) -> list:
    """The fields of a merge's undo: into a merge that was there, what came in is taken out again; else the
    merge is split. Either way, a merged wording an earlier round kept (Board._wordings_go: it was responded to
    then) gets its parts back, and comes back itself, not as its parts."""
    if wordings.get(merged.id):
        fields = [("action", "take-out"), *(("part", str(i)) for p in chosen if p.id != merged.id
                                            for i in (wordings[p.id] or [p.id]))]
    else:
        fields = [("action", "split")]
    fields.append(("request_key", new_request_key()))   # (pressed twice, it undoes once)
    kept = [p for p, in Proposal.select(Proposal.id).where(Proposal.id.in_(list(wordings)), Proposal.board == board,
                                                            Proposal.round < board.round).tuples() if wordings[p]]
    return fields + [("restore", f"{p}:" + ".".join(map(str, wordings[p]))) for p in kept]


def _nobodys(proposal: Proposal) -> bool:
    """No author, no maker: nobody proposed it, as only a merge's wording (Board.merge)."""
    return proposal.author_id is None and proposal.owner_tag is None


def _cleared(board: Board, wordings: list[Proposal]) -> str:
    """What the status line adds when merged wordings go (a split, or a merge of merges): this round's responses
    to them go too, and each person's own session could not move them to the new wording (pseudonyms are per
    behaviour), so they respond again."""
    count = BoardResponse.select().where(BoardResponse.proposal.in_([p.id for p in wordings]),
                                         BoardResponse.round == board.round).count() if wordings else 0
    if not count:
        return ""
    said = " and ".join(_quoted(p.text) for p in wordings)
    responses = "The response" if count == 1 else f"The {count} responses"
    return f" {responses} given to {said} this round {'was' if count == 1 else 'were'} cleared: everyone can respond again."


def _not_agreed_yet(chosen: list[Proposal], merged: Proposal) -> str:
    """A merge of agreed behaviours into other words is a wording the group has not agreed (Board.merge)."""
    if merged.agreed or not any(p.agreed for p in chosen):
        return ""
    return " It is not marked agreed: the group has not agreed this wording yet."


def _kept_wording(board: Board, which) -> Proposal | None:
    """A merged wording of this board (`which`: by id, or by its words) that an earlier round kept
    (Board._wordings_go): a merge's wording (no author, no maker: nobody proposed it) with no parts now, still in
    the record or brought back into this round since (from another tab)."""
    parts = Proposal.alias()
    return Proposal.get_or_none(which & (Proposal.board == board) & Proposal.merged_into.is_null()
                                & Proposal.author.is_null() & Proposal.owner_tag.is_null()
                                & ~fn.EXISTS(parts.select(parts.id).where(parts.merged_into == Proposal.id)))


def _kept_wordings(board: Board, fields: list[str]) -> list[tuple[Proposal, list[int]]]:
    """A merge's undo (see merge): each merged wording an earlier round kept, with the originals it had, from
    fields like "12:3.4"."""
    found = []
    for pair in fields:
        wording_id, _, parts = pair.partition(":")
        into = _kept_wording(board, Proposal.id == whole_number(wording_id))
        ids = [number for number in (whole_number(part) for part in parts.split(".")) if number]
        if into is not None and ids:
            found.append((into, ids))
    return found


@bp.post("/groups/<int:group_id>/board/version")
@login_required
def make_version(group_id: int):
    """The agreed behaviours become the next version of the code; then everyone is asked to commit to it."""
    group, membership = managed_or_404(group_id)
    board = Board.for_group(group)
    agreed = [[p.text, p.theme] if p.theme else p.text
              for p in in_theme_order(board.proposals_for(None, True)) if p.agreed and not p.hidden]
    sent_before, _ = SentRequest.result_of(request.form.get("request_key"))
    if not agreed and not sent_before:
        return _answer(group, membership, _did("Mark at least one behaviour as agreed first.", problem=True))

    if SentRequest.once(request.form.get("request_key"), lambda: board.make_version(agreed))[0]:
        log.info("code-version-made group=%s", group.id)
    if is_fragment_request():   # the board asks everyone to commit: the facilitator stays on it, and sees the count
        version = CodeVersion.latest(board)
        return _answer(group, membership, _did(f"Version {version.number} of our code is made. Everyone is asked "
                                               "to commit to it now."))
    return redirect(url_for("board.code", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/commit")
@login_required
def commit(group_id: int):
    """Committing to the code, signed with the person's name ("sign" 1) or counted without it ("sign" 0), as they
    choose; the same, once committed, changes that choice. Without "sign" (a page from before signatures), a new
    commitment is counted and an earlier one keeps its choice."""
    group, _ = membership_or_404(group_id)
    board = Board.for_group(group)
    sign = {"1": True, "0": False}.get(request.form.get("sign", ""))
    before = Commitment.get_or_none(Commitment.version == CodeVersion.latest(board), Commitment.user == current_user.id)
    if not board.commit(current_user.id, sign):
        abort(404)
    if is_fragment_request():
        return "", 204
    if before is None:
        flash("Thank you. You have committed to our code.")
    elif sign is not None and sign != before.signed:   # (a double tap changes nothing, and says nothing)
        flash("Your name is on our code now." if sign else "Your name is off our code. You are still counted.")
    return redirect(url_for("board.code", group_id=group.id))


@bp.get("/groups/<int:group_id>/board/round")
@login_required
def confirm_round(group_id: int):
    """Before a re-affirm round starts: what it does, and that nothing is lost."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    version = CodeVersion.latest(board)
    kept = (Proposal.select().where(Proposal.board == board, Proposal.merged_into.is_null()).count()
            - len(Proposal.in_code(board, version))) if version else 0
    return render_template("board/round.html", group=group, board=board, version=version, left_out=kept,
                           responders=Responder.select().where(Responder.board == board,
                                                               Responder.round == board.round).count())


@bp.post("/groups/<int:group_id>/board/round")
@login_required
def new_round(group_id: int):
    """Sessions 2–4 open by revisiting the code: everyone responds again to each behaviour in it ("still agree" or
    "want to revisit"), may propose changes in the same round, and a new version is agreed and committed. Each
    round is kept (Board.start_round)."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    sent_before, _ = SentRequest.result_of(request.form.get("request_key"))
    if CodeVersion.latest(board) is None and not sent_before:
        flash("The group has not agreed a code yet, so there is nothing to re-affirm.")
        return redirect(url_for("board.page", group_id=group.id))
    # Sent again after its answer was lost, it must not start another round (the responses given since would then
    # be last round's).
    if SentRequest.once(request.form.get("request_key"), board.start_round)[0]:
        log.info("reaffirm-round-started group=%s round=%s", group.id, board.round)
    return redirect(url_for("board.page", group_id=group.id))


@bp.post("/groups/<int:group_id>/board/proposals/<int:proposal_id>/bring-back")
@login_required
def bring_back(group_id: int, proposal_id: int):
    """A behaviour left in an earlier round (not in the code) asked about again in this one. Sent twice, it comes
    back once."""
    group, _ = managed_or_404(group_id)
    board = Board.for_group(group)
    proposal = Proposal.get_or_none((Proposal.id == proposal_id) & (Proposal.board == board)
                                    & Proposal.merged_into.is_null()) or abort(404)
    board.bring_back(proposal)
    log.info("proposal-brought-back group=%s", group.id)
    flash(f"Brought back into this round: {_quoted(proposal.text)}.")
    return redirect(url_for("board.page", group_id=group.id) + f"#proposal-{proposal.id}")


def code_context(group) -> dict:
    board = Board.for_group(group)
    versions = list(CodeVersion.select().where(CodeVersion.board == board).order_by(CodeVersion.number.desc()))
    version = versions[0] if versions else None
    previous = versions[1] if len(versions) > 1 else None
    committed = (list(Commitment.select(Commitment, User.id, User.name).join(User).where(Commitment.version == version)
                      .order_by(Commitment.committed_at, Commitment.id)) if version else [])
    changes = version.changes_since(previous) if version and previous else None
    mine = next((c for c in committed if c.user_id == current_user.id), None)
    return {"group": group, "board": board, "version": version, "previous": previous, "changes": changes,
            "committed": committed, "signatures": signatures(committed), "versions": versions,
            "i_committed": mine is not None, "i_signed": bool(mine and mine.signed)}


@bp.get("/groups/<int:group_id>/code")
@login_required
def code(group_id: int):
    """The group's code: the current version, who has committed (the names of those who chose to sign), what
    changed. It prints as a poster on one landscape page: of the paper the print dialog has, or A4 or A3 as
    chosen with the print buttons (or ?paper=a4, ?paper=a3), which the dialog then starts with."""
    group, _ = membership_or_404(group_id)
    context = code_context(group)
    names, others = context["signatures"]
    # Each name escaped as it is marked up, and made plain text again (so joining it to the function's own words,
    # which need no escaping, escapes nothing twice); the sentence is then markup as a whole.
    signed = Markup(committed_words(names, others,
                                    lambda name: str(Markup('<span class="signature">{}</span>').format(name))))
    return render_template("board/code.html", **context, committed_sentence=signed,
                           type_size=poster_type(context["version"], committed_words(names, others))
                           if context["version"] else None,
                           paper=request.args.get("paper") if request.args.get("paper") in ("a4", "a3") else None)


@bp.get("/groups/<int:group_id>/code.md")
@login_required
def code_markdown(group_id: int):
    group, _ = membership_or_404(group_id)
    context = code_context(group)
    version = context["version"]
    if version is None:
        return redirect(url_for("board.code", group_id=group.id))
    lines = [f"# Our code of behaviour — {group.name}", "",
             f"Version {version.number}, agreed on {local_time(version.made_at, current_app.config['TIMEZONE']):%-d %B %Y}.", ""]
    for index, (theme, start, behaviours) in enumerate(version.by_theme):
        heading = theme or ("Other behaviours" if index else None)   # as the page has it: see _code_list.html
        lines += ([f"## {heading}", ""] if heading else []) + [f"{number}. {behaviour}" for number, behaviour
                                                                in enumerate(behaviours, start)] + [""]
    lines += [committed_words(*context["signatures"])]
    response = Response(("\n".join(lines) + "\n"), mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="code-of-behaviour-v{version.number}.md"'
    return response
