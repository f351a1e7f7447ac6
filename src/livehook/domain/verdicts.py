"""Verdicts, scores and confidence bands.

`real_score` is the model's 0..1 liveness score; `score` is the same on a 0..100 scale, rounded to
two places, as the source documents show it (0.94 -> 94.0). `type` in a completed payload is the
confidence band below, chosen so the source documents' example (confidence 0.94, "VERY HIGH")
holds. Bands are closed at their lower bound: 0.9 exactly is VERY HIGH.
"""

from __future__ import annotations

import math

LIVE = "live"
FAKE = "fake"
VERDICTS: tuple[str, ...] = (LIVE, FAKE)

# (lower bound inclusive, band), highest first; the last row catches everything from 0.
CONFIDENCE_BANDS: tuple[tuple[float, str], ...] = (
    (0.90, "VERY HIGH"),
    (0.75, "HIGH"),
    (0.50, "MEDIUM"),
    (0.25, "LOW"),
    (0.00, "VERY LOW"),
)
CONFIDENCE_BAND_NAMES: tuple[str, ...] = tuple(band for _, band in CONFIDENCE_BANDS)

SCORE_DECIMALS = 2  # `score` is shown on a 0..100 scale with two decimals, like the sources


def check_unit_interval(value: float, name: str) -> float:
    """Return `value` if it is a finite number in [0, 1], else raise ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_verdict(verdict: str) -> str:
    """Return `verdict` if it is `live` or `fake`, else raise ValueError."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    return verdict


def score_from_real_score(real_score: float) -> float:
    """The 0..100 `score` for a 0..1 `real_score`."""
    return round(check_unit_interval(real_score, "real_score") * 100, SCORE_DECIMALS)


def real_score_fields(real_score: float) -> dict[str, float]:
    """`real_score` and its `score`, in a payload's order (ValueError outside [0, 1])."""
    score = score_from_real_score(real_score)  # checks it first
    return {"real_score": float(real_score), "score": score}


def confidence_band(confidence: float) -> str:
    """The band name (`VERY HIGH` … `VERY LOW`) for a 0..1 confidence."""
    value = check_unit_interval(confidence, "confidence")
    for lower_bound, band in CONFIDENCE_BANDS:
        if value >= lower_bound:
            return band
    raise AssertionError("the last band's lower bound is 0")  # pragma: no cover
