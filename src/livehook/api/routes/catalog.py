"""The event and model catalogs: what can be subscribed to, with schemas and examples."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from livehook.api.envelope import Envelope
from livehook.domain.catalog import MODELS
from livehook.domain.event_schemas import event_type_catalog
from livehook.domain.profile_schemas import profile_catalog, profiles_of

router = APIRouter(prefix="/v1", tags=["catalog"])


class EventTypeInfo(BaseModel):
    name: str
    description: str
    step: int | None
    drop_off: bool
    operational: bool
    schemas: dict[str, Any]
    examples: dict[str, Any]
    profiles: dict[str, Any] = Field(
        description="Per wire profile that sends this event: its name on the wire, the JSON "
        "Schema and an example of the body (`full` format)."
    )


class WireProfileInfo(BaseModel):
    name: str
    description: str
    body: str
    payload_formats: list[str]
    signature: str
    user_agent: str
    headers: dict[str, str | None]
    events: dict[str, str] = Field(description="Catalog type -> the name sent on the wire.")
    default_events: list[str] = Field(description="What an empty subscription receives.")
    callback_events: list[str] = Field(description="What a session callback receives.")
    retry_policy: str = Field(description="Default retry policy of its webhooks and callbacks.")


class ModelInfo(BaseModel):
    name: str
    frames: int
    recommended: bool


@router.get(
    "/event-types",
    response_model=Envelope[list[EventTypeInfo]],
    summary="Every event type with its JSON Schema and an example, per payload format",
)
async def event_types() -> Envelope[list[EventTypeInfo]]:
    return Envelope(
        data=[
            EventTypeInfo(**entry, profiles=profiles_of(entry["name"]))
            for entry in event_type_catalog()
        ]
    )


@router.get(
    "/wire-profiles",
    response_model=Envelope[list[WireProfileInfo]],
    summary="Every wire profile: body shape, event names, headers, signature, User-Agent",
)
async def wire_profiles() -> Envelope[list[WireProfileInfo]]:
    """A deployment picks its default profile (`LIVEHOOK_WIRE_PROFILE`); a webhook may pick
    another (`wire_profile`), and so may a session callback (`callback_profile`).

    Every profile verifies with `livehook.receiver` (standard library only):

    ```python
    from livehook.receiver import verify

    event = verify(raw_body, headers, secret=SECRET)  # the webhook's or the key's callback secret
    # livehook, moveris, standard-webhooks: event["event"], event["session_id"], event["data"]
    # verifeye: event["verificationSessionId"], then GET
    #   /v1/verification/get-session-result?verificationSessionId=... (Authorization: ApiKey)
    # verifyyou: event["stage"], event["step"], event["external_tracker"], event["trust_score"]
    ```
    """
    return Envelope(data=[WireProfileInfo(**entry) for entry in profile_catalog()])


@router.get("/models", response_model=Envelope[list[ModelInfo]], summary="The detection models")
async def models() -> Envelope[list[ModelInfo]]:
    return Envelope(
        data=[
            ModelInfo(name=m.name, frames=m.frames, recommended=m.recommended)
            for m in MODELS.values()
        ]
    )
