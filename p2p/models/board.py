"""The code of behaviour board: one per group, live on every screen through its version counter."""

from __future__ import annotations

import hmac
import json
import secrets
from collections import Counter

from peewee import EXCLUDED, JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from .. import crypto, live
from ..db import checkpoint, db, first_written_once, for_update, run_once, written_once
from .accounts import EarlierKey, User
from .base import BaseModel, IdNeverReused, Live, utcnow
from .groups import Group, Membership, PasswordReset


class Board(Live, BaseModel):
    PHASES = ("propose", "shape", "respond", "agree", "commit")

    group = ForeignKeyField(Group, unique=True, backref="boards", on_delete="CASCADE")
    phase = CharField(max_length=20, default="propose")
    named = BooleanField(default=False)               # new proposals show their author's name
    hide_until_reveal = BooleanField(default=False)   # people write without seeing each other's proposals...
    revealed = BooleanField(default=True)             # ...until the facilitator reveals them all at once
    # (what is held back is marked on each proposal, Proposal.held: turning hiding on later never re-hides
    # proposals everyone has already seen)
    tallies_shown = BooleanField(default=False)       # responses are counted out of sight until revealed
    blank = BooleanField(default=False)               # the projector shows nothing
    version = IntegerField(default=1)   # bumped by every change (Live)
    # Which round of responses the board is in: 1 from the start, one more with each re-affirm round. Every round
    # is kept: responses and responders belong to theirs, and so does each behaviour (Proposal.round).
    round = IntegerField(default=1)
    # When this round of responses began (the board was made, or a re-affirm round started): see responds_later.
    round_started_at = DateTimeField(null=True, default=utcnow)

    @property
    def holding(self) -> bool:
        """New proposals are held back from the group until the facilitator reveals them."""
        return self.hide_until_reveal and not self.revealed

    def takes_proposals(self, reaffirmed: CodeVersion | None) -> bool:
        """New proposals are taken in the propose phase, and while a re-affirm round's responses are given (the
        round re-affirms `reaffirmed`, CodeVersion.reaffirmed_in): re-affirming the code and proposing changes to
        it are one step for the group."""
        return self.phase == "propose" or (self.phase == "respond" and reaffirmed is not None)

    @classmethod
    def touch(cls, group) -> None:
        """Something every screen of the board shows changed outside it (a join code, who facilitates)."""
        cls.update(version=cls.version + 1).where(cls.group == group).execute()
        live.recheck()   # streams read the group and their person's membership again
        live.changed(("board", group.id, ""), cls.version_where(cls.group == group))

    @classmethod
    def for_group(cls, group: Group) -> Board:
        return cls.found_or_made(group=group)

    @classmethod
    def of(cls, group: Group) -> Board | None:
        """The group's board, if it has one yet (a read only: a poll must not write)."""
        return first_written_once("board of", lambda group_id: cls.select().where(cls.group == group_id), group.id)

    def responds_later(self, user_id: int) -> bool:
        """Whether this person's workbook started afresh this round (a reset without their recovery code): their
        responses from before are under pseudonyms of the old key, which nobody can make any more, and still
        count; responding again would count them twice. They respond again from the next round."""
        return first_written_once("fresh workbook this round", lambda user_id_, since: PasswordReset.select(
            PasswordReset.id).where(PasswordReset.user == user_id_, PasswordReset.kept_workbook == False,   # noqa: E712
                                    PasswordReset.at > since).tuples(),
            user_id, self.round_started_at or utcnow()) is not None

    def apply(self, changes: dict) -> None:
        """The facilitator's settings and phase: revealing shows everything held back to everyone at once."""
        if changes.get("phase") == "respond" and not BoardResponse.select().join(Proposal).where(
                Proposal.board == self, BoardResponse.round == self.round).exists():
            # Nobody has responded yet: the round of responses starts now (a fresh workbook before it does not
            # keep anyone from responding, see responds_later).
            changes = {**changes, "round_started_at": utcnow()}
        with db.atomic():
            Board.update(**changes).where(Board.id == self.id).execute()
            if changes.get("revealed"):
                Proposal.update(held=False).where(Proposal.board == self).execute()
            self.changed()

    def respond(self, proposal: Proposal, pseudonyms: bytes, user_id: int, kind: str | None, private: bool = False) -> None:
        """This person's response to a behaviour in this round (kind None: no response, as before they chose; "pass"
        is a choice of its own, counted in no tally), under their pseudonym for it in this round. It replaces their
        earlier one to this behaviour in this round (kept before pseudonyms under their account, or under the
        pseudonym), and (a merged behaviour) theirs to its originals, which counted for it until now. Earlier
        rounds' responses stay as they were."""
        # (Its SQL written once (db.run_once): a room responds several times a second.)
        voter = BoardResponse.voter_for(pseudonyms, proposal.id, self.round)
        replaced = [BoardResponse.voter_for(pseudonyms, original_id, self.round) for (original_id,) in written_once(
            "board's originals", lambda merged_id: Proposal.select(Proposal.id).where(
                Proposal.merged_into == merged_id).tuples(), proposal.id)]
        responder = Responder.tag_for(pseudonyms, self.id, self.round)
        with db.atomic():
            run_once("board response by account", lambda proposal_id, user_id_, round_: BoardResponse.delete().where(
                (BoardResponse.proposal == proposal_id) & (BoardResponse.user == user_id_)
                & BoardResponse.voter.is_null() & (BoardResponse.round == round_)), proposal.id, user_id, self.round)
            if replaced:
                BoardResponse.delete().where(BoardResponse.voter.in_(replaced)).execute()
            if kind is None:
                BoardResponse.delete().where(BoardResponse.proposal == proposal, BoardResponse.voter == voter).execute()
                self._responder_goes_if_silent(pseudonyms, responder)
            else:
                run_once("board responder", lambda board_id, tag, round_: Responder.insert(
                    board=board_id, tag=tag, round=round_).on_conflict_ignore(), self.id, responder, self.round)
                named = user_id if kind == "object" and not private else None   # the facilitator sees the name
                run_once(f"board response, private: {private}", lambda proposal_id, voter_, user_id_, kind_, round_: (
                    BoardResponse.insert(proposal=proposal_id, voter=voter_, user=user_id_, kind=kind_,
                                         private=private, round=round_)
                    .on_conflict(conflict_target=[BoardResponse.proposal, BoardResponse.voter],
                                 update={BoardResponse.kind: EXCLUDED.kind, BoardResponse.private: EXCLUDED.private,
                                         BoardResponse.user: EXCLUDED.user_id})), proposal.id, voter, named, kind, self.round)
            self.changed()

    def forget_responder(self, pseudonyms: bytes) -> bool:
        """This person, counted as having responded this round, is no longer if none of their responses in it is
        left (board.settle_responder). True if they were taken out of the count."""
        with db.atomic():
            gone = self._responder_goes_if_silent(pseudonyms, Responder.tag_for(pseudonyms, self.id, self.round))
            if gone:
                self.changed()
        return gone

    def _responder_goes_if_silent(self, pseudonyms: bytes, responder: str) -> bool:
        """Their tag as a responder this round goes if they have no response in it: looked for under their
        pseudonym for each of the board's behaviours, since nothing else links their responses to them."""
        theirs = [BoardResponse.voter_for(pseudonyms, pid, self.round) for (pid,) in
                  Proposal.select(Proposal.id).where(Proposal.board == self).tuples()]
        if BoardResponse.select().where(BoardResponse.voter.in_(theirs)).exists():
            return False
        return Responder.delete().where(Responder.board == self, Responder.tag == responder).execute() > 0

    def adopt_responses(self, pseudonyms: bytes, user_id: int) -> None:
        """Responses kept before pseudonyms (upgrade step 11) under this person's account move to their pseudonyms
        the first time they open the board again, and their account is then linked to none of them (only a named
        objection keeps the name, which the facilitator sees)."""
        earlier = list(BoardResponse.select(BoardResponse.id, BoardResponse.proposal, BoardResponse.kind, BoardResponse.private,
                                            BoardResponse.round)
                       .join(Proposal).where(Proposal.board == self, BoardResponse.user == user_id,
                                             BoardResponse.voter.is_null()))
        if not earlier:
            return
        with db.atomic():
            for response in earlier:
                named = user_id if response.kind == "object" and not response.private else None
                (BoardResponse.update(voter=BoardResponse.voter_for(pseudonyms, response.proposal_id, response.round),
                                      user=named)
                 .where(BoardResponse.id == response.id).execute())
            for round_ in {response.round for response in earlier}:
                (Responder.insert(board=self, tag=Responder.tag_for(pseudonyms, self.id, round_), round=round_)
                 .on_conflict_ignore().execute())
            self.changed()
        # The -wal now holds each row as it was (their account) beside as it is (their pseudonym): folded away, so
        # that the file's history does not say whose pseudonyms these are.
        checkpoint()

    def merge(self, chosen: list[Proposal], text: str, into: Proposal | None = None) -> Proposal:
        """Duplicates become one behaviour with this wording, "proposed by N people"; the originals and their
        responses move with it and can be split back out. `into`: a merged wording that is there already, which
        takes the others in as itself, with its own responses and record, instead of the same words becoming a
        second behaviour: one of the chosen under its own words, or one an earlier round kept when it was split or
        merged again in this one (see _wordings_go). Inside the caller's transaction."""
        # Held if any of them is: duplicates tidied before the reveal wait for it too (the merged wording and the
        # originals listed under it would otherwise show words nobody was to see yet). Agreed only if the group
        # agreed these very words (one of them is agreed and has them): any other wording is new, and waits for the
        # group (in a re-affirm round the code's behaviours come in agreed, and would take a new wording into the
        # next version unseen). A kept wording comes back as it was kept.
        if into is not None:
            chosen = [p for p in chosen if p.id != into.id]   # (chosen itself, back in the round: its parts come to it)
            Proposal.update(round=self.round, text=text[:Proposal.TEXT_MAX],
                            held=into.held or any(p.held for p in chosen)).where(Proposal.id == into.id).execute()
            merged = into
        else:
            merged = Proposal.create(board=self, author=None, text=text[:Proposal.TEXT_MAX], named=False,
                                     agreed=any(p.agreed and p.text == text for p in chosen), held=any(p.held for p in chosen),
                                     theme=next((p.theme for p in chosen if p.theme), None), round=self.round)
        chosen_ids = [p.id for p in chosen]
        # A merge of merges keeps one level: the earlier merges' originals come along, their wordings go.
        earlier = list({p.merged_into_id for p in Proposal.select(Proposal.merged_into)
                        .where(Proposal.merged_into.in_(chosen_ids))})
        Proposal.update(merged_into=merged).where(Proposal.merged_into.in_(earlier)).execute()
        Proposal.update(merged_into=merged).where(Proposal.id.in_(chosen_ids), Proposal.id.not_in(earlier)).execute()
        self._wordings_go(earlier)
        self.changed()
        return merged

    def reshape(self, proposal: Proposal, changes: dict) -> None:
        """The facilitator shaping one behaviour with the group: its wording, theme, hidden or agreed."""
        with db.atomic():
            Proposal.update(**changes).where(Proposal.id == proposal.id).execute()
            self.changed()

    def reshape_all(self, proposal_ids: list[int], changes: dict) -> None:
        """The same change to several behaviours at once (all those the board suggests, marked agreed)."""
        with db.atomic():
            Proposal.update(**changes).where(Proposal.board == self, Proposal.id.in_(proposal_ids)).execute()
            self.changed()

    def let_go(self, voters: list[str]) -> None:
        """Responses that no longer count (a person's extra answers to the duplicates of a merge)."""
        with db.atomic():
            BoardResponse.delete().where(BoardResponse.voter.in_(voters)).execute()
            self.changed()

    def commit(self, user_id: int, signed: bool | None = None) -> bool:
        """This person commits to the current code (a double tap counts once), signing it with their name or
        counted without it, as they choose; committed already, `signed` changes that choice (None: keeps it, so a
        form that did not ask never changes it). False if there is no code yet."""
        version = CodeVersion.latest(self)
        if version is None:
            return False
        with db.atomic():
            insert = Commitment.insert(version=version, user=user_id, signed=bool(signed))
            if signed is None:
                insert.on_conflict_ignore().execute()
            else:
                insert.on_conflict(conflict_target=[Commitment.version, Commitment.user],
                                   update={Commitment.signed: signed}).execute()
            self.changed()
        return True

    def split(self, merged: Proposal, restore: list[tuple[Proposal, list[int]]] = ()) -> None:
        """A merge undone: the originals come back, each with its own responses, in the round the merged wording was
        in (a merge carried into a re-affirm round comes apart in it, to be asked about again there, as a behaviour
        brought back is); the merged wording goes. `restore`: merged wordings that an earlier round kept when this
        merge took them in, each with its originals' ids, which go back into it (the merge's undo)."""
        with db.atomic():
            self._parts_out(merged, Proposal.merged_into == merged.id)
            self._wordings_go([merged.id])
            self._merge_again(restore)
            self.changed()

    def take_out(self, merged: Proposal, part_ids: list[int], restore: list[tuple[Proposal, list[int]]] = ()) -> None:
        """Some of a merge's parts taken out again, each with its own responses (the undo of a merge into a merged
        behaviour that was there: Board.merge's `into`); the merge keeps the rest, and its wording its responses.
        `restore`: as split's."""
        with db.atomic():
            self._parts_out(merged, (Proposal.merged_into == merged.id) & Proposal.id.in_(part_ids))
            self._merge_again(restore)
            self.changed()

    @staticmethod
    def _parts_out(merged: Proposal, parts) -> None:
        """A merge's parts (`parts`: which) on their own again, in the merge's round: one from an earlier round is
        asked about again there, not left in the record, and is not agreed until the group agrees it."""
        Proposal.update(round=merged.round, agreed=False).where(parts, Proposal.round < merged.round).execute()
        Proposal.update(merged_into=None).where(parts).execute()

    def _merge_again(self, restore: list[tuple[Proposal, list[int]]]) -> None:
        """Merged wordings an earlier round kept, each with its parts again (an undo; see split)."""
        for into, parts in restore:
            self.merge(list(Proposal.select().where(Proposal.id.in_(parts), Proposal.board == self,
                                                    Proposal.merged_into.is_null())), into.text, into)

    def _wordings_go(self, merged_ids: list[int]) -> None:
        """Merged wordings that go (split back out, or merged again: a merge keeps one level), with what was said
        about them in this round. One the group responded to in an earlier round stays in the record instead, in
        the latest such round, with those responses: every round is kept."""
        if not merged_ids:
            return
        kept = dict(BoardResponse.select(BoardResponse.proposal, fn.MAX(BoardResponse.round))
                    .where(BoardResponse.proposal.in_(merged_ids), BoardResponse.round < self.round)
                    .group_by(BoardResponse.proposal).tuples())
        BoardResponse.delete().where(BoardResponse.proposal.in_(merged_ids), BoardResponse.round >= self.round).execute()
        for proposal_id, round_ in kept.items():   # (agreed or not as it was: the split's undo brings it back so)
            Proposal.update(round=round_).where(Proposal.id == proposal_id).execute()
        Proposal.delete().where(Proposal.id.in_([i for i in merged_ids if i not in kept])).execute()

    def make_version(self, agreed: list) -> None:
        """The agreed behaviours become the next version of the code, and the board asks everyone to commit.
        Inside the caller's transaction."""
        self.lock()   # two facilitators at once: the second numbers its version after the first
        latest = CodeVersion.latest(self)
        CodeVersion.create(board=self, number=(latest.number + 1) if latest else 1, items=json.dumps(agreed),
                           round=Board.select(Board.round).where(Board.id == self.id).scalar())
        Board.update(phase="commit").where(Board.id == self.id).execute()
        self.changed()

    def start_round(self) -> None:
        """A re-affirm round, about the code: the behaviours of its latest version come into the new round to be
        re-affirmed, and new proposals can be made in it. Nothing is deleted: the last round's responses and
        responders stay in their round (the facilitator sees them as last round's counts), and behaviours proposed
        before but not in the code stay in theirs (the facilitator can bring one back). Inside the caller's
        transaction."""
        self.lock()   # two facilitators at once: the second starts the round after the first
        self.round = Board.select(Board.round).where(Board.id == self.id).scalar() + 1
        version = CodeVersion.latest(self)
        carried = Proposal.in_code(self, version) if version else []
        Proposal.update(round=self.round).where(Proposal.id.in_([p.id for p in carried])).execute()
        Board.update(round=self.round, phase="respond", tallies_shown=False, round_started_at=utcnow()
                     ).where(Board.id == self.id).execute()
        self.changed()

    def bring_back(self, proposal: Proposal) -> None:
        """A behaviour from an earlier round asked about again in this one: its earlier responses stay in their
        round. Not in the code this round re-affirms, it is a new proposal, not agreed until the group agrees it;
        its words in that code (a merged wording split in this round, kept in the record), it comes back as the
        code's behaviours came into the round: agreed, asked "still agree?" (the board shows it with them)."""
        reaffirmed = CodeVersion.reaffirmed_in(self)
        with db.atomic():
            Proposal.update(round=self.round, agreed=bool(reaffirmed) and proposal.text in reaffirmed.behaviours).where(
                Proposal.id == proposal.id, Proposal.round < self.round).execute()
            self.changed()

    def lock(self) -> None:
        """Inside a transaction: hold this board's row until it ends (PostgreSQL; SQLite's write lock is whole)."""
        for_update(Board.select(Board.id).where(Board.id == self.id)).execute()

    def proposals_for(self, pseudonyms: bytes | None, facilitator: bool) -> list[Proposal]:
        """What this person may see, oldest first. Hidden-until-reveal: only their own, until revealed (the
        facilitator sees all). A proposal the facilitator hid stays visible to its author. Theirs are found by
        their pseudonym key (crypto.pseudonym_key; None: no session key, nothing is theirs)."""
        query = (Proposal.select(Proposal, User).join(User, JOIN.LEFT_OUTER)  # named authors in one query
                 .where(Proposal.board == self, Proposal.merged_into.is_null(),  # merged ones show in their merge
                        Proposal.round == self.round)   # earlier rounds' stay in the record
                 .order_by(Proposal.created_at, Proposal.id))
        return [p for p in query if p.shown_to(pseudonyms, facilitator)]


THEME_MAX = 60


class MadeBySomeone:
    """Made by a person whom only that person can recognise. `owner_salt` is random; `owner_tag` is the maker's
    pseudonym for it (crypto.pseudonym of "made:<salt>", under a key only their own session has). So "yours" is
    shown to them, and the database and its backups say nobody's. A named one also keeps its author, for the
    name: whose it is is public then."""

    @staticmethod
    def owner_fields(backref: str) -> tuple[ForeignKeyField, CharField, CharField]:
        """The maker's columns: `author` only when the name is shown (an anonymous one, or a merge, has none)."""
        return (ForeignKeyField(User, null=True, backref=backref, on_delete="CASCADE"),
                CharField(max_length=32, null=True), CharField(max_length=40, null=True))

    @staticmethod
    def new_owner(pseudonyms: bytes) -> dict:
        salt = secrets.token_hex(8)
        return {"owner_salt": salt, "owner_tag": crypto.pseudonym(pseudonyms, f"made:{salt}")}

    def made_by(self, pseudonyms: bytes | None) -> bool:
        return bool(pseudonyms and self.owner_tag
                    and hmac.compare_digest(crypto.pseudonym(pseudonyms, f"made:{self.owner_salt}"), self.owner_tag))

    def shown_to(self, pseudonyms: bytes | None, facilitator: bool) -> bool:
        """A facilitator sees everything; the group what is not kept from it (`kept_from_group`); its maker, theirs."""
        return facilitator or not self.kept_from_group or self.made_by(pseudonyms)

    @classmethod
    def adopt_named(cls, where, user_id: int, pseudonyms: bytes) -> bool:
        """Named ones from before pseudonyms (upgrade step 11 kept their author, for the name, but could not make
        their pseudonym): their author's session takes those `where` finds as theirs the first time it opens
        them, unless a reset without the recovery code came since (a fresh workbook owns nothing from before).
        True if it took any."""
        candidates = list(cls.select(cls.id, cls.created_at).where(where, cls.author == user_id, cls.owner_tag.is_null()))
        if not candidates:   # every board visit asks: almost always one query, and nothing to adopt
            return False
        since = EarlierKey.select(fn.MAX(EarlierKey.replaced_at)).where(EarlierKey.user == user_id).scalar()
        theirs = [row.id for row in candidates if since is None or row.created_at > since]
        for row_id in theirs:
            cls.update(**cls.new_owner(pseudonyms)).where(cls.id == row_id).execute()
        return bool(theirs)


class Proposal(MadeBySomeone, BaseModel):
    TEXT_MAX = 200

    id = IdNeverReused()   # (a merged wording is deleted when split apart again)
    board = ForeignKeyField(Board, backref="proposals", on_delete="CASCADE")
    author, owner_salt, owner_tag = MadeBySomeone.owner_fields("proposals")
    text = CharField(max_length=TEXT_MAX)
    named = BooleanField(default=False)   # as the board was when it was proposed: a setting change never unmasks
    hidden = BooleanField(default=False)
    held = BooleanField(default=False)    # proposed while hiding was on: shown to the group only once revealed
    theme = CharField(max_length=THEME_MAX, null=True)   # the facilitator groups behaviours by theme while shaping
    agreed = BooleanField(default=False)  # marked agreed by the facilitator: part of the next version of the code
    # Merging keeps provenance: the originals stay, pointing at the merged behaviour, and can be split back out.
    merged_into = ForeignKeyField("self", null=True, backref="originals", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    # The board's round it belongs to: the one it was proposed in, or the latest it came into (a behaviour in the
    # code comes into each re-affirm round; the facilitator can bring back one that is not). The board shows its
    # current round's; the others stay in the record.
    round = IntegerField(default=1)

    @property
    def kept_from_group(self) -> bool:
        return self.hidden or self.held

    @classmethod
    def in_code(cls, board: Board, version: CodeVersion) -> list[Proposal]:
        """The board's behaviours that are this version of its code (the version keeps their words): one for each
        of its behaviours, the agreed and shown ones first where two have the same words."""
        wanted = Counter(version.behaviours)
        found = []
        for proposal in (cls.select().where(cls.board == board, cls.merged_into.is_null())
                         .order_by(cls.agreed.desc(), cls.hidden, cls.round.desc(), cls.created_at, cls.id)):
            if wanted[proposal.text] > 0:
                wanted[proposal.text] -= 1
                found.append(proposal)
        return found

    def tally(self) -> dict[str, int]:
        counts = {kind: 0 for kind in BoardResponse.KINDS}
        for kind, count in (BoardResponse.select(BoardResponse.kind, fn.COUNT(BoardResponse.id))
                            .where(BoardResponse.proposal == self, BoardResponse.kind.in_(BoardResponse.KINDS))
                            .group_by(BoardResponse.kind).tuples()):
            counts[kind] = count
        return counts


class BoardResponse(BaseModel):
    """One person's response to one behaviour, kept under their pseudonym for it (`voter`: crypto.pseudonym of
    "response:<proposal id>", one per behaviour, so two of a person's responses look unrelated): nobody can tell
    from the database whose it is, nor which responses are one person's. Only an objection made with the name
    keeps the person (`user`), since the facilitator sees that name; and then only on that one behaviour."""

    KINDS = ("agree", "unsure", "object")   # what the tallies count; a response may also be PASS
    PASS = "pass"   # a choice like the others (answered, "passed"), and in no count

    proposal = ForeignKeyField(Proposal, backref="responses", on_delete="CASCADE")
    voter = CharField(max_length=40, null=True)   # null only on rows from before pseudonyms, until their next use
    user = ForeignKeyField(User, null=True, backref="responses", on_delete="CASCADE")
    kind = CharField(max_length=10)
    private = BooleanField(default=False)  # an objection that shows only as "needs discussion", never who
    round = IntegerField(default=1)        # the board's round it was given in: every round is kept

    class Meta:
        table_name = "response"   # the model's name says which response: the table's stays as it shipped
        # One response per person per behaviour in a round, kept by the database: changing it is an upsert on the
        # voter (one pseudonym per behaviour and round, see voter_for); a named objector once per round.
        indexes = ((("proposal", "voter"), True), (("proposal", "user", "round"), True))

    @staticmethod
    def voter_for(pseudonyms: bytes, proposal_id: int, round_: int = 1) -> str:
        """One pseudonym per behaviour and per round: a person's responses to the same behaviour in two rounds
        look unrelated too (one pseudonym for both would show, in the file, who changed their mind). Round 1 keeps
        the form pseudonyms had before rounds were kept, so those made then are still their makers'."""
        return crypto.pseudonym(pseudonyms, f"response:{proposal_id}" + (f":round:{round_}" if round_ > 1 else ""))

    @classmethod
    def forget_all_of(cls, user_id: int, pseudonyms: bytes | None) -> list[int]:
        """A person leaving for good (their account deleted): their responses go from every board of their
        groups, found by their pseudonyms (the database alone could not say which are theirs). Returns those
        boards' ids, to be touched so every screen shows it at once."""
        boards = dict(Board.select(Board.id, Board.round).join(Membership, on=(
            Membership.group == Board.group)).where(Membership.user == user_id).tuples())
        if pseudonyms is not None:   # every round's, each under its own pseudonyms
            for proposal_id, board_id in Proposal.select(Proposal.id, Proposal.board).where(
                    Proposal.board.in_(list(boards))).tuples():
                cls.delete().where(cls.proposal == proposal_id, cls.voter.in_(
                    [cls.voter_for(pseudonyms, proposal_id, r) for r in range(1, boards[board_id] + 1)])).execute()
            for board_id, rounds in boards.items():
                Responder.delete().where(Responder.board == board_id, Responder.tag.in_(
                    [Responder.tag_for(pseudonyms, board_id, r) for r in range(1, rounds + 1)])).execute()
        return list(boards)

    @property
    def who(self) -> str:
        """The person, as far as the board can tell them apart (per behaviour): their pseudonym, or (rows from
        before pseudonyms) their account."""
        return self.voter or f"account:{self.user_id}"


class Responder(BaseModel):
    """Someone who has responded to something on a board in a round, under their pseudonym for the board and the
    round: the board counts how many people have responded (pseudonyms per behaviour could not tell), and learns
    nothing else (no behaviour, no response, no person; nor that two rounds' responders are the same person)."""

    board = ForeignKeyField(Board, backref="responders", on_delete="CASCADE")
    tag = CharField(max_length=40)
    round = IntegerField(default=1)

    class Meta:
        indexes = ((("board", "tag"), True),)   # a tag is one round's (tag_for)

    @staticmethod
    def tag_for(pseudonyms: bytes, board_id: int, round_: int = 1) -> str:
        """As BoardResponse.voter_for: one per round, round 1's in the form made before rounds were kept."""
        return crypto.pseudonym(pseudonyms, f"responder:{board_id}" + (f":round:{round_}" if round_ > 1 else ""))


class CodeVersion(BaseModel):
    """A version of the group's code, as agreed: a snapshot of the behaviours' words, kept for good."""

    board = ForeignKeyField(Board, backref="versions", on_delete="CASCADE")
    number = IntegerField()
    # JSON list of the behaviours, in order: each a text, or [text, theme] when the group grouped them by theme
    items = TextField()
    made_at = DateTimeField(default=utcnow)
    round = IntegerField(default=1)   # the board's round it was agreed in: the next round re-affirms it

    class Meta:
        indexes = ((("board", "number"), True),)

    @property
    def behaviours(self) -> list[str]:
        return [item[0] if isinstance(item, list) else item for item in json.loads(self.items)]

    @property
    def by_theme(self) -> list[tuple[str | None, int, list[str]]]:
        """The behaviours under their themes, in the order the themes first appear, those without a theme last in
        a group of their own (one unnamed group if none has a theme). With each group, the number of its first
        behaviour: the code is numbered through, from 1, across the groups."""
        groups: dict[str | None, list[str]] = {}
        for item in json.loads(self.items):
            text, theme = (item if isinstance(item, list) else (item, None))
            groups.setdefault(theme, []).append(text)
        numbered, start = [], 1
        for theme in sorted(groups, key=lambda theme: theme is None):   # stable: the themes keep their order
            numbered.append((theme, start, groups[theme]))
            start += len(groups[theme])
        return numbered

    @classmethod
    def latest(cls, board) -> CodeVersion | None:
        return first_written_once("latest code", lambda board_id: (
            cls.select().where(cls.board == board_id).order_by(cls.number.desc())), board.id)

    def previous(self) -> CodeVersion | None:
        return (CodeVersion.select().where(CodeVersion.board == self.board_id, CodeVersion.number < self.number)
                .order_by(CodeVersion.number.desc()).first())

    def changes_since(self, earlier: CodeVersion) -> dict[str, list[str]]:
        """What this version has that the earlier one had not, and the other way round: a reworded behaviour is
        in both lists, as its new and its old words."""
        now, before = self.behaviours, earlier.behaviours
        return {"added": [b for b in now if b not in before], "removed": [b for b in before if b not in now]}

    @classmethod
    def reaffirmed_in(cls, board: Board) -> CodeVersion | None:
        """The version the board's round re-affirms: the latest agreed before it (None in the first round)."""
        return first_written_once("code reaffirmed", lambda board_id, round_: (
            cls.select().where(cls.board == board_id, cls.round < round_).order_by(cls.number.desc())),
            board.id, board.round)

    @classmethod
    def of_group(cls, group) -> CodeVersion | None:
        """The group's current code (its latest version), if it has agreed one."""
        return cls.select().join(Board).where(Board.group == group).order_by(cls.number.desc()).first()

    @classmethod
    def awaiting(cls, group, user) -> CodeVersion | None:
        """The group's current code, if this person has not committed to it yet (people who join later too)."""
        version = cls.of_group(group)
        if version and not Commitment.select().where(Commitment.version == version,
                                                     Commitment.user == user.id).exists():
            return version
        return None


class Commitment(BaseModel):
    """One person's commitment to one version of the code. `signed`: their own choice to sign it with their name
    (shown with the code, never on the projector); otherwise they are counted, without it."""

    version = ForeignKeyField(CodeVersion, backref="commitments", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="commitments", on_delete="CASCADE")
    committed_at = DateTimeField(default=utcnow)
    signed = BooleanField(default=False)

    class Meta:
        indexes = ((("version", "user"), True),)  # one commitment per person per version: a double tap counts once


def forget_account(user: User, pseudonyms: bytes | None) -> None:
    """A person leaving for good: their responses go from every board of their groups (found by their pseudonyms),
    a group only they were in goes with them, and their account, memberships, answers, snapshots and named
    proposals follow (ON DELETE CASCADE). Every screen of those boards shows it at once, not at the next change
    (which would tell whose it was)."""
    with db.atomic():
        boards = BoardResponse.forget_all_of(user.id, pseudonyms)
        for group in Group.for_user(user):
            if group.memberships().count() == 1:
                group.delete_instance()
        user.delete_instance()
        Board.update(version=Board.version + 1).where(Board.id.in_(boards)).execute()
    checkpoint()
