"""Plans for simulated sessions (`livehook trigger`, `livehook demo`): which reports reach an event.

Pure: a plan is a list of reports; the caller sends them through the real session use cases, so
a simulated session is indistinguishable from one a verification engine drove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from livehook.domain import catalog

ReportKind = Literal["stage", "result", "failure"]


@dataclass(frozen=True, slots=True)
class Report:
    kind: ReportKind
    stage: str | None = None  # for "stage"
    verdict: str = "live"  # for "result"
    face_collision: bool = False  # for "result"


_HAPPY_PATH = (
    Report("stage", catalog.VERIFICATION_STARTED),
    Report("stage", catalog.ACCOUNT_CREATED),
    Report("stage", catalog.CONSENT_GRANTED),
    Report("stage", catalog.LIVENESS_STARTED),
)

# Each target, the reports after the session is created (which emits the first event itself).
_PLANS: dict[str, tuple[Report, ...]] = {
    catalog.VERIFICATION_INITIALIZED: (),
    catalog.VERIFICATION_STARTED: _HAPPY_PATH[:1],
    catalog.ACCOUNT_CREATED: _HAPPY_PATH[:2],
    catalog.CONSENT_GRANTED: _HAPPY_PATH[:3],
    catalog.LIVENESS_STARTED: _HAPPY_PATH,
    catalog.LIVENESS_CANCELLED: (*_HAPPY_PATH, Report("stage", catalog.LIVENESS_CANCELLED)),
    # A verdict report carries the liveness outcome and the completion together.
    catalog.LIVENESS_PASSED: (*_HAPPY_PATH, Report("result", verdict="live")),
    catalog.LIVENESS_FAILED: (*_HAPPY_PATH, Report("result", verdict="fake")),
    catalog.FACE_COLLISION: (*_HAPPY_PATH, Report("result", face_collision=True)),
    catalog.VERIFICATION_COMPLETED: (*_HAPPY_PATH, Report("result", verdict="live")),
    catalog.VERIFICATION_FAILED: (*_HAPPY_PATH, Report("failure")),
}

TRIGGERABLE: tuple[str, ...] = tuple(_PLANS)


def plan_for(event_type: str) -> tuple[Report, ...]:
    """The reports that drive a new session to ``event_type``; ValueError for other types."""
    try:
        return _PLANS[event_type]
    except KeyError:
        raise ValueError(
            f"cannot trigger {event_type!r}; session events that can: {', '.join(TRIGGERABLE)}"
        ) from None
