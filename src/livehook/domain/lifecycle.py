"""The verification session state machine.

A session's state is the last stage it reached; the stage names are the session event types.
It starts at `verification.initialized`. `TRANSITIONS` below is the only place that says what may
follow what; everything else here is derived from it. The choices it encodes:

- Forward only, no repeats: a stage never follows itself or a later one, so funnel counts are
  per-session and monotone. A person who retries liveness does so in a new session.
- Optional steps may be skipped: from any pre-liveness stage an engine may jump ahead (straight
  from `verification.initialized` to `liveness.started` is fine); `account.created` and
  `consent.granted` are optional. Their relative order is the catalog's.
- `liveness.passed`, `liveness.failed` and `liveness.cancelled` only follow `liveness.started`.
- `face.collision` only follows `liveness.passed`: uniqueness is checked on a live face.
- A session ends with `verification.completed` (a verdict) or `verification.failed` (a pipeline
  error). Nothing follows either. `verification.failed` may follow any other stage.
- `verification.completed` follows a liveness verdict: `liveness.passed`, `liveness.failed`, or
  `face.collision` (which implies a live face). `liveness.cancelled` can only end in
  `verification.failed`: the person left before a verdict existed.

Composite reports. The verdict report emits what the verdict implies and the session has not
reached yet, then `verification.completed`: `liveness.started` (so an engine that only reports the
verdict still yields a consistent funnel), the liveness stage matching the verdict, then the
completion. A verdict contradicting a stage already reached (fake after `liveness.passed`) is
refused. The failure report emits `verification.failed` from any stage that has not ended.

Statuses, for pollers of `GET /v1/sessions/{id}`: `pending` until the person opens the flow,
`in_progress` while stages move, `cancelled` once the person abandoned liveness (nothing more will
happen unless the engine reports a failure), then `completed` or `failed`, which are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from livehook.domain.catalog import (
    ACCOUNT_CREATED,
    CONSENT_GRANTED,
    FACE_COLLISION,
    LIVENESS_CANCELLED,
    LIVENESS_FAILED,
    LIVENESS_PASSED,
    LIVENESS_STARTED,
    VERIFICATION_COMPLETED,
    VERIFICATION_FAILED,
    VERIFICATION_INITIALIZED,
    VERIFICATION_STARTED,
)
from livehook.domain.verdicts import LIVE, check_verdict

INITIAL_STAGE = VERIFICATION_INITIALIZED

_LIVENESS_VERDICT_STAGES = frozenset({LIVENESS_PASSED, LIVENESS_FAILED})

TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        VERIFICATION_INITIALIZED: frozenset(
            {
                VERIFICATION_STARTED,
                ACCOUNT_CREATED,
                CONSENT_GRANTED,
                LIVENESS_STARTED,
                VERIFICATION_FAILED,
            }
        ),
        VERIFICATION_STARTED: frozenset(
            {ACCOUNT_CREATED, CONSENT_GRANTED, LIVENESS_STARTED, VERIFICATION_FAILED}
        ),
        ACCOUNT_CREATED: frozenset({CONSENT_GRANTED, LIVENESS_STARTED, VERIFICATION_FAILED}),
        CONSENT_GRANTED: frozenset({LIVENESS_STARTED, VERIFICATION_FAILED}),
        LIVENESS_STARTED: frozenset(
            {LIVENESS_PASSED, LIVENESS_FAILED, LIVENESS_CANCELLED, VERIFICATION_FAILED}
        ),
        LIVENESS_PASSED: frozenset({FACE_COLLISION, VERIFICATION_COMPLETED, VERIFICATION_FAILED}),
        LIVENESS_FAILED: frozenset({VERIFICATION_COMPLETED, VERIFICATION_FAILED}),
        LIVENESS_CANCELLED: frozenset({VERIFICATION_FAILED}),
        FACE_COLLISION: frozenset({VERIFICATION_COMPLETED, VERIFICATION_FAILED}),
        VERIFICATION_COMPLETED: frozenset(),
        VERIFICATION_FAILED: frozenset(),
    }
)
STAGES: tuple[str, ...] = tuple(TRANSITIONS)

# Stages the plain "report a stage" use case may emit; the others come from the verdict and
# failure reports, which carry the data those events need.
REPORTABLE_STAGES: frozenset[str] = (
    frozenset(TRANSITIONS)
    - _LIVENESS_VERDICT_STAGES
    - {
        INITIAL_STAGE,
        VERIFICATION_COMPLETED,
        VERIFICATION_FAILED,
    }
)

PENDING = "pending"
IN_PROGRESS = "in_progress"
CANCELLED = "cancelled"
COMPLETED = "completed"
FAILED = "failed"
SESSION_STATUSES: tuple[str, ...] = (PENDING, IN_PROGRESS, CANCELLED, COMPLETED, FAILED)
FINAL_STATUSES: frozenset[str] = frozenset({COMPLETED, FAILED})

_STATUS_OVERRIDES: Mapping[str, str] = MappingProxyType(
    {
        VERIFICATION_INITIALIZED: PENDING,
        LIVENESS_CANCELLED: CANCELLED,
        VERIFICATION_COMPLETED: COMPLETED,
        VERIFICATION_FAILED: FAILED,
    }
)


class TransitionError(ValueError):
    """A stage was reported that cannot follow the session's current stage."""

    def __init__(self, current: str, attempted: str, detail: str = "") -> None:
        self.current = current
        self.attempted = attempted
        self.allowed = next_stages(current)
        if self.allowed:
            could_follow = "could follow: " + ", ".join(sorted(self.allowed))
        else:
            could_follow = "the session has ended, nothing can follow"
        reason = f" ({detail})" if detail else ""
        super().__init__(
            f"{attempted} cannot follow {current}{reason}; {could_follow}",
        )


def next_stages(current: str) -> frozenset[str]:
    """The stages that may follow `current`; ValueError if `current` is not a stage."""
    try:
        return TRANSITIONS[current]
    except KeyError:
        raise ValueError(f"unknown stage {current!r}; known: {', '.join(STAGES)}") from None


def can_follow(current: str, nxt: str) -> bool:
    """Whether `nxt` may be reported when the session is at `current`."""
    return nxt in next_stages(current)


def check_transition(current: str, nxt: str) -> None:
    """Raise TransitionError unless `nxt` may follow `current`."""
    if not can_follow(current, nxt):
        raise TransitionError(current, nxt)


def is_ended(stage: str) -> bool:
    """Whether the session is over: nothing may follow `stage`."""
    return not next_stages(stage)


def status_for(stage: str) -> str:
    """The session status a poller sees when the session is at `stage`."""
    next_stages(stage)  # reject unknown stages
    return _STATUS_OVERRIDES.get(stage, IN_PROGRESS)


def liveness_stage_for(verdict: str) -> str:
    """`liveness.passed` for a live verdict, `liveness.failed` for a fake one."""
    return LIVENESS_PASSED if check_verdict(verdict) == LIVE else LIVENESS_FAILED


def _has_reached(current: str, stage: str) -> bool:
    """Whether a session at `current` went through `stage` (the table has no cycles)."""
    pending = [stage]
    seen: set[str] = set()
    while pending:
        candidate = pending.pop()
        if candidate == current:
            return True
        if candidate not in seen:
            seen.add(candidate)
            pending.extend(TRANSITIONS[candidate])
    return False


def stages_for_verdict(current: str, verdict: str, *, face_collision: bool = False) -> list[str]:
    """The stages a verdict report emits, in order, ending with `verification.completed`.

    A face collision is found by the uniqueness check after a live liveness result, so it can
    only ride on a live verdict: `liveness.passed`, `face.collision`, then the completion.
    """
    liveness_stage = liveness_stage_for(verdict)
    if face_collision and liveness_stage != LIVENESS_PASSED:
        raise TransitionError(
            current, FACE_COLLISION, "a face collision can only follow a live verdict"
        )
    if is_ended(current):
        raise TransitionError(current, VERIFICATION_COMPLETED)
    if _has_reached(current, liveness_stage):
        stages = [VERIFICATION_COMPLETED]
    elif can_follow(current, liveness_stage):
        stages = [liveness_stage, VERIFICATION_COMPLETED]
    elif can_follow(current, LIVENESS_STARTED):
        stages = [LIVENESS_STARTED, liveness_stage, VERIFICATION_COMPLETED]
    else:
        raise TransitionError(
            current, liveness_stage, f"a {verdict} verdict cannot be reported from here"
        )
    if face_collision and current != FACE_COLLISION:
        stages.insert(-1, FACE_COLLISION)
    return stages


def stages_for_failure(current: str) -> list[str]:
    """The stages a failure report emits: `verification.failed`, unless the session has ended."""
    check_transition(current, VERIFICATION_FAILED)
    return [VERIFICATION_FAILED]
