"""The event catalog, the detection models, and who wants which event.

Session events follow a verification session through its stages (see `lifecycle`); their names are
the stage names. Operational events (`webhook.disabled`, `delivery.exhausted`) are about the
account's own webhooks: they reach only endpoints that name them in their subscription, never the
"all events" subscribers, so turning on a webhook never floods it with housekeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

VERIFICATION_INITIALIZED = "verification.initialized"
VERIFICATION_STARTED = "verification.started"
ACCOUNT_CREATED = "account.created"
CONSENT_GRANTED = "consent.granted"
LIVENESS_STARTED = "liveness.started"
LIVENESS_PASSED = "liveness.passed"
LIVENESS_FAILED = "liveness.failed"
LIVENESS_CANCELLED = "liveness.cancelled"
FACE_COLLISION = "face.collision"
VERIFICATION_COMPLETED = "verification.completed"
VERIFICATION_FAILED = "verification.failed"
WEBHOOK_DISABLED = "webhook.disabled"
DELIVERY_EXHAUSTED = "delivery.exhausted"


@dataclass(frozen=True, slots=True)
class EventType:
    """One entry of the catalog; `step` is the position on the happy path, when it has one."""

    name: str
    step: int | None
    description: str
    drop_off: bool = False
    operational: bool = False


def _index(types: Iterable[EventType]) -> Mapping[str, EventType]:
    return MappingProxyType({event_type.name: event_type for event_type in types})


# Catalog order is the order the portal and `GET /v1/event-types` list them in.
EVENT_TYPES: Mapping[str, EventType] = _index(
    [
        EventType(VERIFICATION_INITIALIZED, 1, "The verification session was created."),
        EventType(VERIFICATION_STARTED, 2, "The person opened the verification flow."),
        EventType(ACCOUNT_CREATED, None, "An account was created for the person."),
        EventType(CONSENT_GRANTED, 3, "The person accepted consent."),
        EventType(LIVENESS_STARTED, 4, "The camera / liveness step began."),
        EventType(LIVENESS_PASSED, 5, "The liveness check returned the verdict live."),
        EventType(
            LIVENESS_FAILED, None, "The liveness check returned the verdict fake.", drop_off=True
        ),
        EventType(
            LIVENESS_CANCELLED, None, "The person abandoned the liveness step.", drop_off=True
        ),
        EventType(
            FACE_COLLISION,
            None,
            "The uniqueness check matched a person who was already verified.",
            drop_off=True,
        ),
        EventType(
            VERIFICATION_COMPLETED, 6, "The verification finished with a verdict (live or fake)."
        ),
        EventType(
            VERIFICATION_FAILED,
            None,
            "Processing failed after validation (pipeline error); data describes the error and "
            "there is no verdict.",
        ),
        EventType(
            WEBHOOK_DISABLED,
            None,
            "One of the account's webhook endpoints was disabled (410 Gone or failing for days).",
            operational=True,
        ),
        EventType(
            DELIVERY_EXHAUSTED,
            None,
            "A delivery used up its retry policy without a 2xx answer.",
            operational=True,
        ),
    ]
)

SESSION_EVENT_TYPES: tuple[str, ...] = tuple(
    name for name, event_type in EVENT_TYPES.items() if not event_type.operational
)
OPERATIONAL_EVENT_TYPES: tuple[str, ...] = tuple(
    name for name, event_type in EVENT_TYPES.items() if event_type.operational
)
# The happy path: the types that carry a step, in step order.
FUNNEL_STAGES: tuple[str, ...] = tuple(
    event_type.name
    for event_type in sorted(EVENT_TYPES.values(), key=lambda t: t.step or 0)
    if event_type.step is not None
)
DROP_OFF_STAGES: tuple[str, ...] = tuple(
    name for name, event_type in EVENT_TYPES.items() if event_type.drop_off
)


@dataclass(frozen=True, slots=True)
class Model:
    """A detection model; the number in its name is the frames it processes."""

    name: str
    frames: int
    recommended: bool = False


MODELS: Mapping[str, Model] = MappingProxyType(
    {
        model.name: model
        for model in (
            Model("mixed-10-v2", 10),
            Model("mixed-30-v2", 30, recommended=True),
            Model("mixed-60-v2", 60),
            Model("mixed-90-v2", 90),
            Model("mixed-120-v2", 120),
        )
    }
)
RECOMMENDED_MODEL: str = next(name for name, model in MODELS.items() if model.recommended)


def check_event_types(names: Iterable[str]) -> tuple[str, ...]:
    """Return `names` without duplicates (first occurrence wins) or raise ValueError naming the
    unknown ones, so a subscription never silently holds a typo."""
    unique = tuple(dict.fromkeys(names))
    unknown = [name for name in unique if name not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    return unique


def check_model(name: str) -> str:
    """Return `name` if it is a known model, else raise ValueError listing the known ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return name


def webhook_wants(
    event_type: str,
    subscribed: Sequence[str],
    webhook_model: str | None,
    event_model: str | None,
) -> bool:
    """Whether an endpoint subscribed to `subscribed` for `webhook_model` receives this event.

    An empty subscription means every non-operational type; operational types must be named.
    A webhook model of None means every model. An event without a model (operational events)
    is not filtered by model: the account's housekeeping concerns all of its endpoints.
    """
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise ValueError(f"unknown event type {event_type!r}")
    type_matches = event_type in subscribed if subscribed else not spec.operational
    model_matches = webhook_model is None or event_model is None or webhook_model == event_model
    return type_matches and model_matches
