"""The whole session state machine through the API: every allowed transition is accepted, every
refused one is a 409 naming the current stage and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from livehook.domain.lifecycle import (
    REPORTABLE_STAGES,
    STAGES,
    TRANSITIONS,
    TransitionError,
    stages_for_verdict,
)
from livehook.services.registry import Services
from tests.support.http import auth, data, error
from tests.support.sessions import (
    FAKE,
    LIVE,
    create_session,
    drive,
    event_rows,
    force_stage,
    post_failure,
    post_result,
    post_stage,
)

ALLOWED = [(current, nxt) for current, nexts in TRANSITIONS.items() for nxt in sorted(nexts)]
# Stages the API only passes through on the way to verification.completed: tests put a session
# there directly, after reaching liveness.started through the API.
FORCED = {"liveness.passed", "liveness.failed", "face.collision"}
LIVE_SIDE = {"liveness.passed", "face.collision", "liveness.started"}


async def session_at(client: httpx.AsyncClient, services: Services, key: str, stage: str) -> str:
    session_id: str = (await create_session(client, key))["id"]
    if stage == "verification.completed":
        data(await post_result(client, key, session_id))
    elif stage == "verification.failed":
        data(await post_failure(client, key, session_id))
    elif stage == "liveness.cancelled":
        await drive(client, key, session_id, ["liveness.started", "liveness.cancelled"])
    elif stage in FORCED:
        await drive(client, key, session_id, ["liveness.started"])
        await force_stage(services.db, session_id, stage)
    elif stage != "verification.initialized":
        await drive(client, key, session_id, [stage])
    return session_id


async def report(
    client: httpx.AsyncClient, key: str, session_id: str, current: str, nxt: str
) -> httpx.Response:
    """Report `nxt` through the endpoint that emits it."""
    if nxt in REPORTABLE_STAGES:
        return await post_stage(client, key, session_id, nxt)
    if nxt == "verification.failed":
        return await post_failure(client, key, session_id)
    live = nxt == "liveness.passed" or (nxt != "liveness.failed" and current in LIVE_SIDE)
    return await post_result(client, key, session_id, **(LIVE if live else FAKE))


@pytest.mark.parametrize(("current", "nxt"), ALLOWED)
async def test_allowed_transition_is_accepted_and_emits_its_event(
    client: httpx.AsyncClient, services: Services, full_key: str, current: str, nxt: str
) -> None:
    session_id = await session_at(client, services, full_key, current)
    before = {e.type for e in await event_rows(services.db, session_id=session_id)}

    session = data(await report(client, full_key, session_id, current, nxt))

    emitted = {e.type for e in await event_rows(services.db, session_id=session_id)} - before
    assert nxt in emitted
    expected_stage = (
        nxt if nxt in REPORTABLE_STAGES | {"verification.failed"} else ("verification.completed")
    )
    assert session["stage"] == expected_stage
    assert session["stages"][-1]["stage"] == expected_stage


def _refused(current: str) -> list[tuple[str, dict[str, str]]]:
    """Every report refused at `current`: plain stages, both verdicts, the failure."""
    reports = [(nxt, {}) for nxt in sorted(REPORTABLE_STAGES) if nxt not in TRANSITIONS[current]]
    for verdict in ("live", "fake"):
        try:
            stages_for_verdict(current, verdict)
        except TransitionError:
            reports.append(("result", {"verdict": verdict}))
    if "verification.failed" not in TRANSITIONS[current]:
        reports.append(("failure", {}))
    return reports


@pytest.mark.parametrize("current", STAGES)
async def test_refused_reports_are_409_naming_the_current_stage_and_change_nothing(
    client: httpx.AsyncClient, services: Services, full_key: str, current: str
) -> None:
    session_id = await session_at(client, services, full_key, current)
    events_before = await event_rows(services.db)
    refused = _refused(current)
    assert refused, "every stage refuses something"

    for what, fields in refused:
        if what == "result":
            verdict = LIVE if fields["verdict"] == "live" else FAKE
            response = await post_result(client, full_key, session_id, **verdict)
        elif what == "failure":
            response = await post_failure(client, full_key, session_id)
        else:
            response = await post_stage(client, full_key, session_id, what)
        body = error(response, 409, "conflict")
        assert current in body["message"], (what, body)
        assert body["details"]["current_stage"] == current

    assert await event_rows(services.db) == events_before
    assert (await session_get(client, full_key, session_id))["stage"] == current


async def session_get(client: httpx.AsyncClient, key: str, session_id: str) -> dict[str, str]:
    result: dict[str, str] = data(await client.get(f"/v1/sessions/{session_id}", headers=auth(key)))
    return result


@pytest.mark.parametrize("ending", ["verification.completed", "verification.failed"])
async def test_nothing_follows_an_ended_session(
    client: httpx.AsyncClient, services: Services, full_key: str, ending: str
) -> None:
    session_id = await session_at(client, services, full_key, ending)
    for response in (
        await post_stage(client, full_key, session_id, "verification.started"),
        await post_result(client, full_key, session_id),
        await post_failure(client, full_key, session_id),
    ):
        body = error(response, 409, "conflict")
        assert "the session has ended" in body["message"]
