"""What the verification tools answer: agent-facing shapes over the API's own.

The webhook, delivery and funnel tools answer the API's shapes (``api/schemas``) unchanged; the
two verification tools answer a smaller view of a session, phrased for an agent's next step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from livehook.api.schemas.common import fields_of
from livehook.api.schemas.sessions import StagePublic
from livehook.api.schemas.stats import FunnelPublic
from livehook.domain.lifecycle import is_ended
from livehook.services.sessions import SessionView


class VerificationStarted(BaseModel):
    session_id: str = Field(description="Pass it to check_verification_status.")
    status: str = Field(description="`pending` until the person opens the flow.")
    model: str
    verification_url: str | None = Field(
        description="The link to hand to the human; null when this deployment has no "
        "verification page configured."
    )
    callback_url: str | None = Field(
        description="Receives the signed outcome (verification.completed or verification.failed)."
    )
    created_at: datetime
    next_step: str = Field(description="What to do now.")


class VerificationStatus(BaseModel):
    session_id: str
    status: str = Field(description="pending, in_progress, cancelled, completed or failed.")
    stage: str = Field(description="The last stage reached.")
    ended: bool = Field(description="True once nothing more will happen: stop polling.")
    stages: list[StagePublic] = Field(description="Stages reached, in order, with their times.")
    result: dict[str, Any] | None = Field(
        description="The verdict once completed: `verdict` (live or fake), `real_score`, "
        "`score`, `confidence`, `type`, …"
    )
    error: dict[str, Any] | None = Field(description="The error, once failed.")
    trust_score: float | None
    model: str
    external_id: str | None
    external_tracker: str | None
    created_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, view: SessionView) -> VerificationStatus:
        # The session's fields by name; only what the view adds is written out.
        session = view.session
        return cls.model_validate(
            fields_of(session)
            | {"session_id": session.id, "ended": is_ended(session.stage), "stages": view.stages}
        )


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class EventTypeSummary(BaseModel):
    name: str
    description: str
    step: int | None = Field(description="Its place in the verification funnel, if any.")
    drop_off: bool = Field(description="A stage where sessions leave the funnel.")
    operational: bool = Field(
        description="About the account's own webhooks: sent only to endpoints naming it."
    )
    resource: str = Field(description="Read this resource for its JSON Schema and an example.")


class EventTypes(BaseModel):
    event_types: list[EventTypeSummary]


class Funnel(FunnelPublic):
    """The API's funnel, its range named `start` and `end` as the tool's arguments are (the
    API's `from` and `to` are Python keywords)."""

    start: datetime = Field(description="Sessions created from (inclusive).")
    end: datetime = Field(description="Until (exclusive).")
