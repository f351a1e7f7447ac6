"""JSON Schemas and examples of every event in every wire profile, for `GET /v1/event-types`.

The envelope profiles (`livehook`, `moveris`, `standard-webhooks`) send livehook's payloads, so
their schemas are `event_schemas.schema_for`; the others get theirs here. Examples are built by
`profiles.build_body`, the code that builds real deliveries, so they cannot drift from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from livehook.domain import profiles
from livehook.domain.catalog import EVENT_TYPES
from livehook.domain.event_schemas import SCHEMA_DIALECT, example_for, schema_for
from livehook.domain.payloads import JSONObject

_UUID: JSONObject = {"type": "string", "format": "uuid"}
_NULLABLE_STRING: JSONObject = {"type": ["string", "null"]}
_EXAMPLE_FACTS = profiles.SessionFacts("user_123", "signup-campaign", 0.92)


def _closed(properties: dict[str, Any], title: str, schema_id: str) -> JSONObject:
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": schema_id,
        "title": title,
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def profile_schema(profile: profiles.WireProfile, event_type: str) -> JSONObject:
    """The JSON Schema of `event_type` as `profile` sends it (the full format)."""
    if profile.body == "envelope":
        return schema_for(event_type, "full")
    wire = profile.event_names[event_type]
    schema_id = f"urn:livehook:{profile.name}:{event_type}"
    if profile.body == "session-id":
        properties: JSONObject = {
            "event": {"const": wire, "description": "Whatever the outcome; fetch the result."},
            "verificationSessionId": _UUID,
        }
        return _closed(properties, f"{wire} ({profile.name})", schema_id)
    properties = {
        "stage": {"const": wire, "description": f"Also in the {profile.headers.event} header."},
        "step": {"const": EVENT_TYPES[event_type].step},
        "occurred_at": {"type": "string", "format": "date-time"},
        "verification_id": _UUID,
        "external_id": _NULLABLE_STRING,
        "external_tracker": _NULLABLE_STRING,
        "trust_score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    }
    return _closed(properties, f"{wire} ({profile.name})", schema_id)


def profile_example(profile: profiles.WireProfile, event_type: str) -> JSONObject:
    """A realistic body of `event_type` as `profile` sends it."""
    example = example_for(event_type, "full")
    return profiles.build_body(
        profile,
        fmt="full",
        event_id=example["id"],
        event_type=event_type,
        session_id=example["session_id"],
        occurred_at=datetime.fromisoformat(example["timestamp"]).astimezone(UTC),
        data=example["data"],
        facts=_EXAMPLE_FACTS,
    )


def profiles_of(event_type: str) -> dict[str, JSONObject]:
    """Per profile that sends `event_type`: its name on the wire, schema and example."""
    return {
        profile.name: {
            "event": profile.event_names[event_type],
            "schema": profile_schema(profile, event_type),
            "example": profile_example(profile, event_type),
        }
        for profile in profiles.PROFILES.values()
        if profile.carries(event_type)
    }


def profile_catalog() -> list[JSONObject]:
    """Every wire profile: its headers, signature, agent and what it sends."""
    return [
        {
            "name": profile.name,
            "description": profile.description,
            "body": profile.body,
            "payload_formats": list(profile.payload_formats),
            "signature": profile.signature,
            "user_agent": profile.user_agent,
            "headers": {
                "event": profile.headers.event,
                "session": profile.headers.session,
                "id": profile.headers.id,
                "timestamp": profile.headers.timestamp,
                "signature": profile.headers.signature,
                "signature_previous": profile.headers.signature_previous,
                "test": profile.headers.test,
            },
            "events": dict(profile.event_names),
            "default_events": list(profile.default_events),
            "callback_events": list(profile.callback_events),
            "retry_policy": profile.retry_policy,
        }
        for profile in profiles.PROFILES.values()
    ]
