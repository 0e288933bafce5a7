"""Argon2id, the memory-hard derivation every password goes through. The cost comes from the config, set once at
start-up. What is stored of a password, and the key it gives, are crypto.py's (password records); this module
still reads the password hashes stored before those (argon2-cffi's "$argon2id$…"), until each is replaced at its
owner's next sign-in (models.User.check_password)."""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret_raw

from .turns import aside

OUTPUT_BYTES = 32
_cost = {"memory_kib": 19 * 1024, "time_cost": 2}
_legacy = PasswordHasher()

# Argon2id is CPU-bound and takes ARGON2_MEMORY_KIB (19 MiB) while it runs: more at once than there are cores
# finishes no sooner, it only holds more memory. With 8 server threads, a room logging in took the server to
# 215 MB at its highest (make bench); taking turns, one per core, keeps it near 50 MB + 19 MiB a core, and the
# last of 30 logins is in just as soon. A request that comes here gives its turn among the server's requests to
# another (turns.aside): it waits for a core, and Argon2id runs outside Python's lock.
one_per_core = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def configure(memory_kib: int, time_cost: int) -> None:
    _cost.update(memory_kib=memory_kib, time_cost=time_cost)


def cost() -> tuple[int, int]:
    """(memory in KiB, passes) that new derivations use."""
    return _cost["memory_kib"], _cost["time_cost"]


def argon2id(password: str, salt: bytes, memory_kib: int | None = None, time_cost: int | None = None) -> bytes:
    """One derivation: 32 bytes from the password and salt, at the configured cost unless another is given (a
    stored record says the cost it was made with)."""
    aside()
    with one_per_core:
        return hash_secret_raw(password.encode(), salt, time_cost=time_cost or _cost["time_cost"],
                               memory_cost=memory_kib or _cost["memory_kib"], parallelism=1,
                               hash_len=OUTPUT_BYTES, type=Type.ID)


def is_legacy_hash(stored: str) -> bool:
    """A password hash from before password records: "$argon2id$…", made by argon2-cffi."""
    return (stored or "").startswith("$argon2")


def verify_legacy(stored: str, password: str) -> bool:
    try:
        aside()
        with one_per_core:
            return _legacy.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def waste_time() -> None:
    """Spend one derivation's worth of time, as checking a password does, for names that do not exist."""
    argon2id("not a real password", b"p2p: no such name")
