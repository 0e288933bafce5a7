"""Words someone sends to a live board, a proposal or a discussion thought: the checks both make, in one order, and
one create that a re-send cannot double (models.SentRequest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, request
from flask_login import current_user

from . import activity
from .auth import LOG_IN_AGAIN, my_pseudonyms
from .models import SentRequest
from .web import log


@dataclass(frozen=True)
class Words:
    """One kind of words a board takes, and what to say when they cannot be taken."""

    kind: str                      # "proposal", "thought": the log's events, and the rate limit's name
    text_max: int
    limit: tuple[int, int]         # at most this many per person in this many seconds (activity.paced)
    empty: str
    too_long: Callable[[str], str]
    too_many: str


def send(words: Words, group_id: int, text: str, make: Callable[[bytes], None], closed: str | None = None) -> str | None:
    """Make the words (`make`, given the sender's pseudonym key, in one transaction with the page's request key);
    None once they are on the board (now, or by the first send of this page, whose answer was lost), else what to
    say. `closed`: why the board takes none now, if it does not."""
    key = request.form.get("request_key")
    if SentRequest.result_of(key)[0]:
        return None
    pseudonyms = my_pseudonyms()
    problem = (LOG_IN_AGAIN if pseudonyms is None else closed or (words.empty if not text else None)
               or (words.too_long(text) if len(text) > words.text_max else None))
    if problem:
        return problem
    if not activity.of(current_app).paced(words.kind, current_user.id, *words.limit):
        log.warning(f"{words.kind}-throttled group=%s", group_id)   # the event's name first, as the log reads it
        return words.too_many
    if SentRequest.once(key, lambda: make(pseudonyms))[0]:
        log.info(f"{words.kind}-added group=%s", group_id)
    return None
