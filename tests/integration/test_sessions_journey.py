"""Issue 4's "done when", tried as a new user would, through the API only (plus a look at the
outbox table, which the delivery worker reads)."""

from __future__ import annotations

import json

import httpx

from livehook.services.registry import Services
from tests.support.http import auth, data
from tests.support.sessions import create_webhook, delivery_rows

JOURNEY = [
    "verification.started",
    "account.created",
    "consent.granted",
    "liveness.started",
]


async def test_a_session_driven_to_completion_is_polled_delivered_and_counted(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    headers = auth(full_key)
    wants_all = await create_webhook(client, full_key, "all", model="mixed-30-v2")
    wants_outcome = await create_webhook(
        client, full_key, "outcome", events=["verification.completed"], payload_format="thin"
    )
    await create_webhook(client, full_key, "other-model", model="mixed-90-v2")
    await create_webhook(client, full_key, "failures", events=["verification.failed"])

    created = data(
        await client.post(
            "/v1/sessions",
            json={
                "model": "mixed-30-v2",
                "external_id": "user_42",
                "external_tracker": "launch",
                "callback_url": "http://127.0.0.1:9/callback",
            },
            headers=headers,
        ),
        201,
    )
    session_id = created["id"]
    for stage in JOURNEY:
        body = {"stage": stage, "trust_score": 0.8}
        data(await client.post(f"/v1/sessions/{session_id}/stages", json=body, headers=headers))
    verdict = {
        "verdict": "live",
        "real_score": 0.97,
        "confidence": 0.92,
        "input_source": "rest_frames",
        "processing_ms": 640,
        "frames_processed": 30,
    }
    data(await client.post(f"/v1/sessions/{session_id}/result", json=verdict, headers=headers))

    polled = data(await client.get(f"/v1/sessions/{session_id}", headers=headers))
    every_stage = [
        "verification.initialized",
        *JOURNEY,
        "liveness.passed",
        "verification.completed",
    ]
    assert [s["stage"] for s in polled["stages"]] == every_stage
    assert polled["status"] == "completed" and polled["result"]["score"] == 97.0

    rows = await delivery_rows(services.db)
    by_target = {(r.webhook_id, r.event_type) for r in rows}
    assert by_target == {(wants_all["id"], stage) for stage in every_stage} | {
        (wants_outcome["id"], "verification.completed"),
        (None, "verification.completed"),
    }
    assert all(r.status == "pending" for r in rows)
    thin = next(r for r in rows if r.webhook_id == wants_outcome["id"])
    assert set(json.loads(thin.request_body)) == {"id", "event", "session_id", "timestamp"}

    funnel = data(await client.get("/v1/stats/funnel?external_tracker=launch", headers=headers))
    happy_path = [s for s in every_stage if s != "account.created"]
    assert {s["stage"]: s["sessions"] for s in funnel["stages"]} == dict.fromkeys(happy_path, 1)
    assert {s["stage"]: s["sessions"] for s in funnel["other"]}["account.created"] == 1
    assert all(s["conversion"] == 1.0 for s in funnel["stages"])
