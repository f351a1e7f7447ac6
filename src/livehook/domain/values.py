"""What storage and JSON encoding can hold, checked before anything is stored.

Both databases store integers in 64 bits and the JSON encoder (orjson) refuses wider ones;
PostgreSQL refuses the NUL character in text and JSON; Python's datetimes end at years 1 and
9999. A value outside these limits is the client's mistake: it gets a 4xx at the edge instead of
failing later (in a fingerprint, a payload, an INSERT) as a 5xx.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
NUL = "\x00"


def json_problem(value: Any, path: str = "") -> str | None:
    """Why ``value`` (parsed JSON) cannot be stored, or None: the first problem, with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            problem = _scalar_problem(str(key), child) or json_problem(item, child)
            if problem:
                return problem
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{path or 'body'}[{index}]")
            if problem:
                return problem
        return None
    return _scalar_problem(value, path or "body")


def _scalar_problem(value: Any, where: str) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return f"{where}: integers must fit in 64 bits (-2^63 to 2^63-1)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where}: numbers must be finite"
    if isinstance(value, str) and NUL in value:
        return f"{where}: the NUL character (\\u0000) is not allowed"
    return None


def in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (read as UTC when it has no zone); ValueError if that leaves the years
    1 to 9999, e.g. ``0001-01-01T00:00:00+00:01``."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the years 1 to 9999 once converted to UTC") from None
