"""Running a session: where the group is in its programme, a countdown everyone sees, and discussion boards (for
scenarios, and any a facilitator opens in a session). Like the board, each live thing carries a version number in
the database that screens poll with."""

from __future__ import annotations

import math
from datetime import timedelta

from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField, fn

from .. import live
from ..db import db
from .accounts import User
from .base import BaseModel, IdNeverReused, Live, utcnow
from .board import MadeBySomeone
from .groups import Group


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


class Timer(Live, BaseModel):
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
        return cls.version_where(cls.group == group)

    @classmethod
    def start(cls, group: Group, seconds: int, label: str = "") -> None:
        ends = utcnow() + timedelta(seconds=seconds)
        (cls.insert(group=group, ends_at=ends, seconds=seconds, label=label, version=2)
         .on_conflict(conflict_target=[cls.group], update={cls.ends_at: ends, cls.seconds: seconds, cls.label: label,
                                                           cls.version: cls.version + 1}).execute())
        cls._announce(group)

    @classmethod
    def stop(cls, group: Group) -> None:
        cls.update(ends_at=None, version=cls.version + 1).where(cls.group == group).execute()
        cls._announce(group)

    @classmethod
    def _announce(cls, group: Group) -> None:
        live.changed(("timer", group.id, ""), cls.version_of(group))   # as Live.changed does for one row

    @property
    def remaining(self) -> int:
        """Whole seconds left (rounded up, so a running timer never shows 0), or 0 when stopped or over."""
        if self.ends_at is None:
            return 0
        left = (self.ends_at - utcnow()).total_seconds()
        return max(0, math.ceil(left))


class Discussion(Live, BaseModel):
    """A group's discussion board. Its key is the group and its `place`, what it is about (one board per place per
    group), in one of two forms:

    - a scenario of a `scenarios` block: the scenario's path in content/ (programme/module/session/block/scenario).
      Its words are the content's; it is made when the first thought arrives, and never closes.
    - a board a facilitator opened in a session: the session's path, then `_board/<n>` (n = 1, 2, … in the order
      the group's facilitators opened them in that session). Its words are its `prompt`; a facilitator closes it
      (read, no new thoughts) and may open it again. No content id can be `_board` (ids are lower-case letters,
      digits and hyphens: content.ID_PATTERN), so the two forms never meet, and a place always names its session.
    """

    OPENED = "_board"   # the part of a place that says a facilitator opened the board
    PROMPT_MAX = 300

    group = ForeignKeyField(Group, backref="discussions", on_delete="CASCADE")
    place = CharField(max_length=400)
    version = IntegerField(default=1)
    prompt = TextField(default="")          # an opened board's question or prompt; "" for a scenario's
    closed = BooleanField(default=False)    # an opened board a facilitator closed: everyone reads it, nobody adds

    class Meta:
        indexes = ((("group", "place"), True),)   # one board per place per group

    def live_topic(self):
        return "discussion", self.group_id, self.place

    @classmethod
    def find(cls, group: Group, place: str) -> Discussion | None:
        return cls.get_or_none((cls.group == group) & (cls.place == place))

    @classmethod
    def for_place(cls, group: Group, place: str) -> Discussion:
        return cls.found_or_made(group=group, place=place)

    @classmethod
    def version_of(cls, group: Group, place: str) -> int:
        return cls.version_where(cls.group == group, cls.place == place)

    @classmethod
    def counts(cls, group: Group, places: list[str]) -> dict[str, int]:
        """Thoughts the group can see, per place."""
        rows = (cls.select(cls.place, fn.COUNT(Thought.id)).join(Thought)
                .where(cls.group == group, cls.place.in_(places), Thought.hidden == False)  # noqa: E712
                .group_by(cls.place).tuples())
        return dict(rows)

    @classmethod
    def opened_in(cls, group: Group, session_place: str) -> list[Discussion]:
        """The boards the group's facilitators opened in this session, in the order they were opened."""
        return list(cls.select().where(cls.group == group, cls.place.startswith(f"{session_place}/{cls.OPENED}/"))
                    .order_by(cls.id))

    @classmethod
    def open_in(cls, group: Group, session_place: str, prompt: str) -> Discussion:
        """A new board in the session, numbered after the group's others there. Two facilitators opening one at
        the same moment (PostgreSQL; SQLite's IMMEDIATE transactions take turns): the unique index refuses the
        second its number, and it takes the next."""
        for _ in range(3):
            number = 1 + max((int(board.place.rsplit("/", 1)[1]) for board in cls.opened_in(group, session_place)),
                             default=0)
            try:
                with db.atomic():
                    return cls.create(group=group, place=f"{session_place}/{cls.OPENED}/{number}", prompt=prompt)
            except IntegrityError:
                continue
        raise IntegrityError(f"no number free for a new board in {session_place}")

    def close(self, closed: bool) -> None:
        with db.atomic():
            Discussion.update(closed=closed).where(Discussion.id == self.id).execute()
            self.closed = closed
            self.changed()   # every screen on it says so at its next poll

    def every_thought(self) -> list[Thought]:
        """Every thought on it, oldest first, hidden ones too: each screen picks what its person may see (shown_to:
        a thought the facilitator hid stays visible to its author). Authors' names only: their other columns
        (password hashes, wrapped keys) have no business on a screen."""
        return list(Thought.select(Thought, User.id, User.name).join(User, JOIN.LEFT_OUTER)
                    .where(Thought.discussion == self).order_by(Thought.created_at, Thought.id))


class Thought(MadeBySomeone, BaseModel):
    """One person's thought on a discussion board. No votes, no replies: each person adds what they think."""

    TEXT_MAX = 500

    id = IdNeverReused()   # (a thought taken back is deleted)
    discussion = ForeignKeyField(Discussion, backref="thoughts", on_delete="CASCADE")
    author, owner_salt, owner_tag = MadeBySomeone.owner_fields("thoughts")   # "Don't show my name": no author
    text = TextField()
    anonymous = BooleanField(default=False)   # "Don't show my name": no page ever shows who wrote it
    hidden = BooleanField(default=False)      # hidden from the group by a facilitator; its author still sees it
    created_at = DateTimeField(default=utcnow)

    @property
    def kept_from_group(self) -> bool:
        return self.hidden

    def hide(self, hidden: bool) -> None:
        with db.atomic():
            Thought.update(hidden=hidden).where(Thought.id == self.id).execute()
            self.discussion.changed()

    def take_back(self) -> None:
        """Its author takes it back: it goes from every screen."""
        with db.atomic():
            self.delete_instance()
            self.discussion.changed()
