"""People's accounts: their names, passwords and workbook keys (the keys only ever wrapped), the keys a reset
replaced, one-time setup links and reset codes, sign-ins, and the throttles on guessing."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from datetime import timedelta

from flask_login import UserMixin
from peewee import BlobField, BooleanField, Case, CharField, DateTimeField, DoubleField, ForeignKeyField, IntegerField, fn

from .. import crypto, live, passwords
from ..db import db, first_written_once
from .base import FACILITATOR, JOIN_CODE_ALPHABET, NAME_MAX, PARTICIPANT, BaseModel, digest, name_key, normalise_name, utcnow


class User(UserMixin, BaseModel):
    name = CharField(max_length=NAME_MAX)
    name_key = CharField(max_length=NAME_MAX * 4, unique=True)
    password_hash = CharField()
    role = CharField(max_length=20, default=PARTICIPANT)
    # Bumped on logout, password change, reset and removal: cookies carrying an older number stop working. (The
    # column keeps the name it shipped with.)
    sign_in_version = IntegerField(default=1, column_name="session_version")
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
        return f"{self.id}:{self.sign_in_version}"

    @classmethod
    def from_login_id(cls, login_id: str) -> User | None:
        user_id, _, version = (login_id or "").partition(":")
        if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
            return None
        return first_written_once("user by sign-in", lambda id_, version_: cls.select().where(
            (cls.id == id_) & (cls.sign_in_version == version_)), int(user_id), int(version))

    @classmethod
    def by_name(cls, name: str) -> User | None:
        return cls.get_or_none(cls.name_key == name_key(name))

    @classmethod
    def name_taken(cls, name: str) -> bool:
        return cls.select().where(cls.name_key == name_key(name)).exists()

    @classmethod
    def new_account(cls, name: str, password: str, role: str = PARTICIPANT, card_later: bool = False) -> User:
        """A new account with a new workbook key, not saved yet: what costs (Argon2id) is done here, so a sign-up
        can save it in a short transaction after (holding the database's write lock through the derivation made a
        room joining at once take turns). The key and the recovery code are on the returned object (`data_key`,
        `recovery_code`) for this request only: neither is stored in readable form. `card_later`: the recovery code
        does not wrap the key until its owner has seen it (confirm_recovery_code); until then, nothing can be written
        in the workbook (answers.RecoveryCardFirst)."""
        name = normalise_name(name)
        user = cls(name=name, name_key=name_key(name), role=role)
        user.new_workbook_key(password, wrap_recovery=not card_later)
        return user

    @classmethod
    def create_account(cls, name: str, password: str, role: str = PARTICIPANT) -> User:
        """A new account, saved, its recovery code wrapping the key at once (the demo, the tests, the bench)."""
        user = cls.new_account(name, password, role)
        user.save()
        return user

    @classmethod
    def authenticate(cls, name: str, password: str) -> User | None:
        """The person with this name and password, with their workbook key opened (`data_key`); else None."""
        user = cls.by_name(name)
        if user is None:
            passwords.waste_time()  # the same cost either way: timing does not reveal which names exist
            return None
        return user if user.check_password(password) else None

    def check_password(self, password: str) -> bool:
        """Whether `password` is this person's; if it is, their workbook key is opened onto `self.data_key` (None
        for an account from before workbooks). One Argon2id derivation does both (crypto.py, password records).
        An account from before records (a password hash, and a key derived apart) takes two, once: it is moved to
        a record then, from the second derivation, with no third."""
        if passwords.is_legacy_hash(self.password_hash):
            return self._check_legacy_password(password)
        wrap_key = crypto.open_password_record(self.password_hash, password)
        if wrap_key is None:
            return False
        self.data_key = (crypto.open_sealed(wrap_key, self.key_by_password, self._wrap_context("password"))
                         if self.key_by_password is not None else None)
        if self.data_key is not None and not crypto.record_at_current_cost(self.password_hash):
            self._wrap_by_password(password, self.data_key)   # the host changed ARGON2_*: one more, once
            self.save(only=[User.password_hash, User.key_by_password])
        return True

    def _check_legacy_password(self, password: str) -> bool:
        if not passwords.verify_legacy(self.password_hash, password):
            return False
        self.data_key = None
        if self.key_by_password is None:
            return True   # from before workbooks: the login makes its key, and its record (new_workbook_key)
        derived = crypto.password_key(password, self.key_salt)
        self.data_key = crypto.open_sealed(derived, self.key_by_password, self._wrap_context("password"))
        self.password_hash, wrap_key = crypto.record_from_password_key(derived, self.key_salt)
        self.key_by_password = crypto.seal(wrap_key, self.data_key, self._wrap_context("password"))
        self.save(only=[User.password_hash, User.key_by_password])
        return True

    @classmethod
    def facilitators(cls):
        return cls.select().where(cls.role == FACILITATOR).order_by(fn.lower(cls.name))

    @classmethod
    def any_facilitator(cls) -> bool:
        return cls.select().where(cls.role == FACILITATOR).exists()

    # Workbook keys. A context string binds each wrapped key to its owner and purpose.

    def _wrap_context(self, purpose: str) -> str:
        return f"wrap:{self.key_generation}:{purpose}"

    def new_workbook_key(self, password: str, wrap_recovery: bool = True, record: tuple[str, bytes] | None = None) -> None:
        """A fresh data key, wrapped by the password (a new password record, or `record`: the password's, derived
        before) and by a new recovery code (kept on self, unsaved; with wrap_recovery False, not wrapping anything
        until it is confirmed)."""
        self.data_key = crypto.new_data_key()
        self.recovery_code = crypto.new_recovery_code()
        self.key_salt = crypto.new_salt()
        self.key_by_recovery = None
        self._wrap_by_password(password, self.data_key, record)
        if wrap_recovery:
            self.rewrap_recovery()

    def _wrap_by_password(self, password: str, data_key: bytes, record: tuple[str, bytes] | None = None) -> None:
        self.password_hash, wrap_key = record or crypto.new_password_record(password)
        self.key_by_password = crypto.seal(wrap_key, data_key, self._wrap_context("password"))

    def rewrap_recovery(self) -> None:
        """Wrap self.data_key under self.recovery_code (a new code replaces the old one)."""
        self.key_by_recovery = crypto.seal(crypto.recovery_key(self.recovery_code, self.key_salt), self.data_key,
                                           self._wrap_context("recovery"))

    def unlock_with_password(self, password: str) -> bytes:
        """The data key, opened with the password (raises crypto.CannotOpen if it does not open)."""
        if not self.check_password(password) or self.data_key is None:
            raise crypto.CannotOpen("wrong password")
        return self.data_key

    @property
    def recovery_card_confirmed(self) -> bool:
        """Whether a recovery code wraps the workbook key: one its owner was shown and said they wrote down. Until
        then nothing is written in the workbook (see new_account's card_later)."""
        return self.key_by_recovery is not None

    def unlock_with_recovery_code(self, code: str) -> bytes:
        if self.key_by_recovery is None:
            raise crypto.CannotOpen("no recovery code yet")
        key = crypto.recovery_key(code, self.key_salt)
        return crypto.open_sealed(key, self.key_by_recovery, self._wrap_context("recovery"))

    def set_password(self, password: str, data_key: bytes, record: tuple[str, bytes] | None = None) -> None:
        """A new password (its record derived here, or before: `record`); the same workbook key is wrapped again
        under it."""
        self._wrap_by_password(password, data_key, record)
        self.data_key = data_key
        self.end_sign_ins()

    def start_fresh_workbook(self, password: str, record: tuple[str, bytes] | None = None) -> None:
        """After a reset without the recovery code: a new, empty workbook (the password's record as set_password's).
        The old key's recovery wrap is kept (EarlierKey), so the old answers come back if the old recovery code
        turns up. (What was shared from the old one goes with it: Share.withdraw_all.)"""
        if self.key_by_recovery is not None:
            EarlierKey.create(user=self, generation=self.key_generation, key_salt=self.key_salt,
                              key_by_recovery=self.key_by_recovery)
            self.key_generation += 1
        self.new_workbook_key(password, record=record)
        self.end_sign_ins()

    @property
    def has_workbook_key(self) -> bool:
        return self.key_by_password is not None

    def end_sign_ins(self) -> None:
        """Sign this person out everywhere, by making every existing cookie stale, and forget the secrets of their
        sign-ins (Login), so a copied cookie cannot open their workbook key any more."""
        self.sign_in_version += 1
        self.save()
        Login.end_all(self)
        live.recheck()   # their open live pages stop at once


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
        cls.create(purpose=purpose, token_hash=digest(token), user=user, created_by=created_by,
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
        return cls.get_or_none((cls.purpose == purpose) & (cls.token_hash == digest(token or "")) &
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
            # A free attempt always goes, whatever next_at says: attempts at the same moment in several workers
            # compute `now` a little apart, and one whose `now` fell just before another's next_at was refused.
            conflict_target=[cls.key], where=expired | (cls.next_at <= now) | (cls.count + 1 < free),
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


class Login(BaseModel):
    """One sign-in on one device, from logging in until logging out, a password change or reset, removal from a
    group (User.end_sign_ins), or a spell without use (IDLE_MINUTES). The session cookie names it by a random
    token, kept here only as its hash. `secret` is this sign-in's part of the key that seals the workbook key in
    that cookie (crypto.session_key): once the row is gone, a copied cookie opens nothing, even with the server's
    secret and the database."""

    SECRET_BYTES = 32

    user = ForeignKeyField(User, backref="logins", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    secret = BlobField()
    started_at = DateTimeField(default=utcnow)
    active_at = DateTimeField(default=utcnow)   # as it shipped; no longer written: the cookie carries it (activity.py)
    # The minute of the last request of any kind, polls too: written for every sign-in seen, once a minute, by no
    # request of theirs (activity.py).
    seen_at = DateTimeField(default=utcnow, index=True)

    @classmethod
    def start(cls, user: User, idle: timedelta) -> tuple[str, Login]:
        """A new sign-in: the token for the cookie, and the row. Sign-ins unused for `idle` are forgotten."""
        cls.delete().where(cls.seen_at < utcnow() - idle).execute()
        token = secrets.token_urlsafe(cls.SECRET_BYTES)
        return token, cls.create(user=user, token_hash=digest(token), secret=secrets.token_bytes(cls.SECRET_BYTES))

    @classmethod
    def find(cls, token: object, user_id: int) -> Login | None:
        if not isinstance(token, str) or not token:
            return None
        return first_written_once("sign-in", lambda token_hash, user_id_: cls.select().where(
            (cls.token_hash == token_hash) & (cls.user == user_id_)), digest(token), user_id)

    @classmethod
    def end_all(cls, user) -> int:
        return cls.delete().where(cls.user == user.id).execute()
