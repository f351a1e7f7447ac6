"""The event and model catalogs: what can be subscribed to, with schemas and examples."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from livehook.api.envelope import Envelope
from livehook.domain.catalog import MODELS
from livehook.domain.schemas import event_type_catalog

router = APIRouter(prefix="/v1", tags=["catalog"])


class EventTypeInfo(BaseModel):
    name: str
    description: str
    step: int | None
    drop_off: bool
    operational: bool
    schemas: dict[str, Any]
    examples: dict[str, Any]


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
    return Envelope(data=[EventTypeInfo(**entry) for entry in event_type_catalog()])


@router.get("/models", response_model=Envelope[list[ModelInfo]], summary="The detection models")
async def models() -> Envelope[list[ModelInfo]]:
    return Envelope(
        data=[
            ModelInfo(name=m.name, frames=m.frames, recommended=m.recommended)
            for m in MODELS.values()
        ]
    )
