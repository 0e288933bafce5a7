"""Groups and who is in them, and memberships on hold after a password reset: a reset with one group's
facilitator's code does not hand over the person's other groups, and the person is told (PasswordReset)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from peewee import JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, fn

from ..db import db, first_written_once
from .accounts import User
from .base import FACILITATOR, JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, PARTICIPANT, BaseModel, utcnow


def normalise_join_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def format_join_code(code: str) -> str:
    return f"{code[:3]}-{code[3:]}" if code else ""


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

    def change(self, **fields) -> None:
        type(self).update(**fields).where(type(self).id == self.id).execute()

    @classmethod
    def for_user(cls, user: User):
        return (cls.select(cls, Membership.role.alias("my_role"))
                .join(Membership).where(Membership.user == user, HeldMembership.not_held(Membership))
                .order_by(cls.created_at.desc()).objects())

    @classmethod
    def first_by_programme(cls, user: User) -> dict[str, int]:
        """For each programme, the newest of this person's groups following it: where a workbook answer's link
        opens its session."""
        first: dict[str, int] = {}
        for group in cls.for_user(user):
            first.setdefault(group.programme, group.id)
        return first

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

    @classmethod
    def by_id(cls, group_id: int) -> Group | None:
        return first_written_once("group", lambda id_: cls.select().where(cls.id == id_), group_id)

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
        return first_written_once("membership", lambda user_id, group_id: cls.select().where(
            (cls.user == user_id) & (cls.group == group_id) & HeldMembership.not_held(cls)),
            user.id, getattr(group, "id", group))

    @classmethod
    def lead_of(cls, group) -> int | None:
        """The lead facilitator's user id: the longest-standing facilitator (who made the group, while still in it)."""
        return (cls.select(cls.user).where((cls.group == group) & (cls.role == FACILITATOR))
                .order_by(cls.joined_at, cls.id).scalar())

    @classmethod
    def join(cls, user: User, group: Group, role: str = PARTICIPANT) -> Membership:
        """Idempotent: a double submit or a second tab joins once."""
        cls.insert(user=user, group=group, role=role).on_conflict_ignore().execute()
        return cls.of(user, group)


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
