"""The MCP verification status tells an agent what the API tells a program: every field it
shares with `GET /v1/sessions/{id}` holds the same value, none left out on the way."""

from __future__ import annotations

import httpx
import pytest

from livehook.mcp_server.shapes import VerificationStatus
from livehook.services.registry import Services
from tests.support.http import auth, data
from tests.support.sessions import create_session, post_failure, post_result, post_stage


@pytest.mark.parametrize("ending", ["completed", "failed", "pending"])
async def test_verification_status_matches_the_api_s_session(
    client: httpx.AsyncClient, services: Services, full_key: str, ending: str
) -> None:
    created = await create_session(
        client, full_key, external_id="user-42", external_tracker="spring"
    )
    session_id = created["id"]
    if ending != "pending":
        stage = "verification.started"
        data(await post_stage(client, full_key, session_id, stage, trust_score=0.75))
    if ending == "completed":
        data(await post_result(client, full_key, session_id))
    elif ending == "failed":
        data(await post_failure(client, full_key, session_id))
    api = data(await client.get(f"/v1/sessions/{session_id}", headers=auth(full_key)))

    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    view = await services.sessions.get(principal, session_id)
    status = VerificationStatus.of(view).model_dump(mode="json")

    assert status["session_id"] == api["id"]
    assert status["ended"] is (ending != "pending")
    shared = set(status) & set(api)
    assert shared == set(VerificationStatus.model_fields) - {"session_id", "ended"}
    assert {name: status[name] for name in shared} == {name: api[name] for name in shared}
    # The values the journey set really arrived (not only equal to the API's).
    assert (status["external_id"], status["external_tracker"]) == ("user-42", "spring")
    if ending != "pending":
        assert status["trust_score"] == 0.75
