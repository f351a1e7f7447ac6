"""Delivery log shapes: a delivery, its attempts, and the redeliver / recover / test requests."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from livehook.api.schemas.common import AwareUtcTime, RequestModel
from livehook.domain.deliveries import Attempt, Delivery
from livehook.domain.listening import is_listen_url


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
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            session_id=delivery.session_id,
            model=delivery.model,
            target_url=delivery.target_url,
            via_cli=is_listen_url(delivery.target_url),
            payload_format=delivery.payload_format,
            signature_scheme=delivery.signature_scheme,
            wire_profile=delivery.wire_profile,
            is_test=delivery.is_test,
            status=delivery.status,
            attempt_count=delivery.attempt_count,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            payload_pruned_at=delivery.payload_pruned_at,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            completed_at=delivery.completed_at,
        )


class AttemptPublic(BaseModel):
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
        return cls(
            number=attempt.number,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            request_headers=dict(attempt.request_headers),
            response_status=attempt.response_status,
            response_headers=(
                None if attempt.response_headers is None else dict(attempt.response_headers)
            ),
            response_body=attempt.response_body,
            error=attempt.error,
            next_attempt_at=attempt.next_attempt_at,
        )


class DeliveryDetailPublic(DeliveryPublic):
    request_body: str | None = Field(
        description="The exact body signed and sent (UTF-8 JSON); null once pruned."
    )
    attempts: list[AttemptPublic]


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
