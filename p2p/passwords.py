"""Password hashing with Argon2id (memory-hard), parameters from the app config."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)


def _current() -> PasswordHasher:
    return _hasher(current_app.config["ARGON2_MEMORY_KIB"], current_app.config["ARGON2_TIME_COST"])


def hash(password: str) -> str:  # noqa: A001 - reads best at the call site: passwords.hash(...)
    return _current().hash(password)


def verify(stored: str, password: str) -> bool:
    try:
        return _current().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _current().check_needs_rehash(stored)


@lru_cache(maxsize=4)
def _dummy(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash("not a real password")


def waste_time() -> None:
    """Spend one verification's worth of time, for names that do not exist."""
    cfg = current_app.config
    verify(_dummy(cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_TIME_COST"]), "wrong")
