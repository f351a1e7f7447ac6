"""Jinja filters the templates use: times, JSON, status classes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment

from livehook.domain.addresses import MAX_URL_LENGTH
from livehook.domain.deliveries import Bucket


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def pretty_json(raw: str | None) -> str:
    """Indented JSON for reading; the raw view shows the exact bytes beside it."""
    if raw is None:
        return ""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def status_class(status: str | int | None) -> str:
    if isinstance(status, int):
        return "ok" if 200 <= status < 300 else "bad"
    return {"succeeded": "ok", "active": "ok", "failed": "bad", "disabled": "bad"}.get(
        status or "", "wait"
    )


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


CHART_HEIGHT = 100  # SVG units; the bars are scaled to the tallest bucket


def chart_bars(buckets: Sequence[Bucket]) -> list[dict[str, Any]]:
    """SVG geometry of stacked bars (succeeded below, failed above), one per bucket."""
    top = max((b.succeeded + b.failed for b in buckets), default=0) or 1
    bars = []
    for n, bucket in enumerate(buckets):
        ok = CHART_HEIGHT * bucket.succeeded / top
        bad = CHART_HEIGHT * bucket.failed / top
        bars.append(
            {
                "x": n * 12,
                "ok_y": CHART_HEIGHT - ok,
                "ok_h": ok,
                "bad_y": CHART_HEIGHT - ok - bad,
                "bad_h": bad,
                "bucket": bucket,
            }
        )
    return bars


def install(env: Environment) -> None:
    env.filters.update(
        when=when,
        pretty_json=pretty_json,
        as_json=as_json,
        status_class=status_class,
        percent=percent,
        chart_bars=chart_bars,
    )
    # Limits the forms show, so a browser refuses what the service would.
    env.globals.update(max_url_length=MAX_URL_LENGTH)
