"""Identifiers: a type prefix and a time-ordered body, so ids sort by creation (cursor pagination).

Pure: the caller passes the time and the random bytes.
"""

from __future__ import annotations

import uuid

# Crockford's base32: no I, L, O, U, so ids read back unambiguously.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ENTROPY_BYTES = 10


# Two characters (10 bits) at a time: 13 lookups instead of 26 shifts, for an id on every
# event, delivery and attempt.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_PAIR_SHIFTS = range(120, -1, -10)


def sortable_id(prefix: str, unix_ms: int, entropy: bytes) -> str:
    """``<prefix>_`` + 26 characters: 48 bits of milliseconds then 80 random bits (ULID layout)."""
    if len(entropy) != _ENTROPY_BYTES:
        raise ValueError(f"entropy must be {_ENTROPY_BYTES} bytes")
    value = (unix_ms << 80) | int.from_bytes(entropy, "big")
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def uuid7(unix_ms: int, entropy: bytes) -> uuid.UUID:
    """An RFC 9562 version 7 UUID: time-ordered, so session rows stay index-friendly."""
    if len(entropy) != _ENTROPY_BYTES:
        raise ValueError(f"entropy must be {_ENTROPY_BYTES} bytes")
    rand = int.from_bytes(entropy, "big")  # 80 bits, 74 used
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


ENTROPY_BYTES = _ENTROPY_BYTES
