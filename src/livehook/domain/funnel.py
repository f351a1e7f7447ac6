"""The verification funnel: how many sessions reached each stage, from per-stage counts.

The database counts sessions per event type (one event per type per session: the transition
table never repeats a stage), and this module turns the counts into the funnel. Conversion is
relative to `verification.initialized`, the stage every session starts at. Optional steps may be
skipped, so a later happy-path stage can count more sessions than an earlier one; conversion from
the start is still exact, which is why it is the one reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from livehook.domain.catalog import (
    DROP_OFF_STAGES,
    EVENT_TYPES,
    FUNNEL_STAGES,
    SESSION_EVENT_TYPES,
    VERIFICATION_INITIALIZED,
)

CONVERSION_DECIMALS = 4  # 0.1234 = 12.34 %: finer than anyone reads a funnel
# Session events that are neither a happy-path step nor a drop-off (account.created, …).
OTHER_STAGES: tuple[str, ...] = tuple(
    name
    for name in SESSION_EVENT_TYPES
    if name not in FUNNEL_STAGES and name not in DROP_OFF_STAGES
)


@dataclass(frozen=True, slots=True)
class StageCount:
    stage: str
    step: int | None
    sessions: int
    conversion: float  # sessions / initialized, 0 when nothing was initialized


@dataclass(frozen=True, slots=True)
class Funnel:
    initialized: int
    stages: tuple[StageCount, ...]  # the happy path, in step order
    drop_offs: tuple[StageCount, ...]
    other: tuple[StageCount, ...]


def conversion(reached: int, initialized: int) -> float:
    """`reached / initialized`, rounded; 0.0 for an empty funnel rather than a division error."""
    if reached < 0 or initialized < 0:
        raise ValueError("counts cannot be negative")
    if initialized == 0:
        return 0.0
    return round(reached / initialized, CONVERSION_DECIMALS)


def build_funnel(counts: Mapping[str, int]) -> Funnel:
    """The funnel from sessions counted per event type; types absent from `counts` count 0."""
    unknown = set(counts) - set(SESSION_EVENT_TYPES)
    if unknown:
        raise ValueError(f"not session event types: {', '.join(sorted(unknown))}")
    initialized = counts.get(VERIFICATION_INITIALIZED, 0)

    def counted(names: tuple[str, ...]) -> tuple[StageCount, ...]:
        return tuple(
            StageCount(
                stage=name,
                step=EVENT_TYPES[name].step,
                sessions=counts.get(name, 0),
                conversion=conversion(counts.get(name, 0), initialized),
            )
            for name in names
        )

    return Funnel(
        initialized=initialized,
        stages=counted(FUNNEL_STAGES),
        drop_offs=counted(DROP_OFF_STAGES),
        other=counted(OTHER_STAGES),
    )
