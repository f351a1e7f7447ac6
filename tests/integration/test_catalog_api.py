"""The public catalogs: event types with schemas and examples, and the detection models."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from tests.support.http import auth, data

pytestmark = pytest.mark.usefixtures("no_dns")

# The published catalog and the operational events, in catalog order: written out, so that a
# change to domain/catalog.py shows here.
PUBLISHED_EVENT_TYPES = [
    "verification.initialized",
    "verification.started",
    "account.created",
    "consent.granted",
    "liveness.started",
    "liveness.passed",
    "liveness.failed",
    "liveness.cancelled",
    "face.collision",
    "verification.completed",
    "verification.failed",
    "webhook.disabled",
    "delivery.exhausted",
]


async def event_types(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    catalog: list[dict[str, Any]] = data(await client.get("/v1/event-types"))
    return catalog


async def test_event_types_lists_every_design_type_in_order(client: httpx.AsyncClient) -> None:
    catalog = await event_types(client)
    assert [entry["name"] for entry in catalog] == PUBLISHED_EVENT_TYPES
    for entry in catalog:
        assert set(entry) == {
            "name",
            "description",
            "step",
            "drop_off",
            "operational",
            "schemas",
            "examples",
            "profiles",
        }
        assert entry["description"] and set(entry["schemas"]) == set(entry["examples"]) == {
            "full",
            "thin",
        }


async def test_steps_drop_offs_and_operational_flags_follow_the_design(
    client: httpx.AsyncClient,
) -> None:
    by_name = {entry["name"]: entry for entry in await event_types(client)}
    steps = {name: entry["step"] for name, entry in by_name.items() if entry["step"] is not None}
    assert steps == {
        "verification.initialized": 1,
        "verification.started": 2,
        "consent.granted": 3,
        "liveness.started": 4,
        "liveness.passed": 5,
        "verification.completed": 6,
    }
    drop_offs = {name for name, entry in by_name.items() if entry["drop_off"]}
    assert drop_offs == {"liveness.failed", "liveness.cancelled", "face.collision"}
    operational = {name for name, entry in by_name.items() if entry["operational"]}
    assert operational == {"webhook.disabled", "delivery.exhausted"}


async def test_every_example_validates_against_its_served_schema(
    client: httpx.AsyncClient,
) -> None:
    for entry in await event_types(client):
        for fmt in ("full", "thin"):
            schema, example = entry["schemas"][fmt], entry["examples"][fmt]
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            validator.validate(example)
            assert example["event"] == entry["name"]


async def test_thin_examples_carry_no_data_and_full_ones_do(client: httpx.AsyncClient) -> None:
    for entry in await event_types(client):
        thin, full = entry["examples"]["thin"], entry["examples"]["full"]
        assert set(thin) == {"id", "event", "session_id", "timestamp"}, entry["name"]
        assert set(full) == set(thin) | {"data"}, entry["name"]
        validator = jsonschema.Draft202012Validator(entry["schemas"]["thin"])
        assert not validator.is_valid(full), f"{entry['name']}: thin schema accepts a full body"


async def test_completed_example_holds_the_verdict_fields_of_the_design(
    client: httpx.AsyncClient,
) -> None:
    by_name = {entry["name"]: entry for entry in await event_types(client)}
    completed = by_name["verification.completed"]["examples"]["full"]["data"]
    assert set(completed) >= {
        "verdict",
        "real_score",
        "score",
        "confidence",
        "type",
        "model",
        "input_source",
        "processing_ms",
        "frames_processed",
        "tenant_metadata",
        "warning",
        "created_at",
    }
    assert completed["verdict"] in ("live", "fake") and 0 <= completed["real_score"] <= 1


async def test_models_lists_the_five_models_with_their_frames(client: httpx.AsyncClient) -> None:
    models = data(await client.get("/v1/models"))
    assert models == [
        {"name": "mixed-10-v2", "frames": 10, "recommended": False},
        {"name": "mixed-30-v2", "frames": 30, "recommended": True},
        {"name": "mixed-60-v2", "frames": 60, "recommended": False},
        {"name": "mixed-90-v2", "frames": 90, "recommended": False},
        {"name": "mixed-120-v2", "frames": 120, "recommended": False},
    ]


async def test_catalogs_are_public_documentation_needing_no_key(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/v1/event-types", "/v1/models"):
        assert data(await client.get(path))
        # A bad key is not checked either: nothing here depends on who asks.
        assert data(await client.get(path, headers=auth("lh_not_a_key")))


async def test_every_served_type_and_model_can_be_subscribed(
    client: httpx.AsyncClient, full_key: str
) -> None:
    names = [entry["name"] for entry in await event_types(client)]
    for model in data(await client.get("/v1/models")):
        body = {"url": "https://hooks.acme.example/", "events": names, "model": model["name"]}
        created = data(await client.post("/v1/webhooks", json=body, headers=auth(full_key)), 201)
        assert created["events"] == names and created["model"] == model["name"]


async def test_openapi_documents_the_webhook_and_catalog_routes(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/v1/webhooks"]) == {"get", "post"}
    assert set(paths["/v1/webhooks/{webhook_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/v1/webhooks/{webhook_id}/rotate-secret"]) == {"post"}
    assert "/v1/event-types" in paths and "/v1/models" in paths


async def test_every_profiles_examples_match_its_schemas(client: httpx.AsyncClient) -> None:
    catalog = await event_types(client)
    seen: set[str] = set()
    for entry in catalog:
        for name, shown in entry["profiles"].items():
            jsonschema.validate(shown["example"], shown["schema"])
            seen.add(name)
    assert seen == {"livehook", "moveris", "verifeye", "verifyyou", "standard-webhooks"}
    completed = next(e for e in catalog if e["name"] == "verification.completed")["profiles"]
    assert completed["verifeye"]["example"] == {
        "event": "VerificationCompleted",
        "verificationSessionId": "550e8400-e29b-41d4-a716-446655440000",
    }
    assert completed["verifyyou"]["example"]["stage"] == "verification_completed"
    assert completed["verifyyou"]["example"]["step"] == 6


async def test_wire_profiles_list_their_header_names_and_agents(client: httpx.AsyncClient) -> None:
    listed = {p["name"]: p for p in data(await client.get("/v1/wire-profiles"))}
    assert listed["verifyyou"]["headers"]["signature"] == "X-VerifyYou-Signature"
    assert listed["verifyyou"]["headers"]["event"] == "X-VerifyYou-Event"
    assert listed["moveris"]["user_agent"] == "Moveris-Webhook/1.0"
    assert listed["verifeye"]["retry_policy"] == "once"
    assert listed["standard-webhooks"]["signature"] == "standard-webhooks"
