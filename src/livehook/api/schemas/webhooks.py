"""Webhook request and response shapes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from livehook.api.schemas.common import RequestModel, fields_of
from livehook.domain.addresses import MAX_URL_LENGTH
from livehook.domain.payloads import DEFAULT_PAYLOAD_FORMAT, PayloadFormat
from livehook.domain.signing import SignatureScheme
from livehook.domain.webhooks import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    Webhook,
    redact_headers,
)
from livehook.services.webhooks import WithSecret

RetryPolicyField = Annotated[
    Literal["standard", "once"] | list[Annotated[int, Field(ge=1, le=86400, strict=True)]],
    Field(
        description="`standard` (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 % jitter), "
        "`once` (one retry), or a list of delays in seconds between attempts.",
        examples=["standard", [10, 60, 600]],
    ),
]
WireProfileName = Literal["livehook", "moveris", "verifeye", "verifyyou", "standard-webhooks"]
WIRE_PROFILE_DESCRIPTION = (
    "How deliveries look on the wire (body, event names, headers, signature, User-Agent): "
    "`livehook`, `moveris`, `verifeye`, `verifyyou` or `standard-webhooks`; see "
    "`GET /v1/event-types`. Default: the deployment's (`LIVEHOOK_WIRE_PROFILE`)."
)
SCHEME_DESCRIPTION = (
    "Kept for older clients: `standard-webhooks` selects the wire profile of that name; "
    "otherwise it follows the wire profile."
)
EventList = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(max_length=32, description="Event types to receive; empty means all."),
]
Headers = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]],
    Field(description="Custom headers sent with every delivery (sensitive values are redacted)."),
]


class WebhookCreate(RequestModel):
    url: str = Field(max_length=MAX_URL_LENGTH, examples=["https://example.com/webhooks/livehook"])
    description: str = Field(default="", max_length=500)
    events: EventList = Field(default_factory=list)
    model: str | None = Field(default=None, max_length=32, description="Null: every model.")
    payload_format: PayloadFormat = DEFAULT_PAYLOAD_FORMAT
    signature_scheme: SignatureScheme | None = Field(default=None, description=SCHEME_DESCRIPTION)
    wire_profile: WireProfileName | None = Field(default=None, description=WIRE_PROFILE_DESCRIPTION)
    retry_policy: RetryPolicyField | None = Field(
        default=None, description="Default: the wire profile's (`verifeye`: `once`; `standard`)."
    )
    timeout_seconds: int = Field(
        default=DEFAULT_TIMEOUT_SECONDS, ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS, strict=True
    )
    headers: Headers = Field(default_factory=dict)

    def draft_fields(self) -> dict[str, Any]:
        """The fields of a `WebhookDraft`, by name (its events are a tuple)."""
        return dict(self) | {"events": tuple(self.events)}


class WebhookUpdate(RequestModel):
    """Only the fields sent are changed."""

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    description: str | None = Field(default=None, max_length=500)
    events: EventList | None = None
    model: str | None = Field(default=None, max_length=32)
    payload_format: PayloadFormat | None = None
    signature_scheme: SignatureScheme | None = None
    wire_profile: WireProfileName | None = None
    retry_policy: RetryPolicyField | None = None
    timeout_seconds: int | None = Field(
        default=None, ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS, strict=True
    )
    headers: Headers | None = None
    status: Literal["active", "disabled"] | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)

    # None is the "not sent" default; an explicit null would reach the service as a value.
    @field_validator(
        "url",
        "description",
        "events",
        "payload_format",
        "signature_scheme",
        "wire_profile",
        "retry_policy",
        "timeout_seconds",
        "headers",
        "status",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value


class RotateSecret(RequestModel):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 86400,
        strict=True,
        description="How long the old secret keeps signing beside the new one (default 24 h).",
    )


class WebhookPublic(BaseModel):
    """A webhook as the API shows it: read from the `Webhook` record by attribute name."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    api_key_id: str
    url: str
    description: str
    events: list[str]
    model: str | None
    payload_format: str
    signature_scheme: str
    wire_profile: str
    retry_policy: str | list[int]
    timeout_seconds: int
    headers: dict[str, str]
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime

    # Custom headers often carry credentials: whatever builds this model shows them redacted.
    @field_validator("headers", mode="before")
    @classmethod
    def _redacted(cls, headers: Mapping[str, str]) -> dict[str, str]:
        return redact_headers(headers)

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookPublic:
        return cls.model_validate(webhook)


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="The signing secret. Shown once: store it now.")
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="After a rotation: when the old secret stops signing."
    )

    @classmethod
    def of_shown(cls, shown: WithSecret) -> WebhookWithSecret:
        # The webhook's fields, then the secret and when the old one stops, by name.
        return cls.model_validate(fields_of(shown.webhook, shown))
