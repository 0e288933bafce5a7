"""Creates already made, by the key their page sent: a create sent again makes one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Callable

from peewee import CharField, DateTimeField, IntegrityError

from ..db import db, first_written_once, run_once
from .base import BaseModel, utcnow

REQUEST_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


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
        earlier = (first_written_once("sent request", lambda key_: cls.select().where(cls.key == key_), key)
                   if key and REQUEST_KEY.fullmatch(key) else None)
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
                # (Their SQL written once, db.run_once: every proposal is sent with a key.)
                run_once("sent requests of old", lambda before: cls.delete().where(cls.sent_at < before),
                         utcnow() - cls.KEEP)
                if result is None:
                    run_once("sent request", lambda key_, at: cls.insert(key=key_, sent_at=at), key, utcnow())
                else:
                    run_once("sent request with its result", lambda key_, at, result_: cls.insert(
                        key=key_, sent_at=at, result=result_), key, utcnow(), result)
                return True, result
        except IntegrityError:
            # The same key twice at once (PostgreSQL): the other request made it, and this one was undone.
            sent, result = cls.result_of(key)
            if not sent:
                raise
            return False, result
