"""The code of behaviour board: one per group, live on every screen through its version counter."""

from __future__ import annotations

import hmac
import json
import secrets

from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from .. import crypto
from ..db import for_update
from .accounts import EarlierKey, User
from .base import BaseModel, Live, utcnow
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
    # When this round of responses began (the board was made, or a re-affirm round started): see responds_later.
    round_started_at = DateTimeField(null=True, default=utcnow)

    @property
    def holding(self) -> bool:
        """New proposals are held back from the group until the facilitator reveals them."""
        return self.hide_until_reveal and not self.revealed

    @classmethod
    def touch(cls, group) -> None:
        """Something every screen of the board shows changed outside it (a join code, who facilitates)."""
        cls.update(version=cls.version + 1).where(cls.group == group).execute()

    @classmethod
    def for_group(cls, group: Group) -> Board:
        return cls.found_or_made(group=group)

    def responds_later(self, user_id: int) -> bool:
        """Whether this person's workbook started afresh this round (a reset without their recovery code): their
        responses from before are under pseudonyms of the old key, which nobody can make any more, and still
        count; responding again would count them twice. They respond again from the next round."""
        return PasswordReset.select().where(
            PasswordReset.user == user_id, PasswordReset.kept_workbook == False,   # noqa: E712
            PasswordReset.at > (self.round_started_at or utcnow())).exists()

    def lock(self) -> None:
        """Inside a transaction: hold this board's row until it ends (PostgreSQL; SQLite's write lock is whole)."""
        for_update(Board.select(Board.id).where(Board.id == self.id)).execute()

    def proposals_for(self, pseudonyms: bytes | None, facilitator: bool) -> list[Proposal]:
        """What this person may see, oldest first. Hidden-until-reveal: only their own, until revealed (the
        facilitator sees all). A proposal the facilitator hid stays visible to its author. Theirs are found by
        their pseudonym key (crypto.pseudonym_key; None: no session key, nothing is theirs)."""
        query = (Proposal.select(Proposal, User).join(User, JOIN.LEFT_OUTER)  # named authors in one query
                 .where(Proposal.board == self, Proposal.merged_into.is_null())  # merged ones show in their merge
                 .order_by(Proposal.created_at, Proposal.id))
        return [p for p in query if facilitator or not (p.hidden or p.held) or p.made_by(pseudonyms)]


THEME_MAX = 60


class MadeBySomeone:
    """Made by a person whom only that person can recognise. `owner_salt` is random; `owner_tag` is the maker's
    pseudonym for it (crypto.pseudonym of "made:<salt>", under a key only their own session has). So "yours" is
    shown to them, and the database and its backups say nobody's. A named one also keeps its author, for the
    name: whose it is is public then."""

    @staticmethod
    def new_owner(pseudonyms: bytes) -> dict:
        salt = secrets.token_hex(8)
        return {"owner_salt": salt, "owner_tag": crypto.pseudonym(pseudonyms, f"made:{salt}")}

    def made_by(self, pseudonyms: bytes | None) -> bool:
        return bool(pseudonyms and self.owner_tag
                    and hmac.compare_digest(crypto.pseudonym(pseudonyms, f"made:{self.owner_salt}"), self.owner_tag))

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

    board = ForeignKeyField(Board, backref="proposals", on_delete="CASCADE")
    # Only for a named proposal (its name is shown): an anonymous one, or a merge, has none (see MadeBySomeone).
    author = ForeignKeyField(User, null=True, backref="proposals", on_delete="CASCADE")
    owner_salt = CharField(max_length=32, null=True)
    owner_tag = CharField(max_length=40, null=True)
    text = CharField(max_length=TEXT_MAX)
    named = BooleanField(default=False)   # as the board was when it was proposed: a setting change never unmasks
    hidden = BooleanField(default=False)
    held = BooleanField(default=False)    # proposed while hiding was on: shown to the group only once revealed
    theme = CharField(max_length=THEME_MAX, null=True)   # the facilitator groups behaviours by theme while shaping
    agreed = BooleanField(default=False)  # marked agreed by the facilitator: part of the next version of the code
    # Merging keeps provenance: the originals stay, pointing at the merged behaviour, and can be split back out.
    merged_into = ForeignKeyField("self", null=True, backref="originals", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    def tally(self) -> dict[str, int]:
        counts = {kind: 0 for kind in BoardResponse.KINDS}
        for kind, count in (BoardResponse.select(BoardResponse.kind, fn.COUNT(BoardResponse.id)).where(BoardResponse.proposal == self)
                            .group_by(BoardResponse.kind).tuples()):
            counts[kind] = count
        return counts


class BoardResponse(BaseModel):
    """One person's response to one behaviour, kept under their pseudonym for it (`voter`: crypto.pseudonym of
    "response:<proposal id>", one per behaviour, so two of a person's responses look unrelated): nobody can tell
    from the database whose it is, nor which responses are one person's. Only an objection made with the name
    keeps the person (`user`), since the facilitator sees that name; and then only on that one behaviour."""

    KINDS = ("agree", "unsure", "object")

    proposal = ForeignKeyField(Proposal, backref="responses", on_delete="CASCADE")
    voter = CharField(max_length=40, null=True)   # null only on rows from before pseudonyms, until their next use
    user = ForeignKeyField(User, null=True, backref="responses", on_delete="CASCADE")
    kind = CharField(max_length=10)
    private = BooleanField(default=False)  # an objection that shows only as "needs discussion", never who

    class Meta:
        table_name = "response"   # the model's name says which response: the table's stays as it shipped
        # One response per person per behaviour, kept by the database: changing it is an upsert on the voter.
        indexes = ((("proposal", "voter"), True), (("proposal", "user"), True))

    @staticmethod
    def voter_for(pseudonyms: bytes, proposal_id: int) -> str:
        return crypto.pseudonym(pseudonyms, f"response:{proposal_id}")

    @classmethod
    def forget_all_of(cls, user_id: int, pseudonyms: bytes | None) -> list[int]:
        """A person leaving for good (their account deleted): their responses go from every board of their
        groups, found by their pseudonyms (the database alone could not say which are theirs). Returns those
        boards' ids, to be touched so every screen shows it at once."""
        boards = [board_id for (board_id,) in Board.select(Board.id).join(Membership, on=(
            Membership.group == Board.group)).where(Membership.user == user_id).tuples()]
        if pseudonyms is not None:
            for (proposal_id,) in Proposal.select(Proposal.id).where(Proposal.board.in_(boards)).tuples():
                cls.delete().where(cls.proposal == proposal_id,
                                   cls.voter == cls.voter_for(pseudonyms, proposal_id)).execute()
            for board_id in boards:
                Responder.delete().where(Responder.board == board_id,
                                         Responder.tag == Responder.tag_for(pseudonyms, board_id)).execute()
        return boards

    @property
    def who(self) -> str:
        """The person, as far as the board can tell them apart (per behaviour): their pseudonym, or (rows from
        before pseudonyms) their account."""
        return self.voter or f"account:{self.user_id}"


class Responder(BaseModel):
    """Someone who has responded to something on a board this round, under their pseudonym for the board: the
    board counts how many people have responded (pseudonyms per behaviour could not tell), and learns nothing
    else (no behaviour, no response, no person)."""

    board = ForeignKeyField(Board, backref="responders", on_delete="CASCADE")
    tag = CharField(max_length=40)

    class Meta:
        indexes = ((("board", "tag"), True),)

    @staticmethod
    def tag_for(pseudonyms: bytes, board_id: int) -> str:
        return crypto.pseudonym(pseudonyms, f"responder:{board_id}")


class CodeVersion(BaseModel):
    """A version of the group's code, as agreed: a snapshot of the behaviours' words, kept for good."""

    board = ForeignKeyField(Board, backref="versions", on_delete="CASCADE")
    number = IntegerField()
    # JSON list of the behaviours, in order: each a text, or [text, theme] when the group grouped them by theme
    items = TextField()
    made_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("board", "number"), True),)

    @property
    def behaviours(self) -> list[str]:
        return [item[0] if isinstance(item, list) else item for item in json.loads(self.items)]

    @property
    def by_theme(self) -> list[tuple[str | None, list[str]]]:
        """The behaviours under their themes, in the order the themes first appear (one unnamed group if none)."""
        groups: dict[str | None, list[str]] = {}
        for item in json.loads(self.items):
            text, theme = (item if isinstance(item, list) else (item, None))
            groups.setdefault(theme, []).append(text)
        return list(groups.items())

    @classmethod
    def latest(cls, board) -> CodeVersion | None:
        return cls.select().where(cls.board == board).order_by(cls.number.desc()).first()

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
    version = ForeignKeyField(CodeVersion, backref="commitments", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="commitments", on_delete="CASCADE")
    committed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("version", "user"), True),)  # one commitment per person per version: a double tap counts once
