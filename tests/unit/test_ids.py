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


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7(1_700_000_000_000, bytes(range(10)))
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert uuid.UUID(str(value)) == value
