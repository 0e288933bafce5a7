"""What every table builds on: the base model, the time, how typed names and lines are kept, roles."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timezone

from peewee import Model

from ..db import db

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


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
