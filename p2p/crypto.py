"""Workbook encryption: the only module that touches keys.

Each person has a random 256-bit data key. Their answers are sealed with it (AES-GCM), bound to the owner
and the answer's place as associated data, so a sealed answer copied to another row or person fails to open.
The data key is stored only wrapped (encrypted):
  - by a key derived from their password (Argon2id: memory-hard, so a copied database resists guessing); the same
    derivation gives the verifier that checks the password (see password records below);
  - by a key derived from their recovery code (shown once on a card; 80 random bits, so HKDF suffices).
While someone is signed in, their data key travels in their session cookie wrapped by a key derived from the
server's secret and a secret of that sign-in kept in the database until logout or a password change: not
readable in the cookie, useless with a copied database alone, and dead once that sign-in ends.
Their own pages also receive a key derived from the data key (HKDF, one way) to keep unsent text encrypted on
their device until the server has it: it opens those drafts and nothing else, and a password cannot be guessed
from it, as it comes from the random data key alone.

What this protects against: facilitators using the app, a copied SD card or database file, backups.
What it does not: someone who changes the code running on the host (they could capture keys at login).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from base64 import b64decode, b64encode

# PyCryptodome (as Cryptodome, clear of any old PyCrypto): AES-GCM in small C modules, each loaded as needed.
# `cryptography` did the same with a 14 MB library of its own (OpenSSL inside): ~5 MB more resident in the server
# at start, 7 MB after a room (docs/benchmarks.md). What is sealed is the same bytes either way (tests/test_crypto.py).
from Cryptodome.Cipher import AES
from Cryptodome.Hash import SHA256
from Cryptodome.Protocol.KDF import HKDF

from . import passwords

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16   # after the ciphertext: nonce | ciphertext | tag
SALT_BYTES = 16

# No 0/O, 1/I/L: the code is written down by hand and typed back in, maybe years later.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 16   # 31^16 ≈ 2^79


class CannotOpen(Exception):
    """A wrapped key or sealed answer did not open: wrong password or code, or data moved or damaged."""


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))


def format_recovery_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _hkdf(material: bytes, purpose: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(material, KEY_BYTES, salt, SHA256, context=b"p2p " + purpose)   # (no salt: zeros, as RFC 5869 says)


def password_key(password: str, salt: bytes) -> bytes:
    """How a password wrapped the data key before password records: Argon2id of the password and the account's
    key_salt, at the configured cost, used as the key itself. Still read until the account's next sign-in."""
    return passwords.argon2id(password, salt)


# Password records: what is stored of a password, "$p2p-argon2id$v=19$m=19456,t=2,p=1$<salt>$<verifier>". One
# Argon2id derivation of the password and the record's own salt gives 32 bytes; HKDF (one way) splits them into the
# verifier, stored, and the key that wraps the data key, never stored. So a sign-in checks the password and opens
# the workbook with one derivation, where a password hash and then a key took two. Guessing from a copied database
# costs one derivation a guess either way: the verifier says nothing of the key, nor the key of the verifier.

PASSWORD_RECORD = "$p2p-argon2id$v=19$"


def _b64(raw: bytes) -> str:
    return b64encode(raw).decode().rstrip("=")


def _record_and_key(derived: bytes, salt: bytes, memory_kib: int, time_cost: int) -> tuple[str, bytes]:
    verifier = _hkdf(derived, b"password verifier")
    record = f"{PASSWORD_RECORD}m={memory_kib},t={time_cost},p=1${_b64(salt)}${_b64(verifier)}"
    return record, _hkdf(derived, b"password wrap")


def new_password_record(password: str) -> tuple[str, bytes]:
    """(the record to store, the key to wrap the data key with) for a new password: one derivation, a new salt."""
    memory_kib, time_cost = passwords.cost()
    salt = new_salt()
    return _record_and_key(passwords.argon2id(password, salt, memory_kib, time_cost), salt, memory_kib, time_cost)


def record_from_password_key(derived: bytes, salt: bytes) -> tuple[str, bytes]:
    """The record and wrapping key for an account moving from before records: its old wrapping key (password_key,
    just derived to open its workbook) is an Argon2id output at the configured cost, so it serves as the record's
    derivation, and moving costs no second one."""
    return _record_and_key(derived, salt, *passwords.cost())


def _parse_record(record: str) -> tuple[int, int, bytes, bytes] | None:
    if not (record or "").startswith(PASSWORD_RECORD):
        return None
    try:
        cost, salt, verifier = record[len(PASSWORD_RECORD):].split("$")
        settings = dict(part.split("=") for part in cost.split(","))
        pad = "=" * (-len(salt) % 4), "=" * (-len(verifier) % 4)
        return (int(settings["m"]), int(settings["t"]), b64decode(salt + pad[0], validate=True),
                b64decode(verifier + pad[1], validate=True))
    except (ValueError, KeyError):
        return None


def is_password_record(stored: str) -> bool:
    return _parse_record(stored) is not None


def record_at_current_cost(record: str) -> bool:
    parsed = _parse_record(record)
    return parsed is not None and parsed[:2] == passwords.cost()


def open_password_record(record: str, password: str) -> bytes | None:
    """The key that wraps the data key, if `password` is the one `record` was made from; else None. One derivation,
    at the cost the record was made with."""
    parsed = _parse_record(record)
    if parsed is None:
        return None
    memory_kib, time_cost, salt, verifier = parsed
    derived = passwords.argon2id(password, salt, memory_kib, time_cost)
    if not hmac.compare_digest(_hkdf(derived, b"password verifier"), verifier):
        return None
    return _hkdf(derived, b"password wrap")


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` made `stored` (a record, or a hash from before them): a replaced password, say."""
    if passwords.is_legacy_hash(stored):
        return passwords.verify_legacy(stored, password)
    return open_password_record(stored, password) is not None


def recovery_key(code: str, salt: bytes) -> bytes:
    return _hkdf(normalise_recovery_code(code).encode(), b"recovery wrap", salt)


def seal(key: bytes, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(context.encode())
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return nonce + ciphertext + tag


def open_sealed(key: bytes, sealed: bytes, context: str) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise CannotOpen("could not open")
    try:
        cipher = AES.new(key, AES.MODE_GCM, nonce=sealed[:NONCE_BYTES], mac_len=TAG_BYTES)
        cipher.update(context.encode())
        return cipher.decrypt_and_verify(sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:])
    except ValueError as error:   # (the tag did not match: another key, person or place; or a bad key)
        raise CannotOpen("could not open") from error


def session_key(secret_key: str, login_secret: bytes) -> bytes:
    """The key that seals a workbook key in one sign-in's session cookie: from the server's secret and that
    sign-in's own secret, kept in the database only until logout or a password change (models.Login). Without the
    second, a copied cookie opens nothing, even with the server's secret and a copy of the database made later."""
    return _hkdf(login_secret, b"session wrap", salt=secret_key.encode())


def drafts_key(data_key: bytes) -> bytes:
    """The key static/js/autosave.js seals unsent text with in the browser's localStorage. The same for every
    session of one workbook, so text kept while offline or logged out comes back once its owner logs in again;
    the next person on a shared device gets another key, and the data key cannot be worked back from it."""
    return _hkdf(data_key, b"device drafts")


def pseudonym_key(data_key: bytes) -> bytes:
    """The key a person's pseudonyms on the boards are made with (see pseudonym). From their workbook key, so only
    their own signed-in session has it: neither the database nor the server's secret can make it. A fresh
    workbook (a reset without the recovery code) makes other pseudonyms, so nothing from before shows as theirs."""
    return _hkdf(data_key, b"board pseudonyms")


def pseudonym(key: bytes, what: str) -> str:
    """Who made `what` ("proposal:<salt>", "response:<proposal id>"), as only its maker can say again: the board
    stores this instead of a person for anonymous proposals and thoughts and for responses, so the database and
    its backups link none of them to anyone. One per thing: two pseudonyms of one person look unrelated."""
    return hmac.new(key, what.encode(), hashlib.sha256).hexdigest()[:40]
