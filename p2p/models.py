"""Tables and the queries on them. The database keeps the invariants (unique indexes), not `if`s."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask_login import UserMixin
from peewee import (
    JOIN, BlobField, BooleanField, Case, CharField, DateField, DateTimeField, DoubleField, ForeignKeyField,
    IntegerField, IntegrityError, Model, TextField, fn,
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
        if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
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
        """Sign this person out everywhere, by making every existing cookie stale, and forget the secrets of their
        sign-ins (Login), so a copied cookie cannot open their workbook key any more."""
        self.session_version += 1
        self.save()
        Login.end_all(self)


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
                .join(Membership).where(Membership.user == user, HeldMembership.not_held(Membership))
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
        Board.touch(self)   # the projector shows the code

    def close_join_code(self) -> None:
        self.join_code = None
        self.join_code_expires_at = None
        self.save()
        Board.touch(self)

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
        """This person's membership of the group, or None. One on hold after a reset (HeldMembership) is None: the
        group answers as if they were not in it until it is confirmed."""
        if not getattr(user, "is_authenticated", False):
            return None
        return cls.get_or_none((cls.user == user.id) & (cls.group == group) & HeldMembership.not_held(cls))

    @classmethod
    def lead_of(cls, group) -> int | None:
        """The lead facilitator's user id: the longest-standing facilitator (who made the group, while still in it)."""
        return (cls.select(cls.user).where((cls.group == group) & (cls.role == FACILITATOR))
                .order_by(cls.joined_at, cls.id).scalar())

    @classmethod
    def join(cls, user: User, group: Group, role: str = PARTICIPANT) -> Membership:
        """Idempotent: a double submit or a second tab joins once."""
        if cls.insert(user=user, group=group, role=role).on_conflict_ignore().execute():
            Board.touch(group)   # the board counts who has committed out of how many
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
    """Failure counters in a fixed window, kept in the database so every worker process shares them.

    A counter is found by a keyed hash of what it counts ("login:" and the name typed, "join:" and an address):
    the table never holds what was typed (once, a password typed into the name box), and without the server's
    secret its hashes say nothing. Counters whose window ended a day ago are deleted."""

    KEY_MAX = 200
    FORGET_AFTER = 24 * 3600
    _secret = b""   # from the server's secret (configure, at start)

    key = CharField(max_length=KEY_MAX, unique=True)
    count = IntegerField(default=0)
    # Seconds since 1970: a double (PostgreSQL's REAL, which FloatField gives, would round them to ~2 minutes).
    window_start = DoubleField()
    next_at = DoubleField(default=0)   # take(): no attempt before this moment

    @classmethod
    def configure(cls, server_secret: str) -> None:
        cls._secret = hmac.new(server_secret.encode(), b"p2p: throttle keys", hashlib.sha256).digest()

    @classmethod
    def hashed(cls, key: str) -> str:
        return hmac.new(cls._secret, key.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def blocked(cls, key: str, limit: int, window: int) -> bool:
        row = cls.get_or_none(cls.key == cls.hashed(key))
        return bool(row) and row.window_start > time.time() - window and row.count >= limit

    @classmethod
    def fail(cls, key: str, window: int) -> None:
        """Count one failure, in one statement: failures arriving at once in several workers all count (a
        read-then-write would lose some under PostgreSQL's READ COMMITTED)."""
        now = time.time()
        cls.delete().where(cls.window_start < now - cls.FORGET_AFTER).execute()
        expired = cls.window_start <= now - window   # the row's old window: a new one starts at 1
        cls.insert(key=cls.hashed(key), count=1, window_start=now).on_conflict(
            conflict_target=[cls.key],
            update={cls.count: Case(None, [(expired, 1)], cls.count + 1),
                    cls.window_start: Case(None, [(expired, now)], cls.window_start)}).execute()

    @classmethod
    def clear(cls, key: str) -> None:
        cls.delete().where(cls.key == cls.hashed(key)).execute()

    @classmethod
    def count_of(cls, key: str, window: int) -> int:
        row = cls.get_or_none(cls.key == cls.hashed(key))
        return row.count if row and row.window_start > time.time() - window else 0

    @classmethod
    def take(cls, key: str, free: int, window: int, longest: int = 60) -> int:
        """One attempt (a password, a join code) for `key`: 0 if it may go ahead, counted already, before any
        expensive check; else the whole seconds still to wait, and it is not counted. The first `free` attempts in
        a window go at once; after them each must wait twice as long after the one before (1 s, 2 s, 4 s … up to
        `longest`): guessing slows to a crawl, and nobody is ever locked out for long (a person whose name
        someone else is guessing still gets in within a minute). One conditional statement: attempts made at
        the same moment, in several threads or workers, each see the others' (30 at once used to get 17 checks
        past a limit of 10)."""
        now = time.time()
        expired = cls.window_start <= now - window
        count = Case(None, [(expired, 1)], cls.count + 1)   # this attempt's number in its window
        steps = range(math.ceil(math.log2(longest)) + 1)
        wait = Case(None, [(count < free, 0), *((count == free + i, min(2 ** i, longest)) for i in steps)], longest)
        first = cls.insert(key=cls.hashed(key), count=1, window_start=now, next_at=now + (0 if free > 1 else 1))
        taken = db.execute(first.on_conflict(
            conflict_target=[cls.key], where=expired | (cls.next_at <= now),
            update={cls.count: count, cls.window_start: Case(None, [(expired, now)], cls.window_start),
                    cls.next_at: wait + now})).rowcount
        if taken:
            return 0
        return max(1, math.ceil(cls.get(cls.key == cls.hashed(key)).next_at - now))

    @classmethod
    def give_back(cls, key: str) -> None:
        """An attempt that turned out right (the right code, the right password) does not count against anyone:
        a room logging in from one address uses none of its budget."""
        cls.update(count=Case(None, [(cls.count > 0, cls.count - 1)], 0), next_at=0).where(
            cls.key == cls.hashed(key)).execute()


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


class SentRequest(BaseModel):
    """A create a page sent, by the random key the page sent with it (REQUEST_KEY): sent again after its answer
    was lost (a Wi-Fi drop, a double tap, a browser's "resend"), it is recognised and answered as the first one
    was, instead of being made twice. Holds no person and no content, so nothing here links anyone to what they
    sent (an anonymous proposal stays anonymous); `result` is where the first answer sent the page, when that
    matters (a new group). Kept for a day: a page is re-sent within minutes."""

    KEEP = timedelta(days=1)

    key = CharField(max_length=64, unique=True)
    result = CharField(max_length=400, null=True)
    sent_at = DateTimeField(default=utcnow, index=True)

    @classmethod
    def result_of(cls, key: str | None) -> tuple[bool, str | None]:
        """(True, its result) if a create with this key was made already, else (False, None)."""
        earlier = cls.get_or_none(cls.key == key) if key and REQUEST_KEY.fullmatch(key) else None
        return (True, earlier.result) if earlier else (False, None)

    @classmethod
    def once(cls, key: str | None, make: Callable[[], str | None]) -> tuple[bool, str | None]:
        """Run `make` (in a transaction, with the key recorded beside what it made) unless this key was sent
        before. Returns (whether it was made now, its result). A request without a valid key (a page from before
        keys, a script that failed) is made as it always was."""
        if not (key and REQUEST_KEY.fullmatch(key)):
            with db.atomic():
                return True, make()
        try:
            with db.atomic():
                sent, result = cls.result_of(key)
                if sent:
                    return False, result
                result = make()
                cls.delete().where(cls.sent_at < utcnow() - cls.KEEP).execute()
                cls.create(key=key, result=result)
                return True, result
        except IntegrityError:
            # The same key twice at once (PostgreSQL): the other request made it, and this one was undone.
            sent, result = cls.result_of(key)
            if not sent:
                raise
            return False, result


REQUEST_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")

ALL_MODELS = [User, Group, Membership, OneTimeToken, Throttle]
WORKBOOK_MODELS = [EarlierKey, Answer, LadderSnapshot, Share]


# ---------------------------------------------------------------------------------------------------
# Resets and sign-ins. A reset with one group's facilitator's code does not hand over the person's other groups,
# and the person is told; each sign-in keeps a secret of its own, so a copied cookie dies with it.


class PasswordReset(BaseModel):
    """A password reset with a facilitator's reset code: when, with whose code, and whether the workbook was kept
    (the recovery code was typed). Its owner is told on their pages until they put the note away, and when they
    next try the password it replaced. After a reset that started a fresh workbook, the person's groups that the
    code's facilitator does not run are on hold (HeldMembership) until the person, or each group's facilitator,
    confirms it was them."""

    # How long the replaced password's hash is kept, so that its owner, trying it, is told what happened: someone
    # locked out by a reset they did not ask for comes back within weeks, not months.
    OLD_PASSWORD_DAYS = 30

    user = ForeignKeyField(User, backref="password_resets", on_delete="CASCADE")
    by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")   # whose code (None: since deleted)
    at = DateTimeField(default=utcnow)
    kept_workbook = BooleanField(default=False)
    # The workbook key generation its owner had before it (one less when they had none): a recovery code that
    # opens that key, or an earlier one, was theirs before this reset, so it proves it is them.
    proven_by_generation = IntegerField()
    confirmed = BooleanField(default=False)   # its owner showed such a recovery code (or kept the workbook)
    noted = BooleanField(default=False)       # its owner put the note about it away
    old_password_hash = CharField(null=True)  # the password it replaced, for OLD_PASSWORD_DAYS (see above)

    @classmethod
    def record(cls, user: User, by: User | None, kept_workbook: bool) -> PasswordReset:
        """Before the new password is set (the old hash and key generation are still on `user`). A reset with
        the recovery code proves the person and holds nothing; a fresh workbook holds the groups `by` does not
        facilitate (a hold from an earlier reset stays as it was), and brings back the notes of earlier resets
        nobody has proven, in case the one who put them away was not the person. Groups `by` facilitates open:
        they gave the code, to the person they took for them."""
        reset = cls.create(user=user, by=by, kept_workbook=kept_workbook, confirmed=kept_workbook,
                           old_password_hash=user.password_hash,
                           proven_by_generation=user.key_generation - (0 if user.key_by_recovery is not None else 1))
        theirs = Membership.select(Membership.group).where((Membership.user == by) & (Membership.role == FACILITATOR))
        mine = Membership.select().where(Membership.user == user)
        HeldMembership.delete().where(HeldMembership.membership.in_(
            mine.where(Membership.group.in_(theirs)).select(Membership.id))).execute()
        if not kept_workbook:
            cls.update(noted=False).where((cls.user == user) & (cls.confirmed == False)   # noqa: E712
                                          & (cls.kept_workbook == False) & (cls.id != reset.id)).execute()  # noqa: E712
            others = mine.where(Membership.group.not_in(theirs)) if by else mine
            for membership in others:
                HeldMembership.insert(membership=membership, reset=reset).on_conflict_ignore().execute()
        return reset

    @classmethod
    def proven(cls, user, generation: int) -> int:
        """Its owner opened a workbook key of this generation with its recovery code: every reset after which that
        code was still theirs is confirmed, and what those resets held opens. Returns how many groups opened."""
        resets = cls.select(cls.id).where((cls.user == user.id) & (cls.proven_by_generation >= generation))
        cls.update(confirmed=True, old_password_hash=None).where(cls.id.in_(resets)).execute()
        return HeldMembership.delete().where(HeldMembership.reset.in_(resets)).execute()

    @classmethod
    def to_tell(cls, user, known: int = 0) -> list[PasswordReset]:
        """The resets this person has not put away (newest first), but for those this session was made by."""
        By = User.alias()
        return list(cls.select(cls, By.id, By.name).join(By, JOIN.LEFT_OUTER, on=(cls.by == By.id), attr="by")
                    .where((cls.user == user.id) & (cls.noted == False) & (cls.id > known))  # noqa: E712
                    .order_by(cls.at.desc(), cls.id.desc()))

    @classmethod
    def put_away(cls, user, upto: int) -> None:
        cls.update(noted=True).where((cls.user == user.id) & (cls.id <= upto)).execute()

    @classmethod
    def replaced_password(cls, user) -> PasswordReset | None:
        """The earliest reset not yet proven whose replaced password is still kept: the one its owner would try
        if someone else had reset it (after that, only the someone else knew the passwords). Older hashes go."""
        since = utcnow() - timedelta(days=cls.OLD_PASSWORD_DAYS)
        cls.update(old_password_hash=None).where((cls.at < since) & cls.old_password_hash.is_null(False)).execute()
        return (cls.select().where((cls.user == user.id) & (cls.confirmed == False)  # noqa: E712
                                   & cls.old_password_hash.is_null(False))
                .order_by(cls.at, cls.id).first())


class HeldMembership(BaseModel):
    """A membership on hold since a reset made with the code of a facilitator who does not run that group: the
    group answers as if the person were not in it (Membership.of, Group.for_user), until they confirm with a
    recovery code from before the reset, or a facilitator of the group confirms it is them."""

    membership = ForeignKeyField(Membership, unique=True, backref="+", on_delete="CASCADE")
    reset = ForeignKeyField(PasswordReset, backref="holds", on_delete="CASCADE")

    @classmethod
    def not_held(cls, membership_model):
        """A condition for queries of memberships: only those not on hold."""
        return membership_model.id.not_in(cls.select(cls.membership))

    @classmethod
    def in_group(cls, group) -> dict[int, PasswordReset]:
        """The group's memberships on hold, by membership id, each with the reset that holds it (and its `by`)."""
        By = User.alias()
        query = (cls.select(cls, PasswordReset, By.id, By.name).join(PasswordReset)
                 .join(By, JOIN.LEFT_OUTER, on=(PasswordReset.by == By.id), attr="by")
                 .switch(cls).join(Membership).where(Membership.group == group))
        return {hold.membership_id: hold.reset for hold in query}

    @classmethod
    def release(cls, membership) -> bool:
        return bool(cls.delete().where(cls.membership == membership).execute())

    @classmethod
    def exists_for(cls, user, group) -> bool:
        return cls.select().join(Membership).where((Membership.user == user.id) & (Membership.group == group)).exists()


RESET_MODELS = [PasswordReset, HeldMembership]


class Login(BaseModel):
    """One sign-in on one device, from logging in until logging out, a password change or reset, removal from a
    group (User.end_sessions), or a spell without use (IDLE_MINUTES). The session cookie names it by a random
    token, kept here only as its hash. `secret` is this sign-in's part of the key that seals the workbook key in
    that cookie (crypto.session_key): once the row is gone, a copied cookie opens nothing, even with the server's
    secret and the database."""

    SECRET_BYTES = 32

    user = ForeignKeyField(User, backref="logins", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    secret = BlobField()
    started_at = DateTimeField(default=utcnow)
    active_at = DateTimeField(default=utcnow)   # the last request that was not a live page's poll
    seen_at = DateTimeField(default=utcnow, index=True)   # the last request of any kind

    @classmethod
    def start(cls, user: User, idle: timedelta) -> tuple[str, Login]:
        """A new sign-in: the token for the cookie, and the row. Sign-ins unused for `idle` are forgotten."""
        cls.delete().where(cls.seen_at < utcnow() - idle).execute()
        token = secrets.token_urlsafe(cls.SECRET_BYTES)
        return token, cls.create(user=user, token_hash=_digest(token), secret=secrets.token_bytes(cls.SECRET_BYTES))

    @classmethod
    def find(cls, token: object, user_id: int) -> Login | None:
        if not isinstance(token, str) or not token:
            return None
        return cls.get_or_none((cls.token_hash == _digest(token)) & (cls.user == user_id))

    def ended_by_idleness(self, idle: timedelta, poll: bool) -> bool:
        """Unused for `idle`. A live page's poll asks whether the page is still open (seen); anything else whether
        the person did something in that time (active): a poll never keeps a sign-in going by itself."""
        return (self.seen_at if poll else self.active_at) < utcnow() - idle

    def touch(self, idle: timedelta, poll: bool) -> None:
        """Note this request, writing at most once a minute per sign-in, and for a poll only a few times per idle
        spell: a room of screens polling every 1.5 s costs almost no writes (the idle time is kept to the minute)."""
        now, step = utcnow(), min(timedelta(minutes=1), idle / 4)
        if not poll and now - self.active_at > step:
            Login.update(active_at=now, seen_at=now).where(Login.id == self.id).execute()
        elif now - self.seen_at > (idle / 4 if poll else step):
            Login.update(seen_at=now).where(Login.id == self.id).execute()

    @classmethod
    def end_all(cls, user) -> int:
        return cls.delete().where(cls.user == user.id).execute()


LOGIN_MODELS = [Login]


# ---------------------------------------------------------------------------------------------------
# The code of behaviour board: one per group, live on every screen through its version counter.


class Board(BaseModel):
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
    # Bumped by every change. Screens poll with the version they show; the database, not a process, holds it,
    # so it stays right with several worker processes.
    version = IntegerField(default=1)

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
        since = EarlierKey.select(fn.MAX(EarlierKey.replaced_at)).where(EarlierKey.user == user_id).scalar()
        theirs = [row.id for row in cls.select(cls.id, cls.created_at)
                  .where(where, cls.author == user_id, cls.owner_tag.is_null())
                  if since is None or row.created_at > since]
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
        counts = {kind: 0 for kind in Response.KINDS}
        for kind, count in (Response.select(Response.kind, fn.COUNT(Response.id)).where(Response.proposal == self)
                            .group_by(Response.kind).tuples()):
            counts[kind] = count
        return counts


class Response(BaseModel):
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


class Commitment(BaseModel):
    version = ForeignKeyField(CodeVersion, backref="commitments", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="commitments", on_delete="CASCADE")
    committed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("version", "user"), True),)  # one commitment per person per version: a double tap counts once


BOARD_MODELS = [Board, Proposal, Response, CodeVersion, Commitment]


# ---------------------------------------------------------------------------------------------------
# Between sessions (Preparing for P2P): what a facilitator and a participant agreed, never workbook content.


class FollowUp(BaseModel):
    """Per participant of a group: the date agreed to finish the reflection (the preparation workbook), and the
    follow-up conversation once it has taken place (its date, who talked with them, the next step agreed).
    The participant sees exactly this. It belongs to the membership: leaving or being removed deletes it."""

    NOTE_MAX = 500

    membership = ForeignKeyField(Membership, unique=True, backref="follow_ups", on_delete="CASCADE")
    finish_by = DateField(null=True)
    talked_on = DateField(null=True)
    talked_with = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    next_step = TextField(null=True)   # plain text, at most NOTE_MAX characters
    recorded_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    recorded_at = DateTimeField(default=utcnow)

    @property
    def is_empty(self) -> bool:
        return self.finish_by is None and self.talked_on is None and not self.next_step

    @classmethod
    def _with_people(cls):
        # Names only: the people's other columns (password hashes, wrapped keys) have no business here.
        TalkedWith, RecordedBy = User.alias(), User.alias()
        return (cls.select(cls, TalkedWith.id, TalkedWith.name, RecordedBy.id, RecordedBy.name)
                .join(TalkedWith, JOIN.LEFT_OUTER, on=(cls.talked_with == TalkedWith.id), attr="talked_with")
                .switch(cls)
                .join(RecordedBy, JOIN.LEFT_OUTER, on=(cls.recorded_by == RecordedBy.id), attr="recorded_by")
                .switch(cls))

    @classmethod
    def of(cls, membership) -> FollowUp | None:
        return cls._with_people().where(cls.membership == membership).first()

    @classmethod
    def by_membership(cls, group) -> dict[int, FollowUp]:
        """The group's records, by membership id (for the facilitator's list of people)."""
        query = cls._with_people().join(Membership).where(Membership.group == group)
        return {row.membership_id: row for row in query}

    @classmethod
    def by_group_for(cls, user) -> dict[int, FollowUp]:
        """This person's own records, by group id (for their home page)."""
        query = (cls._with_people().join(Membership).where(Membership.user == user.id)
                 .select_extend(Membership.group))
        return {row.membership.group_id: row for row in query}

    @classmethod
    def record(cls, membership, by, **fields) -> None:
        """Upsert: one row per membership, so a double submit or two facilitators saving at once keep one."""
        # Ids, not rows: peewee's ON CONFLICT update names a foreign key by its field, which SQL does not know.
        values = {name: getattr(value, "id", value)
                  for name, value in {**fields, "recorded_by": by, "recorded_at": utcnow()}.items()}
        (cls.insert(membership=membership, **values)
         .on_conflict(conflict_target=[cls.membership], update=values).execute())


FOLLOW_UP_MODELS = [FollowUp]


# ---------------------------------------------------------------------------------------------------
# Running a session: where the group is in its programme, a countdown everyone sees, and discussion boards for
# scenarios. Like the board, each live thing carries a version number in the database that screens poll with.


class CurrentSession(BaseModel):
    """The session of the programme the group is in now, set by its facilitators. `place` is the session's path
    in content/ (programme/module/session), so a group whose programme changes simply has none set."""

    group = ForeignKeyField(Group, unique=True, backref="current_sessions", on_delete="CASCADE")
    place = CharField(max_length=400)
    set_at = DateTimeField(default=utcnow)

    @classmethod
    def place_of(cls, group: Group) -> str | None:
        return cls.select(cls.place).where(cls.group == group).scalar()

    @classmethod
    def choose(cls, group: Group, place: str) -> None:
        (cls.insert(group=group, place=place, set_at=utcnow())
         .on_conflict(conflict_target=[cls.group], update={cls.place: place, cls.set_at: utcnow()}).execute())


class Timer(BaseModel):
    """The group's countdown ("take five minutes to reflect"). Only the end time is stored: every screen is told
    how many seconds are left and counts down by its own clock, so a phone's wrong clock does not matter."""

    MINUTES_MAX = 180

    group = ForeignKeyField(Group, unique=True, backref="timers", on_delete="CASCADE")
    ends_at = DateTimeField(null=True)     # None: stopped
    seconds = IntegerField(default=0)      # how long it was set for
    label = CharField(max_length=80, default="")
    version = IntegerField(default=1)      # bumped by start and stop: screens poll with it

    @classmethod
    def of(cls, group: Group) -> Timer | None:
        return cls.get_or_none(cls.group == group)

    @classmethod
    def version_of(cls, group: Group) -> int:
        return cls.select(cls.version).where(cls.group == group).scalar() or 0

    @classmethod
    def start(cls, group: Group, seconds: int, label: str = "") -> None:
        ends = utcnow() + timedelta(seconds=seconds)
        (cls.insert(group=group, ends_at=ends, seconds=seconds, label=label, version=2)
         .on_conflict(conflict_target=[cls.group], update={cls.ends_at: ends, cls.seconds: seconds, cls.label: label,
                                                           cls.version: cls.version + 1}).execute())

    @classmethod
    def stop(cls, group: Group) -> None:
        cls.update(ends_at=None, version=cls.version + 1).where(cls.group == group).execute()

    @property
    def remaining(self) -> int:
        """Whole seconds left (rounded up, so a running timer never shows 0), or 0 when stopped or over."""
        if self.ends_at is None:
            return 0
        left = (self.ends_at - utcnow()).total_seconds()
        return max(0, math.ceil(left))


class Discussion(BaseModel):
    """A group's discussion board for one scenario of a `scenarios` block. `place` is the scenario's path in
    content/ (programme/module/session/block/scenario). Made when the first thought arrives."""

    group = ForeignKeyField(Group, backref="discussions", on_delete="CASCADE")
    place = CharField(max_length=400)
    version = IntegerField(default=1)

    class Meta:
        indexes = ((("group", "place"), True),)   # one board per scenario per group

    @classmethod
    def find(cls, group: Group, place: str) -> Discussion | None:
        return cls.get_or_none((cls.group == group) & (cls.place == place))

    @classmethod
    def for_place(cls, group: Group, place: str) -> Discussion:
        found = cls.find(group, place)
        if found is None:
            cls.insert(group=group, place=place).on_conflict_ignore().execute()
            found = cls.find(group, place)
        return found

    @classmethod
    def version_of(cls, group: Group, place: str) -> int:
        return cls.select(cls.version).where((cls.group == group) & (cls.place == place)).scalar() or 0

    @classmethod
    def counts(cls, group: Group, places: list[str]) -> dict[str, int]:
        """Thoughts the group can see, per place."""
        rows = (cls.select(cls.place, fn.COUNT(Thought.id)).join(Thought)
                .where(cls.group == group, cls.place.in_(places), Thought.hidden == False)  # noqa: E712
                .group_by(cls.place).tuples())
        return dict(rows)

    def changed(self) -> None:
        Discussion.update(version=Discussion.version + 1).where(Discussion.id == self.id).execute()
        self.version = Discussion.get_by_id(self.id).version

    def thoughts_for(self, pseudonyms: bytes | None, facilitator: bool) -> list[Thought]:
        """What this person may see, oldest first: a thought the facilitator hid stays visible to its author."""
        query = (Thought.select(Thought, User).join(User, JOIN.LEFT_OUTER)
                 .where(Thought.discussion == self).order_by(Thought.created_at, Thought.id))
        return [t for t in query if facilitator or not t.hidden or t.made_by(pseudonyms)]


class Thought(MadeBySomeone, BaseModel):
    """One person's thought on a scenario. No votes, no replies: each person adds what they think."""

    TEXT_MAX = 500

    discussion = ForeignKeyField(Discussion, backref="thoughts", on_delete="CASCADE")
    # Only for a thought with its author's name: "Don't show my name" keeps none (see MadeBySomeone).
    author = ForeignKeyField(User, null=True, backref="thoughts", on_delete="CASCADE")
    owner_salt = CharField(max_length=32, null=True)
    owner_tag = CharField(max_length=40, null=True)
    text = TextField()
    anonymous = BooleanField(default=False)   # "Don't show my name": no page ever shows who wrote it
    hidden = BooleanField(default=False)      # hidden from the group by a facilitator; its author still sees it
    created_at = DateTimeField(default=utcnow)


SESSION_MODELS = [CurrentSession, Timer, Discussion, Thought]
