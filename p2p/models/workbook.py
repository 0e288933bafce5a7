"""A person's private workbook: answers and ladder snapshots, sealed with their own key, and what they chose to
bring out of it (Share)."""

from __future__ import annotations

from peewee import BlobField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from ..db import checkpoint
from .accounts import User
from .base import BaseModel, utcnow
from .groups import Membership


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

    @classmethod
    def add_first(cls, user_id: int, key_generation: int, place: str, sealed: bytes) -> bool:
        """The first answer at a place, revision 1; False (nothing written) when there is one already: the unique
        index decides, so two first saves at once make one answer."""
        return bool(cls.insert(user=user_id, place=place, sealed=sealed, key_generation=key_generation, revision=1,
                               updated_at=utcnow()).on_conflict_ignore().as_rowcount().execute())

    @classmethod
    def write_over(cls, user_id: int, key_generation: int, place: str, sealed: bytes, revision: int) -> bool:
        """The answer at a place replaced, if it is still at `revision` (then it is at the next one); False
        (nothing written) when it is not: compare and set in one statement, atomic without a transaction."""
        return bool(cls.update(sealed=sealed, revision=revision + 1, updated_at=utcnow())
                    .where(cls.user == user_id, cls.key_generation == key_generation, cls.place == place,
                           cls.revision == revision)
                    .execute())


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
    def mark(cls, user_id: int, place: str, marked: bool) -> None:
        """Marked (or no longer) to take to a conversation with their facilitator."""
        if marked:
            cls.insert(user=user_id, place=place, kind=cls.DISCUSS).on_conflict_ignore().execute()
        else:
            cls.delete().where(cls.user == user_id, cls.place == place, cls.kind == cls.DISCUSS).execute()

    @classmethod
    def show(cls, user_id: int, place: str, membership, text: str) -> None:
        """A copy of these words for the facilitators of this membership's group (again: the copy is replaced)."""
        (cls.insert(user=user_id, place=place, kind=cls.FACILITATOR, membership=membership, text=text, shared_at=utcnow())
         .on_conflict(conflict_target=[cls.user, cls.place, cls.kind],
                      update={cls.text: text, cls.membership: membership, cls.shared_at: utcnow()})
         .execute())

    @classmethod
    def withdraw(cls, user_id: int, place: str) -> None:
        cls.delete().where(cls.user == user_id, cls.place == place, cls.kind == cls.FACILITATOR).execute()
        checkpoint()   # the withdrawn text is a plain copy: folded out of the WAL, as deletions are

    @classmethod
    def withdraw_all(cls, user) -> None:
        """A fresh workbook after a reset: what was marked or shared came from the workbook now locked away."""
        cls.delete().where(cls.user == user.id).execute()

    @classmethod
    def for_group(cls, group):
        return (cls.select(cls, Membership, User).join(Membership).join(User)
                .where(Membership.group == group, cls.kind == cls.FACILITATOR)
                .order_by(cls.shared_at.desc()))
