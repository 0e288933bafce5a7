"""What `p2p demo` made: its accounts and its group, recorded as it makes them, so they are known for what they
are by this record, never by a name ("Alex (demo)" is a name anyone may choose). `p2p demo --remove` removes what
is recorded here and nothing else, and the lists of real groups leave these accounts out."""

from __future__ import annotations

from peewee import ForeignKeyField

from .accounts import User
from .base import FACILITATOR, BaseModel
from .groups import Group


class DemoPart(BaseModel):
    """One account or the group `p2p demo` made (one of the two on each row). Deleting the account or the group
    deletes its row (ON DELETE CASCADE): the record never outlives what it names."""

    user = ForeignKeyField(User, null=True, unique=True, backref="+", on_delete="CASCADE")
    group = ForeignKeyField(Group, null=True, unique=True, backref="+", on_delete="CASCADE")

    @classmethod
    def record(cls, group: Group, accounts: list[User]) -> None:
        cls.create(group=group)
        for user in accounts:
            cls.create(user=user)

    @classmethod
    def exists(cls) -> bool:
        return cls.select().exists()

    @classmethod
    def groups(cls) -> list[Group]:
        return list(Group.select().where(Group.id.in_(cls.select(cls.group).where(cls.group.is_null(False))))
                    .order_by(Group.id))

    @classmethod
    def accounts(cls) -> list[User]:
        return list(User.select(User.id, User.name, User.role).where(User.id.in_(cls._account_ids()))
                    .order_by(User.id))

    @classmethod
    def _account_ids(cls):
        return cls.select(cls.user).where(cls.user.is_null(False))

    @classmethod
    def is_account(cls, user) -> bool:
        return cls.select().where(cls.user == user.id).exists()

    @classmethod
    def is_group(cls, group) -> bool:
        return cls.select().where(cls.group == group).exists()

    @classmethod
    def facilitators_for(cls, group):
        """The facilitator accounts a group's facilitator may choose from: a real group never offers the demo's."""
        return User.facilitators() if cls.is_group(group) else User.facilitators().where(
            User.id.not_in(cls._account_ids()))

    @classmethod
    def any_real_facilitator(cls) -> bool:
        """Whether a facilitator account exists besides the demo's (until one does, the server offers a setup link)."""
        return User.select().where(User.role == FACILITATOR, User.id.not_in(cls._account_ids())).exists()
