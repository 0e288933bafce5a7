"""What every table builds on: the base model, the time, how typed names and lines are kept, roles."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timezone

from peewee import SQL, AutoField, Model, NodeList

from .. import live
from ..db import db, first_written_once, is_postgresql, run_once

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


def digest(token: str) -> str:
    """How a secret token (a setup link, a reset code, a sign-in's cookie token) is kept: its hash only."""
    return hashlib.sha256(token.encode()).hexdigest()


class IdNeverReused(AutoField):
    """An id SQLite never hands out again once its row has gone (AUTOINCREMENT: without it, a new row takes the
    highest id there is plus one, so the id of a row just deleted). A page still showing a row that has gone (a
    merged wording split apart again, a thought taken back; a tap on it kept offline and sent later) sends its
    id: it must find nothing, not the next behaviour or thought someone made. PostgreSQL's sequences never hand an
    id out twice anyway."""

    def ddl(self, ctx):
        column = super().ddl(ctx)
        return column if is_postgresql() else NodeList((column, SQL("AUTOINCREMENT")))


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    @classmethod
    def found_or_made(cls, **fields):
        """The one row with these fields, made if missing: a read first (a poll must not write), and two requests
        making it at once make one (a unique index on these fields keeps it so)."""
        where = [getattr(cls, name) == value for name, value in fields.items()]
        found = first_written_once(f"{cls.__name__} by {', '.join(fields)}", lambda *values: cls.select().where(
            *(getattr(cls, name) == value for name, value in zip(fields, values))),
            *(getattr(value, "id", value) for value in fields.values()))
        if found is None:
            cls.insert(**fields).on_conflict_ignore().execute()
            found = cls.get(*where)
        return found


class Live:
    """For a model every screen showing it keeps live (a board, a discussion, a timer): its `version` column, bumped
    by every change, is what the screens poll with ("anything after version v?", web.seen_already). The database,
    not a process, holds it, so it stays right with several worker processes."""

    def changed(self) -> None:
        model = type(self)
        run_once(f"{model.__name__} changed", lambda row_id: model.update(version=model.version + 1).where(
            model.id == row_id), self.id)
        self.version = first_written_once(f"{model.__name__} version", lambda row_id: model.select(
            model.version).where(model.id == row_id).tuples(), self.id)[0]
        live.changed(self.live_topic(), self.version)   # screens following it are woken once this commits

    def live_topic(self) -> live.Topic:
        """What screens following this row wait for (p2p/live.py): its kind and group (and, where a group has
        several, which one)."""
        return type(self).__name__.lower(), self.group_id, ""

    @classmethod
    def version_where(cls, *where) -> int:
        """The version of the row `where` finds; 0 if there is none yet (a screen may poll before it is made)."""
        return cls.select(cls.version).where(*where).scalar() or 0
