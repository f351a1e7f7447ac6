"""Idempotency keys and request fingerprints."""

from __future__ import annotations

import pytest

from livehook.services.errors import InvalidRequest
from livehook.services.idempotency import check_key, request_fingerprint


def test_fingerprint_ignores_key_order_but_not_values_method_or_path() -> None:
    base = request_fingerprint("POST", "/v1/sessions", {"model": "m", "meta": {"a": 1, "b": 2}})
    assert base == request_fingerprint(
        "post", "/v1/sessions", {"meta": {"b": 2, "a": 1}, "model": "m"}
    )
    assert len(base) == 64 and int(base, 16) >= 0
    assert base != request_fingerprint(
        "POST", "/v1/sessions", {"model": "m", "meta": {"a": 2, "b": 2}}
    )
    assert base != request_fingerprint(
        "PUT", "/v1/sessions", {"model": "m", "meta": {"a": 1, "b": 2}}
    )
    assert base != request_fingerprint(
        "POST", "/v1/other", {"model": "m", "meta": {"a": 1, "b": 2}}
    )


@pytest.mark.parametrize("key", ["a", "550e8400-e29b-41d4-a716-446655440000", "~" * 255])
def test_visible_ascii_keys_up_to_255_chars_are_usable(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "with space", "tab\t", "caf\u00e9", "x" * 256])
def test_other_keys_are_refused_naming_the_header(key: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_key(key)
    assert caught.value.details == {"field": "Idempotency-Key"}
