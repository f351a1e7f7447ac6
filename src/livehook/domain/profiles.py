"""Wire profiles: how a delivery looks on the wire, one declaration per published guide.

A profile fixes the body shape, the event and stage names, the header names (event, session,
id, timestamp, signature, test marker), the signature format and the ``User-Agent``. Each one
reproduces its guide exactly; where a guide is silent, livehook adds only what a receiver
written from that guide cannot trip on: headers (a receiver reads the headers it knows and
ignores the rest), never a body field a strict parser could refuse.

- ``livehook`` (the default): ``{"id", "event", "session_id", "timestamp", "data"}`` and the
  ``X-Webhook-*`` headers, signed ``sha256=<hex>``.
- ``moveris``: the same body and headers, ``User-Agent: Moveris-Webhook/1.0``. An "all events"
  subscription means the guide's two events (``verification.completed`` and ``.failed``).
- ``verifeye``: ``{"event": "VerificationCompleted", "verificationSessionId": …}`` whatever
  the outcome (the receiver fetches the result); sent when a session ends; one attempt and one
  retry unless the webhook or session names another policy. livehook's signature and id ride
  in headers.
- ``verifyyou``: the flat body ``{stage, step, occurred_at, verification_id, external_id,
  external_tracker, trust_score}`` with underscore stage names, ``X-VerifyYou-Event`` and
  ``X-VerifyYou-Signature: sha256=<hex>``.
- ``standard-webhooks``: livehook's body with the Standard Webhooks headers (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64>``) beside the ``X-Webhook-*`` ones.

Pure: the module holds declarations and functions of their arguments, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from livehook.domain import payloads, signing
from livehook.domain.catalog import (
    EVENT_TYPES,
    LIVENESS_CANCELLED,
    SESSION_EVENT_TYPES,
    VERIFICATION_COMPLETED,
    VERIFICATION_FAILED,
    webhook_wants,
)

LIVEHOOK: Final = "livehook"
MOVERIS: Final = "moveris"
VERIFEYE: Final = "verifeye"
VERIFYYOU: Final = "verifyyou"
STANDARD_WEBHOOKS: Final = "standard-webhooks"
DEFAULT_PROFILE: Final = LIVEHOOK
DEFAULT_USER_AGENT: Final = "Livehook-Webhook/1.0"

BodyShape = Literal["envelope", "session-id", "flat-stage"]

# Every way a session ends: a verdict, a pipeline failure, the person abandoning liveness.
SESSION_ENDINGS: Final = (VERIFICATION_COMPLETED, VERIFICATION_FAILED, LIVENESS_CANCELLED)
# The VerifEye guide: "Currently always VerificationCompleted", whatever the outcome.
VERIFEYE_EVENT: Final = "VerificationCompleted"


@dataclass(frozen=True, slots=True)
class HeaderNames:
    """Where each piece of a delivery goes; None: this profile does not send it."""

    event: str = "X-Webhook-Event"
    session: str | None = "X-Webhook-Session"
    id: str | None = "X-Webhook-Id"
    timestamp: str | None = signing.HEADER_TIMESTAMP
    signature: str = signing.HEADER_SIGNATURE
    signature_previous: str = signing.HEADER_SIGNATURE_PREVIOUS
    test: str | None = "X-Webhook-Test"


@dataclass(frozen=True, slots=True)
class WireProfile:
    name: str
    description: str
    body: BodyShape
    # Catalog type -> the name this profile sends; a type missing here is never sent.
    event_names: Mapping[str, str]
    # What an empty ("all events") subscription receives.
    default_events: tuple[str, ...]
    headers: HeaderNames
    signature: str  # a scheme of `signing`
    user_agent: str
    # The retry policy of its webhooks and session callbacks unless they name one.
    retry_policy: str = "standard"
    callback_events: tuple[str, ...] = SESSION_ENDINGS

    @property
    def payload_formats(self) -> tuple[str, ...]:
        """`full` / `thin` apply to the envelope only; the other shapes are fixed by a guide."""
        return payloads.PAYLOAD_FORMATS if self.body == "envelope" else ("full",)

    def carries(self, event_type: str) -> bool:
        return event_type in self.event_names

    def wants(
        self,
        event_type: str,
        subscribed: Sequence[str],
        webhook_model: str | None,
        event_model: str | None,
    ) -> bool:
        """Whether an endpoint of this profile subscribed to `subscribed` receives the event:
        `catalog.webhook_wants`, narrowed to what the profile sends and, for an "all events"
        subscription, to its default events."""
        if not self.carries(event_type):
            return False
        if not subscribed and event_type not in self.default_events:
            return False
        return webhook_wants(event_type, subscribed, webhook_model, event_model)


def _same_names(types: tuple[str, ...]) -> Mapping[str, str]:
    return MappingProxyType({name: name for name in types})


_ALL_TYPES = tuple(EVENT_TYPES)
_ENVELOPE_NAMES = _same_names(_ALL_TYPES)

PROFILES: Mapping[str, WireProfile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (
            WireProfile(
                name=LIVEHOOK,
                description="livehook's own: the event envelope and the X-Webhook-* headers.",
                body="envelope",
                event_names=_ENVELOPE_NAMES,
                default_events=SESSION_EVENT_TYPES,
                headers=HeaderNames(),
                signature=signing.SCHEME_HMAC_SHA256,
                user_agent=DEFAULT_USER_AGENT,
            ),
            WireProfile(
                name=MOVERIS,
                description="Moveris' webhook guide: the event envelope, X-Webhook-* headers, "
                "User-Agent Moveris-Webhook/1.0.",
                body="envelope",
                event_names=_ENVELOPE_NAMES,
                default_events=(VERIFICATION_COMPLETED, VERIFICATION_FAILED),
                headers=HeaderNames(),
                signature=signing.SCHEME_HMAC_SHA256,
                user_agent="Moveris-Webhook/1.0",
            ),
            WireProfile(
                name=VERIFEYE,
                description="VerifEye's webhook: {event: VerificationCompleted, "
                "verificationSessionId} when a session ends, one attempt and one retry.",
                body="session-id",
                event_names=MappingProxyType(
                    dict.fromkeys(SESSION_ENDINGS, "VerificationCompleted")
                ),
                default_events=SESSION_ENDINGS,
                headers=HeaderNames(),
                signature=signing.SCHEME_HMAC_SHA256,
                user_agent=DEFAULT_USER_AGENT,
                retry_policy="once",
            ),
            WireProfile(
                name=VERIFYYOU,
                description="VerifyYou's webhooks: a flat body per stage, underscore stage "
                "names, X-VerifyYou-Event and X-VerifyYou-Signature.",
                body="flat-stage",
                event_names=MappingProxyType(
                    {name: name.replace(".", "_") for name in SESSION_EVENT_TYPES}
                ),
                # The guide's ten stages; `verification_failed` is sent only when named.
                default_events=tuple(t for t in SESSION_EVENT_TYPES if t != VERIFICATION_FAILED),
                headers=HeaderNames(
                    event="X-VerifyYou-Event",
                    signature="X-VerifyYou-Signature",
                    signature_previous="X-VerifyYou-Signature-Previous",
                ),
                signature=signing.SCHEME_HMAC_SHA256,
                user_agent=DEFAULT_USER_AGENT,
            ),
            WireProfile(
                name=STANDARD_WEBHOOKS,
                description="livehook's envelope signed per Standard Webhooks (webhook-id, "
                "webhook-timestamp, webhook-signature), beside the X-Webhook-* headers.",
                body="envelope",
                event_names=_ENVELOPE_NAMES,
                default_events=SESSION_EVENT_TYPES,
                headers=HeaderNames(),
                signature=signing.SCHEME_STANDARD_WEBHOOKS,
                user_agent=DEFAULT_USER_AGENT,
            ),
        )
    }
)
PROFILE_NAMES: Final = tuple(PROFILES)
# Stage names as the guides spell them, accepted wherever a stage is reported.
STAGE_ALIASES: Mapping[str, str] = MappingProxyType(
    {wire: name for name, wire in PROFILES[VERIFYYOU].event_names.items()}
)


def get(name: str) -> WireProfile:
    """The profile called `name`; ValueError listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown wire profile {name!r}; known: {', '.join(PROFILE_NAMES)}"
        ) from None


def resolve(profile: str | None, scheme: str | None, fallback: str) -> WireProfile:
    """The profile of an endpoint given its `wire_profile` and the older `signature_scheme`.

    `signature_scheme` predates profiles: `standard-webhooks` there means the profile of that
    name, `hmac-sha256` any profile signing that way (the fallback's, if it does). Both given
    and at odds is a ValueError.
    """
    if profile is not None:
        chosen = get(profile)
        if scheme is not None and scheme != chosen.signature:
            raise ValueError(
                f"wire profile {chosen.name} signs with {chosen.signature}, not {scheme}; "
                "leave signature_scheme out"
            )
        return chosen
    current = get(fallback)
    if scheme is None or scheme == current.signature:
        return current
    if scheme == signing.SCHEME_STANDARD_WEBHOOKS:
        return PROFILES[STANDARD_WEBHOOKS]
    if scheme == signing.SCHEME_HMAC_SHA256:
        return PROFILES[LIVEHOOK]
    raise ValueError(f"unknown signature scheme {scheme!r}")


def retry_policy_of(profile: str, chosen: str | list[int] | None) -> str | list[int]:
    """The retry policy in force: the one chosen, else the profile's."""
    return get(profile).retry_policy if chosen is None else chosen


def fixed_shape_message(profile: WireProfile) -> str:
    """Why `thin` does not apply to a profile whose guide fixes the body."""
    return (
        f"the {profile.name} wire profile sends its guide's one body shape: the payload format "
        "`thin` does not apply (leave it out)"
    )


def stage_name(reported: str) -> str:
    """A reported stage in catalog spelling: `liveness_started` -> `liveness.started`."""
    return STAGE_ALIASES.get(reported, reported)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What a flat body needs beyond the event: the session's labels and running score."""

    external_id: str | None = None
    external_tracker: str | None = None
    trust_score: float | None = None


def verifyyou_timestamp(moment: datetime) -> str:
    """ISO 8601 with microseconds and `+00:00`, as the VerifyYou guide shows."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def build_body(
    profile: WireProfile,
    *,
    fmt: payloads.PayloadFormat,
    event_id: str,
    event_type: str,
    session_id: str | None,
    occurred_at: datetime,
    data: Mapping[str, Any],
    facts: SessionFacts | None = None,
    test: bool = False,
) -> payloads.JSONObject:
    """The payload of one event in `profile`'s shape; ValueError if the profile has no name
    for this event (it is never sent there)."""
    if not profile.carries(event_type):
        raise ValueError(f"the {profile.name} wire profile does not send {event_type}")
    if profile.body == "envelope":
        return payloads.build_payload(
            fmt=fmt,
            event_id=event_id,
            event_type=event_type,
            session_id=session_id,
            occurred_at=occurred_at,
            data=data,
            test=test,
        )
    if session_id is None:
        raise ValueError(f"{profile.name} payloads belong to a session")
    if profile.body == "session-id":
        return {"event": profile.event_names[event_type], "verificationSessionId": session_id}
    facts = facts or SessionFacts()

    def pick(name: str) -> Any:
        value = data.get(name)
        return value if value is not None else getattr(facts, name)

    return {
        "stage": profile.event_names[event_type],
        "step": EVENT_TYPES[event_type].step,
        "occurred_at": verifyyou_timestamp(occurred_at),
        "verification_id": session_id,
        "external_id": pick("external_id"),
        "external_tracker": pick("external_tracker"),
        "trust_score": pick("trust_score"),
    }


def request_headers(
    profile: WireProfile,
    *,
    event_type: str,
    event_id: str,
    session_id: str | None,
    timestamp: int,
    secrets: Sequence[str],
    body: bytes,
    is_test: bool = False,
    user_agent: str | None = None,
    scheme: str | None = None,
) -> dict[str, str]:
    """The headers of one attempt in `profile`'s names, in the order they are sent.

    `user_agent` is the deployment's override; `scheme` an older endpoint's explicit signature
    scheme (the profile's otherwise)."""
    names = profile.headers
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent or profile.user_agent,
        names.event: profile.event_names.get(event_type, event_type),
    }
    if session_id is not None and names.session is not None:
        headers[names.session] = session_id
    if names.id is not None:
        headers[names.id] = event_id
    if names.timestamp is not None:
        headers[names.timestamp] = str(timestamp)
    headers.update(
        signing.signature_headers(
            scheme or profile.signature,
            secrets,
            event_id,
            timestamp,
            body,
            signature_header=names.signature,
            previous_header=names.signature_previous,
        )
    )
    if is_test and names.test is not None:
        headers[names.test] = "true"
    return headers
