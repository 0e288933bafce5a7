"""Tables and the queries on them. The database keeps the invariants (unique indexes), not `if`s."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import unicodedata
from datetime import datetime, timedelta, timezone

from flask_login import UserMixin
from peewee import (
    BlobField, BooleanField, Case, CharField, DateField, DateTimeField, DoubleField, ForeignKeyField, IntegerField,
    Model, TextField, fn,
)

from . import crypto, passwords
from .db import db, for_update

FACILITATOR = "facilitator"
PARTICIPANT = "participant"

# No 0/O, 1/I/L: a join code is read off a projector and typed on a phone.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6

NAME_MAX = 40
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def normalise_name(name: str) -> str:
    """Names as people type them: NFC, single spaces, no control characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return " ".join(name.split())


def one_line(text: str) -> str:
    """A line of typed text as it is kept: single spaces, and no NUL character (PostgreSQL cannot store it in
    text, and it means nothing to a reader), so both databases keep the same words."""
    return " ".join((text or "").replace("\x00", "").split())


def name_key(name: str) -> str:
    # "Sam", "sam" and "SAM " are one person: uniqueness and login ignore case and spacing.
    return normalise_name(name).casefold()


def normalise_join_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def format_join_code(code: str) -> str:
    return f"{code[:3]}-{code[3:]}" if code else ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class User(UserMixin, BaseModel):
    name = CharField(max_length=NAME_MAX)
    name_key = CharField(max_length=NAME_MAX * 4, unique=True)
    password_hash = CharField()
    role = CharField(max_length=20, default=PARTICIPANT)
    # Bumped on logout, password change, reset and removal: cookies carrying an older number stop working.
    session_version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    # The workbook's data key, only ever stored wrapped (see crypto.py). key_generation counts fresh keys
    # made by a reset without the recovery code; answers remember which generation sealed them.
    key_salt = BlobField(null=True)
    key_by_password = BlobField(null=True)
    key_by_recovery = BlobField(null=True)
    key_generation = IntegerField(default=1)

    @property
    def is_facilitator(self) -> bool:
        return self.role == FACILITATOR

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @classmethod
    def from_session_id(cls, session_id: str) -> User | None:
        user_id, _, version = (session_id or "").partition(":")
        if not (user_id.isdigit() and version.isdigit()):
            return None
        return cls.get_or_none((cls.id == int(user_id)) & (cls.session_version == int(version)))

    @classmethod
    def by_name(cls, name: str) -> User | None:
        return cls.get_or_none(cls.name_key == name_key(name))

    @classmethod
    def name_taken(cls, name: str) -> bool:
        return cls.select().where(cls.name_key == name_key(name)).exists()

    @classmethod
    def create_account(cls, name: str, password: str, role: str = PARTICIPANT) -> User:
        """A new account with a new workbook key. The key and the recovery code are on the returned object
        (`data_key`, `recovery_code`) for this request only: neither is stored in readable form."""
        name = normalise_name(name)
        user = cls(name=name, name_key=name_key(name), password_hash=passwords.hash(password), role=role)
        user.new_workbook_key(password)
        user.save()
        return user

    @classmethod
    def authenticate(cls, name: str, password: str) -> User | None:
        user = cls.by_name(name)
        if user is None:
            passwords.waste_time()  # the same cost either way: timing does not reveal which names exist
            return None
        if not passwords.verify(user.password_hash, password):
            return None
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash(password)
            user.save(only=[User.password_hash])
        return user

    @classmethod
    def facilitators(cls):
        return cls.select().where(cls.role == FACILITATOR).order_by(fn.lower(cls.name))

    @classmethod
    def any_facilitator(cls) -> bool:
        return cls.select().where(cls.role == FACILITATOR).exists()

    # Workbook keys. A context string binds each wrapped key to its owner and purpose.

    def _wrap_context(self, purpose: str) -> str:
        return f"wrap:{self.key_generation}:{purpose}"

    def new_workbook_key(self, password: str) -> None:
        """A fresh data key, wrapped by the password and by a new recovery code (kept on self, unsaved)."""
        self.data_key = crypto.new_data_key()
        self.recovery_code = crypto.new_recovery_code()
        self.key_salt = crypto.new_salt()
        self._wrap(password)

    def _wrap(self, password: str) -> None:
        self.key_by_password = crypto.seal(crypto.password_key(password, self.key_salt), self.data_key,
                                           self._wrap_context("password"))
        self.rewrap_recovery()

    def rewrap_recovery(self) -> None:
        """Wrap self.data_key under self.recovery_code (a new code replaces the old one)."""
        self.key_by_recovery = crypto.seal(crypto.recovery_key(self.recovery_code, self.key_salt), self.data_key,
                                           self._wrap_context("recovery"))

    def unlock_with_password(self, password: str) -> bytes:
        """The data key, opened with the password (raises crypto.CannotOpen if it does not open)."""
        key = crypto.password_key(password, self.key_salt)
        return crypto.open_sealed(key, self.key_by_password, self._wrap_context("password"))

    def unlock_with_recovery_code(self, code: str) -> bytes:
        key = crypto.recovery_key(code, self.key_salt)
        return crypto.open_sealed(key, self.key_by_recovery, self._wrap_context("recovery"))

    def set_password(self, password: str, data_key: bytes) -> None:
        """A new password; the same workbook key is wrapped again under it."""
        self.password_hash = passwords.hash(password)
        self.key_by_password = crypto.seal(crypto.password_key(password, self.key_salt), data_key,
                                           self._wrap_context("password"))
        self.data_key = data_key
        self.end_sessions()

    def start_fresh_workbook(self, password: str) -> None:
        """After a reset without the recovery code: a new, empty workbook. The old key's recovery wrap is kept
        (EarlierKey), so the old answers come back if the old recovery code turns up."""
        if self.key_by_recovery is not None:
            EarlierKey.create(user=self, generation=self.key_generation, key_salt=self.key_salt,
                              key_by_recovery=self.key_by_recovery)
            self.key_generation += 1
        # What was marked or shared came from the workbook now locked away: the fresh one starts with none.
        Share.delete().where(Share.user == self.id).execute()
        self.password_hash = passwords.hash(password)
        self.new_workbook_key(password)
        self.end_sessions()

    @property
    def has_workbook_key(self) -> bool:
        return self.key_by_password is not None

    def end_sessions(self) -> None:
        """Sign this person out everywhere, by making every existing cookie stale."""
        self.session_version += 1
        self.save()


class Group(BaseModel):
    name = CharField(max_length=80)
    programme = CharField(max_length=80)
    starts_on = DateField(null=True)
    ends_on = DateField(null=True)
    join_code = CharField(max_length=JOIN_CODE_LENGTH, unique=True, null=True)
    join_code_expires_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def create_for(cls, facilitator: User, code_days: int, **fields) -> Group:
        with db.atomic():
            group = cls.create(**fields)
            Membership.create(user=facilitator, group=group, role=FACILITATOR)
            group.rotate_join_code(code_days)
        return group

    @classmethod
    def for_user(cls, user: User):
        return (cls.select(cls, Membership.role.alias("my_role"))
                .join(Membership).where(Membership.user == user)
                .order_by(cls.created_at.desc()).objects())

    @classmethod
    def by_join_code(cls, code: str) -> Group | None:
        code = normalise_join_code(code)
        if len(code) != JOIN_CODE_LENGTH:
            return None
        return cls.get_or_none((cls.join_code == code) & (cls.join_code_expires_at > utcnow()))

    @property
    def join_code_display(self) -> str:
        return format_join_code(self.join_code)

    @property
    def join_code_active(self) -> bool:
        return bool(self.join_code) and self.join_code_expires_at > utcnow()

    def rotate_join_code(self, days: int) -> None:
        """A fresh code; the old one (and links and QR codes made from it) stops working at once."""
        self.join_code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
        self.join_code_expires_at = utcnow() + timedelta(days=days)
        self.save()

    def close_join_code(self) -> None:
        self.join_code = None
        self.join_code_expires_at = None
        self.save()

    def memberships(self, role: str | None = None):
        query = (Membership.select(Membership, User).join(User)
                 .where(Membership.group == self).order_by(fn.lower(User.name)))
        return query.where(Membership.role == role) if role else query


class Membership(BaseModel):
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    group = ForeignKeyField(Group, backref="membership_rows", on_delete="CASCADE")
    role = CharField(max_length=20, default=PARTICIPANT)
    joined_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "group"), True),)  # one membership per person per group

    @classmethod
    def of(cls, user, group) -> Membership | None:
        if not getattr(user, "is_authenticated", False):
            return None
        return cls.get_or_none((cls.user == user.id) & (cls.group == group))

    @classmethod
    def join(cls, user: User, group: Group, role: str = PARTICIPANT) -> Membership:
        """Idempotent: a double submit or a second tab joins once."""
        cls.insert(user=user, group=group, role=role).on_conflict_ignore().execute()
        return cls.of(user, group)


class OneTimeToken(BaseModel):
    """Setup links for facilitators and reset codes for participants. Only a hash of the secret is stored."""

    SETUP = "facilitator-setup"
    RESET = "password-reset"

    purpose = CharField(max_length=40)
    token_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")          # whose password a reset is for
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    expires_at = DateTimeField()
    used = BooleanField(default=False)

    @classmethod
    def issue(cls, purpose: str, hours: int, user: User | None = None, created_by: User | None = None,
              token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(24)
        cls.create(purpose=purpose, token_hash=_digest(token), user=user, created_by=created_by,
                   expires_at=utcnow() + timedelta(hours=hours))
        return token

    @classmethod
    def new_reset_code(cls, user: User, created_by: User, hours: int) -> str:
        """Eight characters a facilitator can read out; returned formatted as ABCD-EFGH."""
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(8))
        with db.atomic():
            # One working code per person: a new one (or the page reloaded) replaces any earlier one.
            cls.delete().where((cls.purpose == cls.RESET) & (cls.user == user) & (cls.used == False)).execute()  # noqa: E712
            cls.issue(cls.RESET, hours, user=user, created_by=created_by, token=code)
        return f"{code[:4]}-{code[4:]}"

    @classmethod
    def find(cls, purpose: str, token: str) -> OneTimeToken | None:
        return cls.get_or_none((cls.purpose == purpose) & (cls.token_hash == _digest(token or "")) &
                               (cls.used == False) & (cls.expires_at > utcnow()))  # noqa: E712

    def spend(self) -> bool:
        """Mark used; False if another request spent it first (a double submit)."""
        return bool(OneTimeToken.update(used=True)
                    .where((OneTimeToken.id == self.id) & (OneTimeToken.used == False))  # noqa: E712
                    .execute())


class Throttle(BaseModel):
    """Failure counters in a fixed window, kept in the database so every worker process shares them."""

    KEY_MAX = 200

    key = CharField(max_length=KEY_MAX, unique=True)
    count = IntegerField(default=0)
    # Seconds since 1970: a double (PostgreSQL's REAL, which FloatField gives, would round them to ~2 minutes).
    window_start = DoubleField()

    @classmethod
    def _fit(cls, key: str) -> str:
        # A key holds what someone typed (a name at login): PostgreSQL refuses strings longer than the column.
        return key if len(key) <= cls.KEY_MAX else f"sha256:{_digest(key)}"

    @classmethod
    def blocked(cls, key: str, limit: int, window: int) -> bool:
        row = cls.get_or_none(cls.key == cls._fit(key))
        return bool(row) and row.window_start > time.time() - window and row.count >= limit

    @classmethod
    def fail(cls, key: str, window: int) -> None:
        """Count one failure, in one statement: failures arriving at once in several workers all count (a
        read-then-write would lose some under PostgreSQL's READ COMMITTED)."""
        now = time.time()
        expired = cls.window_start <= now - window   # the row's old window: a new one starts at 1
        cls.insert(key=cls._fit(key), count=1, window_start=now).on_conflict(
            conflict_target=[cls.key],
            update={cls.count: Case(None, [(expired, 1)], cls.count + 1),
                    cls.window_start: Case(None, [(expired, now)], cls.window_start)}).execute()

    @classmethod
    def clear(cls, key: str) -> None:
        cls.delete().where(cls.key == cls._fit(key)).execute()


class EarlierKey(BaseModel):
    """A workbook key replaced by a reset without the recovery code. Only its recovery wrap is kept, so the
    earlier answers stay unreadable until their owner brings the old recovery code."""

    user = ForeignKeyField(User, backref="earlier_keys", on_delete="CASCADE")
    generation = IntegerField()
    key_salt = BlobField()
    key_by_recovery = BlobField()
    replaced_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "generation"), True),)

    def unlock(self, code: str) -> bytes:
        key = crypto.recovery_key(code, self.key_salt)
        return crypto.open_sealed(key, self.key_by_recovery, f"wrap:{self.generation}:recovery")


class Answer(BaseModel):
    """One answer in someone's workbook, sealed with their data key. `place` is the exercise's stable path in
    content/ (programme/module/session/block[/part]), so edited wording keeps its answer."""

    user = ForeignKeyField(User, backref="answers", on_delete="CASCADE")
    place = CharField(max_length=400)
    sealed = BlobField()
    key_generation = IntegerField()
    revision = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        # One answer per person per place (per key generation: a fresh workbook after a reset starts empty
        # beside the old, still-locked one).
        indexes = ((("user", "place", "key_generation"), True),)


class LadderSnapshot(BaseModel):
    """A dated marking of the ladder of change: which statements felt real then. Sealed like answers."""

    user = ForeignKeyField(User, backref="ladder_snapshots", on_delete="CASCADE")
    place = CharField(max_length=400)
    sealed = BlobField()
    key_generation = IntegerField()
    taken_at = DateTimeField(default=utcnow)


class Share(BaseModel):
    """An answer its owner chose to bring out of the private workbook: marked "to discuss" (a list for
    themselves), or shared with the facilitators of one of their groups. A shared copy is plain text, because
    its owner chose to show it; it belongs to the membership, so leaving or being removed withdraws it."""

    DISCUSS = "discuss"
    FACILITATOR = "facilitator"

    user = ForeignKeyField(User, backref="shares", on_delete="CASCADE")
    place = CharField(max_length=400)
    kind = CharField(max_length=20)
    membership = ForeignKeyField(Membership, null=True, backref="shares", on_delete="CASCADE")
    text = TextField(null=True)
    shared_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "place", "kind"), True),)

    @classmethod
    def of(cls, user, under: str = ""):
        query = cls.select().where(cls.user == user.id)
        return query.where(cls.place.startswith(under + "/")) if under else query

    @classmethod
    def for_group(cls, group):
        return (cls.select(cls, Membership, User).join(Membership).join(User)
                .where(Membership.group == group, cls.kind == cls.FACILITATOR)
                .order_by(cls.shared_at.desc()))


ALL_MODELS = [User, Group, Membership, OneTimeToken, Throttle]
WORKBOOK_MODELS = [EarlierKey, Answer, LadderSnapshot, Share]


# ---------------------------------------------------------------------------------------------------
# The code of behaviour board: one per group, live on every screen through its version counter.


class Board(BaseModel):
    PHASES = ("propose", "shape", "respond", "agree", "commit")

    group = ForeignKeyField(Group, unique=True, backref="boards", on_delete="CASCADE")
    phase = CharField(max_length=20, default="propose")
    named = BooleanField(default=False)               # new proposals show their author's name
    hide_until_reveal = BooleanField(default=False)   # people write without seeing each other's proposals...
    revealed = BooleanField(default=True)             # ...until the facilitator reveals them all at once
    tallies_shown = BooleanField(default=False)       # responses are counted out of sight until revealed
    blank = BooleanField(default=False)               # the projector shows nothing
    # Bumped by every change. Screens poll with the version they show; the database, not a process, holds it,
    # so it stays right with several worker processes.
    version = IntegerField(default=1)

    @classmethod
    def for_group(cls, group: Group) -> Board:
        board = cls.get_or_none(cls.group == group)   # a read: polls must not write
        if board is None:
            cls.insert(group=group).on_conflict_ignore().execute()
            board = cls.get(cls.group == group)
        return board

    def lock(self) -> None:
        """Inside a transaction: hold this board's row until it ends (PostgreSQL; SQLite's write lock is whole)."""
        for_update(Board.select(Board.id).where(Board.id == self.id)).execute()

    def changed(self) -> None:
        Board.update(version=Board.version + 1).where(Board.id == self.id).execute()
        self.version = Board.get_by_id(self.id).version

    def proposals_for(self, user, facilitator: bool):
        """What this person may see, oldest first. Hidden-until-reveal: only their own, until revealed (the
        facilitator sees all). A proposal the facilitator hid stays visible to its author."""
        query = (Proposal.select(Proposal, User).join(User)  # authors in one query
                 .where(Proposal.board == self, Proposal.merged_into.is_null())  # merged ones show in their merge
                 .order_by(Proposal.created_at, Proposal.id))
        if facilitator:
            return query
        if self.hide_until_reveal and not self.revealed:
            return query.where(Proposal.author == user.id)
        return query.where((Proposal.hidden == False) | (Proposal.author == user.id))  # noqa: E712


class Proposal(BaseModel):
    TEXT_MAX = 200

    board = ForeignKeyField(Board, backref="proposals", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="proposals", on_delete="CASCADE")
    text = CharField(max_length=TEXT_MAX)
    named = BooleanField(default=False)   # as the board was when it was proposed: a setting change never unmasks
    hidden = BooleanField(default=False)
    agreed = BooleanField(default=False)  # marked agreed by the facilitator: part of the next version of the code
    # Merging keeps provenance: the originals stay, pointing at the merged behaviour, and can be split back out.
    merged_into = ForeignKeyField("self", null=True, backref="originals", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    def tally(self) -> dict[str, int]:
        counts = {kind: 0 for kind in Response.KINDS}
        for kind, count in (Response.select(Response.kind, fn.COUNT(Response.id)).where(Response.proposal == self)
                            .group_by(Response.kind).tuples()):
            counts[kind] = count
        return counts


class Response(BaseModel):
    KINDS = ("agree", "unsure", "object")

    proposal = ForeignKeyField(Proposal, backref="responses", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="responses", on_delete="CASCADE")
    kind = CharField(max_length=10)
    private = BooleanField(default=False)  # an objection that shows only as "needs discussion", never who

    class Meta:
        indexes = ((("proposal", "user"), True),)  # one response per person per behaviour: changing it is an upsert


class CodeVersion(BaseModel):
    """A version of the group's code, as agreed: a snapshot of the behaviours' words, kept for good."""

    board = ForeignKeyField(Board, backref="versions", on_delete="CASCADE")
    number = IntegerField()
    items = TextField()   # JSON list of the behaviours' texts, in order
    made_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("board", "number"), True),)

    @property
    def behaviours(self) -> list[str]:
        return json.loads(self.items)

    @classmethod
    def latest(cls, board) -> CodeVersion | None:
        return cls.select().where(cls.board == board).order_by(cls.number.desc()).first()


class Commitment(BaseModel):
    version = ForeignKeyField(CodeVersion, backref="commitments", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="commitments", on_delete="CASCADE")
    committed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("version", "user"), True),)  # one commitment per person per version: a double tap counts once


BOARD_MODELS = [Board, Proposal, Response, CodeVersion, Commitment]
