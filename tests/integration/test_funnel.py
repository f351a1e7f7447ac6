"""The funnel endpoint on a hand-built data set: known drop-offs, filters, range and accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, text

from livehook.services.registry import Services
from livehook.services.sessions import SessionService
from livehook.storage.repositories.stats import funnel_query
from livehook.storage.types import UTCDateTime
from tests.support.http import auth, data, error
from tests.support.sessions import (
    FAKE,
    create_session,
    drive,
    force_stage,
    post_failure,
    post_result,
    post_stage,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=10)
RANGE = {"from": START.isoformat(), "to": END.isoformat()}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def pass_through(url: str) -> str:
    return url


@pytest.fixture
async def dataset(client: httpx.AsyncClient, services: Services, full_key: str) -> None:
    """Six sessions of acme in range, two just outside it, one of another account."""
    clock = Clock()
    services.sessions = SessionService(services.db, pass_through, clock=clock)
    foreign = (await services.keys.create(account_name="globex")).plaintext

    async def session(at: datetime, tracker: str, model: str, key: str = full_key) -> str:
        clock.now = at
        fields = {"external_tracker": tracker, "model": model}
        session_id: str = (await create_session(client, key, **fields))["id"]
        clock.now = at + timedelta(minutes=5)  # later stages happen later; the range is creation
        return session_id

    day = timedelta(days=1)
    s1 = await session(START, "spring", "mixed-30-v2")  # the happy path
    await drive(client, full_key, s1, ["verification.started", "consent.granted"])
    await drive(client, full_key, s1, ["liveness.started"])
    data(await post_result(client, full_key, s1))
    s2 = await session(START + day, "spring", "mixed-30-v2")  # fake verdict
    await drive(client, full_key, s2, ["verification.started", "liveness.started"])
    data(await post_result(client, full_key, s2, **FAKE))
    s3 = await session(START + 2 * day, "spring", "mixed-60-v2")  # left during liveness
    await drive(client, full_key, s3, ["verification.started", "liveness.started"])
    data(await post_stage(client, full_key, s3, "liveness.cancelled"))
    await session(START + 3 * day, "fall", "mixed-30-v2")  # never opened the flow
    s5 = await session(START + 4 * day, "fall", "mixed-30-v2")  # pipeline error
    stages = ["verification.started", "account.created", "consent.granted"]
    await drive(client, full_key, s5, stages)
    data(await post_failure(client, full_key, s5))
    # Face collision: set at liveness.passed directly (the API passes through it only on the
    # way to completion), so this session has no liveness.passed event.
    s6 = await session(END - timedelta(microseconds=1), "fall", "mixed-60-v2")
    await drive(client, full_key, s6, ["liveness.started"])
    await force_stage(services.db, s6, "liveness.passed")
    await drive(client, full_key, s6, ["face.collision"])
    data(await post_result(client, full_key, s6))

    s7 = await session(START - timedelta(microseconds=1), "spring", "mixed-30-v2")
    data(await post_result(client, full_key, s7))
    await session(END, "spring", "mixed-30-v2")  # `to` is exclusive
    s9 = await session(START + day, "spring", "mixed-30-v2", key=foreign)
    data(await post_result(client, foreign, s9))


async def funnel(client: httpx.AsyncClient, key: str, **params: str) -> Any:
    return data(await client.get("/v1/stats/funnel", params=params, headers=auth(key)))


def sessions_by_stage(body: Any) -> dict[str, int]:
    rows = body["stages"] + body["drop_offs"] + body["other"]
    return {row["stage"]: row["sessions"] for row in rows if row["sessions"]}


@pytest.mark.usefixtures("dataset")
async def test_counts_conversion_and_drop_offs_of_the_range(
    client: httpx.AsyncClient, full_key: str
) -> None:
    body = await funnel(client, full_key, **RANGE)
    assert (body["from"], body["to"]) == ("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z")
    assert body["initialized"] == 6
    assert [(s["stage"], s["step"], s["sessions"], s["conversion"]) for s in body["stages"]] == [
        ("verification.initialized", 1, 6, 1.0),
        ("verification.started", 2, 4, 0.6667),
        ("consent.granted", 3, 2, 0.3333),
        ("liveness.started", 4, 4, 0.6667),
        ("liveness.passed", 5, 1, 0.1667),
        ("verification.completed", 6, 3, 0.5),
    ]
    assert [(s["stage"], s["sessions"], s["conversion"]) for s in body["drop_offs"]] == [
        ("liveness.failed", 1, 0.1667),
        ("liveness.cancelled", 1, 0.1667),
        ("face.collision", 1, 0.1667),
    ]
    assert [(s["stage"], s["sessions"]) for s in body["other"]] == [
        ("account.created", 1),
        ("verification.failed", 1),
    ]


@pytest.mark.usefixtures("dataset")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"external_tracker": "spring"},
            {
                "verification.initialized": 3,
                "verification.started": 3,
                "consent.granted": 1,
                "liveness.started": 3,
                "liveness.passed": 1,
                "verification.completed": 2,
                "liveness.failed": 1,
                "liveness.cancelled": 1,
            },
        ),
        (
            {"model": "mixed-60-v2"},
            {
                "verification.initialized": 2,
                "verification.started": 1,
                "liveness.started": 2,
                "liveness.cancelled": 1,
                "face.collision": 1,
                "verification.completed": 1,
            },
        ),
        (
            {"external_tracker": "fall", "model": "mixed-30-v2"},
            {
                "verification.initialized": 2,
                "verification.started": 1,
                "account.created": 1,
                "consent.granted": 1,
                "verification.failed": 1,
            },
        ),
        ({"external_tracker": "winter"}, {}),
    ],
)
async def test_filters_by_tracker_and_model(
    client: httpx.AsyncClient, full_key: str, params: dict[str, str], expected: dict[str, int]
) -> None:
    body = await funnel(client, full_key, **RANGE, **params)
    assert sessions_by_stage(body) == expected
    assert body["initialized"] == expected.get("verification.initialized", 0)
    assert (body["external_tracker"], body["model"]) == (
        params.get("external_tracker"),
        params.get("model"),
    )


@pytest.mark.usefixtures("dataset")
async def test_other_accounts_never_leak_into_the_funnel(
    client: httpx.AsyncClient, services: Services
) -> None:
    empty = (await services.keys.create(account_name="initech")).plaintext
    body = await funnel(client, empty, **RANGE)
    assert body["initialized"] == 0 and sessions_by_stage(body) == {}
    assert all(s["conversion"] == 0.0 for s in body["stages"])


@pytest.mark.usefixtures("dataset")
async def test_range_bounds_include_from_and_exclude_to(
    client: httpx.AsyncClient, full_key: str
) -> None:
    wider = {"from": (START - timedelta(days=1)).isoformat(), "to": END.isoformat()}
    assert (await funnel(client, full_key, **wider))["initialized"] == 7
    through_end = {"from": START.isoformat(), "to": (END + timedelta(days=1)).isoformat()}
    assert (await funnel(client, full_key, **through_end))["initialized"] == 7
    one_day = {"from": START.isoformat(), "to": (START + timedelta(days=1)).isoformat()}
    assert (
        sessions_by_stage(await funnel(client, full_key, **one_day))["verification.completed"] == 1
    )


async def test_default_range_is_the_last_30_days(client: httpx.AsyncClient, full_key: str) -> None:
    await create_session(client, full_key)
    body = await funnel(client, full_key)
    assert body["initialized"] == 1
    span = datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"])
    assert span == timedelta(days=30)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"model": "mixed-31-v2"}, "model"),
    ],
)
async def test_bad_range_or_model_is_422(
    client: httpx.AsyncClient, full_key: str, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/stats/funnel", params=params, headers=auth(full_key))
    assert error(response, 422, "invalid_request")["details"] == {"field": field}


async def test_funnel_needs_the_stats_scope(client: httpx.AsyncClient, services: Services) -> None:
    sessions_only = await services.keys.create(account_name="acme", scopes=["sessions:read"])
    stats_only = await services.keys.create(account_name="acme", scopes=["stats:read"])
    response = await client.get("/v1/stats/funnel", headers=auth(sessions_only.plaintext))
    assert "stats:read" in error(response, 403, "forbidden")["message"]
    assert (await funnel(client, stats_only.plaintext))["initialized"] == 0


@pytest.mark.parametrize("filters", [{}, {"external_tracker": "spring", "model": "mixed-30-v2"}])
async def test_funnel_query_is_answered_from_the_covering_index_alone(
    services: Services, filters: dict[str, str]
) -> None:
    """Index-only: no table rows are read, with or without filters (bench/funnel.py times it)."""
    compiled = funnel_query(account_id="acct_1", start=START, end=END, **filters).compile()
    params = [
        bindparam(name, value, type_=UTCDateTime() if isinstance(value, datetime) else None)
        for name, value in compiled.params.items()
    ]
    async with services.db.transaction() as tx:
        if tx.dialect == "postgresql":
            # An empty, unanalysed table makes every plan cost about the same, and the planner
            # picked another index's plain scan now and then. Only an index-only scan is left
            # allowed, which the covering index can give if, and only if, it covers the query.
            for scan in ("seqscan", "bitmapscan", "indexscan"):
                await tx.conn.execute(text(f"SET LOCAL enable_{scan} = off"))
            prefix, expected = "EXPLAIN", "Index Only Scan using ix_events_funnel"
        else:
            prefix, expected = "EXPLAIN QUERY PLAN", "USING COVERING INDEX ix_events_funnel"
        rows = await tx.conn.execute(text(f"{prefix} {compiled}").bindparams(*params))
        plan = "\n".join(" ".join(str(part) for part in row) for row in rows.all())
    assert expected in plan, plan
