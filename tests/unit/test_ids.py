from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.ids import sortable_id, uuid7


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_sortable_ids_sort_by_time(t1: int, t2: int, entropy: bytes) -> None:
    a, b = sortable_id("evt", t1, entropy), sortable_id("evt", t2, entropy)
    assert len(a) == len("evt_") + 26
    assert (a < b) == (t1 < t2)


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_sortable_ids_are_the_ulid_layout_in_crockford_base32(unix_ms: int, entropy: bytes) -> None:
    body = sortable_id("dlv", unix_ms, entropy).removeprefix("dlv_")
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    decoded = 0
    for char in body:
        decoded = decoded * 32 + alphabet.index(char)
    assert decoded == (unix_ms << 80) | int.from_bytes(entropy, "big")


def test_a_known_id_reads_back_unchanged() -> None:
    assert (
        sortable_id("evt", 1_770_000_000_000, bytes(range(10))) == "evt_01kge3h900000g40r40m30e209"
    )


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7(1_700_000_000_000, bytes(range(10)))
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert uuid.UUID(str(value)) == value
