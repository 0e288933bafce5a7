"""What is sealed and derived stays readable across the libraries behind p2p/crypto.py: the bytes below were made
by `cryptography` (AESGCM, HKDF), which sealed every answer and wrapped every key before PyCryptodome did. The
databases made by old commits (tests/test_upgrades.py) are opened with their owners' passwords as well."""

import pytest

from p2p import crypto

KEY = bytes(range(32))
PLAIN = "Ich höre zu — ohne zu urteilen 🌱".encode()
CONTEXT = "answer:7:module-1/session-1/q2"
SEALED_BEFORE = bytes.fromhex(   # nonce 100..111 | ciphertext | tag, as cryptography's AESGCM made it
    "6465666768696a6b6c6d6e6f0178b646112ae0ec5b42259dfa87ea6962ad6e64ee4c890787a4de3c9ecac92dfac9b05fc0a31cb11857f6"
    "cf54ddb4a13f3bca839051")


def test_a_value_sealed_before_opens_and_a_value_sealed_now_has_the_same_shape():
    assert crypto.open_sealed(KEY, SEALED_BEFORE, CONTEXT) == PLAIN
    sealed = crypto.seal(KEY, PLAIN, CONTEXT)
    assert len(sealed) == len(SEALED_BEFORE) and sealed[:crypto.NONCE_BYTES] != SEALED_BEFORE[:crypto.NONCE_BYTES]
    assert crypto.open_sealed(KEY, sealed, CONTEXT) == PLAIN


@pytest.mark.parametrize("key, sealed, context", [
    (bytes(32), SEALED_BEFORE, CONTEXT),                                      # another key
    (KEY, SEALED_BEFORE, "answer:8:module-1/session-1/q2"),                   # another person or place
    (KEY, SEALED_BEFORE[:-1] + bytes([SEALED_BEFORE[-1] ^ 1]), CONTEXT),      # one bit changed
    (KEY, SEALED_BEFORE[:20], CONTEXT),                                       # cut short
    (KEY, b"", CONTEXT),
    (KEY[:7], SEALED_BEFORE, CONTEXT),                                        # not a key at all
])
def test_what_does_not_open_says_so_in_one_way(key, sealed, context):
    with pytest.raises(crypto.CannotOpen):
        crypto.open_sealed(key, sealed, context)


def test_keys_derived_are_the_ones_derived_before():
    assert crypto.drafts_key(KEY).hex() == "d4b0d2461a653014aa15e59257c4b3caf8571e6d0014d916b7751089d93a7005"
    assert crypto.session_key("a server secret", KEY).hex() == (
        "10811bc40067f55f77b832978a8fcf1ebf505ca5743bada7b9e5df0c0dae2d5e")


def test_a_new_data_key_is_random_and_a_key_long():
    assert len(crypto.new_data_key()) == crypto.KEY_BYTES and crypto.new_data_key() != crypto.new_data_key()
