"""Password hashing with Argon2id (memory-hard). The cost comes from the config, set once at start-up."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def configure(memory_kib: int, time_cost: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)
    _dummy_hash = None


def hash(password: str) -> str:  # noqa: A001 - reads best at the call site: passwords.hash(...)
    return _hasher.hash(password)


def verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def waste_time() -> None:
    """Spend one verification's worth of time, for names that do not exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a real password")
    verify(_dummy_hash, "wrong")
