"""Delivery log shapes: a delivery, its attempts, and the redeliver / recover / test requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from livehook.api.schemas.common import AwareUtcTime, RequestModel, fields_of
from livehook.domain.deliveries import Attempt, Delivery
from livehook.domain.listening import is_listen_url
from livehook.services.deliveries import DeliveryDetail


def _shown(delivery: Delivery) -> dict[str, Any]:
    """The record's fields by name, and `via_cli`, the one the API derives."""
    return fields_of(delivery) | {"via_cli": is_listen_url(delivery.target_url)}


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str | None = Field(description="Null for a session's callback_url.")
    event_id: str = Field(description="The same on every attempt: receivers de-duplicate on it.")
    event_type: str
    session_id: str | None
    model: str | None
    target_url: str
    via_cli: bool = Field(
        description="Sent to a developer's `livehook listen` (its answer is the local server's)."
    )
    payload_format: str
    signature_scheme: str
    wire_profile: str = Field(description="How the body and headers look on the wire.")
    is_test: bool
    status: str = Field(description="`pending`, `succeeded` or `failed`.")
    attempt_count: int
    next_attempt_at: datetime | None = Field(
        description="When a pending delivery is attempted next (or its current lease ends)."
    )
    last_status_code: int | None
    last_error: str | None
    payload_pruned_at: datetime | None = Field(
        description="Set once retention removed the payload; attempts stay."
    )
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate(_shown(delivery))


# Read from the `Attempt` record by attribute name. (No docstring: it would be the OpenAPI
# schema's description.)
class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    started_at: datetime
    duration_ms: float
    request_headers: dict[str, str] = Field(
        description="Exactly as sent; values of sensitive custom headers are redacted."
    )
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: str | None = Field(description="The first 4 KiB of the response body.")
    error: str | None = Field(description="Why no HTTP answer came (timeout, refused, …).")
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptPublic:
        return cls.model_validate(attempt)


class DeliveryDetailPublic(DeliveryPublic):
    request_body: str | None = Field(
        description="The exact body signed and sent (UTF-8 JSON); null once pruned."
    )
    attempts: list[AttemptPublic]

    @classmethod
    def of_detail(cls, detail: DeliveryDetail) -> DeliveryDetailPublic:
        return cls.model_validate(_shown(detail.delivery) | {"attempts": detail.attempts})


class RecoverRequest(RequestModel):
    since: AwareUtcTime = Field(
        description="Re-queue failed deliveries created at or after this time (with a zone).",
        examples=["2026-02-10T00:00:00Z"],
    )


class RecoverResult(BaseModel):
    count: int = Field(description="Failed deliveries queued again.")


class SendTestRequest(RequestModel):
    event_type: str = Field(
        default="verification.completed",
        max_length=64,
        description="Which catalog example to send.",
    )
