"""Turning the portal's HTML forms into the services' inputs, and back for re-display.

Only the shape is checked here (numbers are numbers, header lines have a colon); every rule
(URL safety, catalog names, bounds) is the service's, whose refusal names the field it is shown
beside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from livehook.domain import catalog
from livehook.domain.payloads import DEFAULT_PAYLOAD_FORMAT
from livehook.domain.signing import SCHEME_HMAC_SHA256
from livehook.domain.webhooks import Webhook, redact_headers
from livehook.services.errors import ServiceError

FIELD_OF_ERROR = {"existing_id": "url"}  # a 409 duplicate is about the URL (with the model)


class FormError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class WebhookForm:
    """The add/edit webhook form as typed, kept to show it again beside any error."""

    url: str = ""
    description: str = ""
    model: str = ""
    events: list[str] = field(default_factory=list)
    payload_format: str = DEFAULT_PAYLOAD_FORMAT
    signature_scheme: str = SCHEME_HMAC_SHA256
    retry_policy: str = "standard"
    retry_delays: str = ""
    timeout_seconds: str = "5"
    headers: str = ""

    @classmethod
    def parse(cls, form: FormData) -> WebhookForm:
        def text(name: str, default: str = "") -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else default

        return cls(
            url=text("url"),
            description=text("description"),
            model=text("model"),
            events=[e for e in form.getlist("events") if isinstance(e, str)],
            payload_format=text("payload_format", DEFAULT_PAYLOAD_FORMAT),
            signature_scheme=text("signature_scheme", SCHEME_HMAC_SHA256),
            retry_policy=text("retry_policy", "standard"),
            retry_delays=text("retry_delays"),
            timeout_seconds=text("timeout_seconds", "5"),
            headers=text("headers"),
        )

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookForm:
        custom = isinstance(webhook.retry_policy, list)
        return cls(
            url=webhook.url,
            description=webhook.description,
            model=webhook.model or "",
            events=list(webhook.events),
            payload_format=webhook.payload_format,
            signature_scheme=webhook.signature_scheme,
            retry_policy="custom" if custom else str(webhook.retry_policy),
            retry_delays=", ".join(map(str, webhook.retry_policy)) if custom else "",
            timeout_seconds=str(webhook.timeout_seconds),
            # Sensitive values stay redacted; sending "[redacted]" back keeps the stored value.
            headers="\n".join(f"{k}: {v}" for k, v in redact_headers(webhook.headers).items()),
        )

    def values(self) -> dict[str, Any]:
        """The fields as the webhook service takes them; FormError names a malformed field."""
        return {
            "url": self.url,
            "description": self.description,
            "model": self.model or None,
            "events": tuple(self.events),
            "payload_format": self.payload_format,
            "signature_scheme": self.signature_scheme,
            "retry_policy": self._retry_policy(),
            "timeout_seconds": self._timeout(),
            "headers": self._headers(),
        }

    def _retry_policy(self) -> str | list[int]:
        if self.retry_policy != "custom":
            return self.retry_policy
        try:
            delays = [int(part) for part in self.retry_delays.replace(",", " ").split()]
        except ValueError:
            raise FormError(
                "retry_policy", "write the delays as whole seconds, e.g. 10, 60, 600"
            ) from None
        if not delays:
            raise FormError("retry_policy", "a custom policy needs at least one delay")
        return delays

    def _timeout(self) -> int:
        try:
            return int(self.timeout_seconds)
        except ValueError:
            raise FormError("timeout_seconds", "the timeout is a whole number of seconds") from None

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate(self.headers.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise FormError("headers", f"line {number}: write each header as `Name: value`")
            headers[name.strip()] = value.strip()
        return headers


def catalog_context() -> dict[str, Any]:
    """The choices the webhook form offers: models (with frames) and event types."""
    return {
        "models": list(catalog.MODELS.values()),
        "event_types": list(catalog.EVENT_TYPES.values()),
    }


def field_errors(exc: ServiceError | FormError) -> dict[str, str]:
    """The message keyed by the form field it belongs beside (``_`` when none fits)."""
    if isinstance(exc, FormError):
        return {exc.field: exc.message}
    details: Mapping[str, Any] = exc.details
    name = details.get("field") or next(
        (FIELD_OF_ERROR[k] for k in details if k in FIELD_OF_ERROR), "_"
    )
    return {str(name): exc.message}
