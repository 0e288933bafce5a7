"""Between sessions (Preparing for P2P): what a facilitator and a participant agreed, never workbook content."""

from __future__ import annotations

from peewee import JOIN, DateField, DateTimeField, ForeignKeyField, TextField

from .accounts import User
from .base import BaseModel, utcnow
from .groups import Membership


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
