"""The edge's limits (domain.values, api.schemas.common), tried with generated inputs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from livehook.api.schemas.common import AwareUtcTime, RequestModel, UtcTime
from livehook.domain.values import INT64_MAX, INT64_MIN, in_utc, json_problem

json_scalars = st.none() | st.booleans() | st.floats() | st.integers() | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def storable(value: Any) -> bool:
    if isinstance(value, dict):
        return all("\x00" not in k and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    return "\x00" not in value


@given(json_values)
def test_json_problem_finds_exactly_what_storage_cannot_hold(value: Any) -> None:
    assert (json_problem(value) is None) == storable(value)


@given(st.integers())
def test_integers_are_refused_exactly_beyond_64_bits(number: int) -> None:
    assert (json_problem({"n": number}) is None) == (INT64_MIN <= number <= INT64_MAX)


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.datetimes(timezones=st.none() | offsets))
def test_in_utc_returns_utc_or_a_value_error_never_an_overflow(moment: datetime) -> None:
    try:
        converted = in_utc(moment)
    except ValueError:
        assert moment.tzinfo is not None  # only a zone can carry a time past the edges
        return
    assert converted.tzinfo is UTC
    if moment.tzinfo is not None:
        assert converted == moment


class Times(BaseModel):
    at: UtcTime | None = None
    aware: AwareUtcTime | None = None


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.from_regex(r"\A-?\d+(\.\d+)?\Z")))
def test_numbers_are_never_times(number: Any) -> None:
    with pytest.raises(ValidationError):
        Times(at=number)


@given(st.datetimes(timezones=offsets))
def test_iso_times_parse_to_utc_or_fail_validation(moment: datetime) -> None:
    try:
        parsed = Times(aware=moment.isoformat()).aware
    except ValidationError:
        return
    assert parsed is not None and parsed.tzinfo is UTC and parsed == moment


def test_a_zoneless_time_is_refused_where_a_zone_is_required() -> None:
    with pytest.raises(ValidationError):
        Times(aware="2026-01-01T00:00:00")
    assert Times(at="2026-01-01T00:00:00").at == datetime(2026, 1, 1, tzinfo=UTC)


class Body(RequestModel):
    data: Any = None


@given(json_values)
def test_request_bodies_accept_exactly_what_storage_can_hold(value: Any) -> None:
    try:
        Body.model_validate({"data": value})
    except ValidationError:
        assert not storable(value)
        return
    assert storable(value)
