"""The tables and the queries on them, one module per feature; the database keeps the invariants (unique
indexes), not `if`s. Modules import downwards only (pyproject.toml's import contracts keep it so):

    base → accounts → groups → workbook, board, demo → sessions, follow_up;  sent_requests (any feature's creates)

`schema` holds the upgrade steps that make and change these tables. Everything is re-exported here, so callers
write `from .models import Group, Proposal`."""

from .accounts import EarlierKey, Login, OneTimeToken, Throttle, User
from .base import (
    FACILITATOR,
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    NAME_MAX,
    PARTICIPANT,
    PASSWORD_MAX,
    PASSWORD_MIN,
    BaseModel,
    Live,
    digest,
    name_key,
    normalise_name,
    one_line,
    utcnow,
)
from .board import THEME_MAX, Board, BoardResponse, CodeVersion, Commitment, MadeBySomeone, Proposal, Responder, forget_account
from .demo import DemoPart
from .follow_up import FollowUp
from .groups import Group, HeldMembership, Membership, PasswordReset, format_join_code, normalise_join_code
from .sent_requests import REQUEST_KEY, SentRequest
from .sessions import CurrentSession, Discussion, Thought, Timer
from .workbook import Answer, LadderSnapshot, Share

__all__ = [
    "FACILITATOR", "JOIN_CODE_ALPHABET", "JOIN_CODE_LENGTH", "NAME_MAX", "PARTICIPANT", "PASSWORD_MAX",
    "PASSWORD_MIN", "REQUEST_KEY", "THEME_MAX", "forget_account",
    "Answer", "BaseModel", "Live", "Board", "CodeVersion", "Commitment", "CurrentSession", "DemoPart", "Discussion", "EarlierKey",
    "FollowUp", "Group", "HeldMembership", "LadderSnapshot", "Login", "MadeBySomeone", "Membership", "OneTimeToken",
    "PasswordReset", "Proposal", "Responder", "BoardResponse", "SentRequest", "Share", "Thought", "Throttle", "Timer",
    "User",
    "digest", "format_join_code", "name_key", "normalise_join_code", "normalise_name", "one_line", "utcnow",
]
