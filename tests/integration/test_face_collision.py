"""A face collision reaches the funnel through the verdict report (live verdicts only)."""

from __future__ import annotations

import httpx

from livehook.services.registry import Services
from tests.support.http import auth, data, error
from tests.support.sessions import create_session, drive, event_rows, post_result


async def test_live_verdict_with_face_collision_emits_it_before_completion(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    session = await create_session(client, full_key)
    await drive(client, full_key, session["id"], ["verification.started", "liveness.started"])
    polled = data(await post_result(client, full_key, session["id"], face_collision=True))
    assert polled["stage"] == "verification.completed"
    types = [e.type for e in await event_rows(services.db, session_id=session["id"])]
    assert types[-3:] == ["liveness.passed", "face.collision", "verification.completed"]

    funnel = data(await client.get("/v1/stats/funnel", headers=auth(full_key)))
    drop_offs = {s["stage"]: s["sessions"] for s in funnel["drop_offs"]}
    assert drop_offs["face.collision"] == 1


async def test_face_collision_with_a_fake_verdict_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    session = await create_session(client, full_key)
    await drive(client, full_key, session["id"], ["liveness.started"])
    response = await post_result(
        client, full_key, session["id"], verdict="fake", face_collision=True
    )
    assert "face collision" in error(response, 409)["message"]
    types = [e.type for e in await event_rows(services.db, session_id=session["id"])]
    assert types == ["verification.initialized", "liveness.started"]
