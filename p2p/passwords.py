"""Password hashing with Argon2id (memory-hard). The cost comes from the config, set once at start-up."""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_dummy_hash: str | None = None

# Argon2id is CPU-bound and takes ARGON2_MEMORY_KIB (19 MiB) while it runs: more at once than there are cores
# finishes no sooner, it only holds more memory. With 8 server threads, a room logging in took the server to
# 215 MB at its highest (make bench); taking turns, one per core, keeps it near 50 MB + 19 MiB a core, and the
# last of 30 logins is in just as soon. Used here and by crypto.password_key.
one_per_core = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def configure(memory_kib: int, time_cost: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)
    _dummy_hash = None


def hash(password: str) -> str:  # noqa: A001 - reads best at the call site: passwords.hash(...)
    with one_per_core:
        return _hasher.hash(password)


def verify(stored: str, password: str) -> bool:
    try:
        with one_per_core:
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
