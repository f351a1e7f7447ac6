"""µs per row for the ways of turning a webhook row into a `Webhook` and a `Webhook` into its
API model: the choice behind `storage/records.py` and `WebhookPublic.of`.

    .venv/bin/python -m bench.records [--rows 2000] [--rounds 7]

Rows come from a real SQLite table (`storage/tables.py: webhooks`) through SQLAlchemy, as the
repositories read them; only the conversion is timed, the median of the rounds is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, insert, select

from livehook.api.schemas.webhooks import WebhookPublic
from livehook.domain.webhooks import Webhook, redact_headers
from livehook.storage.records import columns_for, from_row
from livehook.storage.tables import metadata, webhooks

NOW = datetime(2026, 2, 10, 15, 26, 42, tzinfo=UTC)


def _by_field(row: Any) -> Webhook:
    # The hand-written constructor the repositories had.
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        api_key_id=row.api_key_id,
        url=row.url,
        description=row.description,
        events=tuple(row.events),
        model=row.model or None,
        payload_format=row.payload_format,
        signature_scheme=row.signature_scheme,
        retry_policy=row.retry_policy,
        timeout_seconds=row.timeout_seconds,
        headers={},
        status=row.status,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
        wire_profile=row.wire_profile,
    )


def _by_mapping(row: Any) -> Webhook:
    return from_row(Webhook, row, events=tuple(row.events), model=row.model or None, headers={})


def _by_asdict(row: Any) -> Webhook:
    values = row._asdict()
    values.update(events=tuple(row.events), model=row.model or None, headers={})
    return Webhook(**values)


def _public_by_field(webhook: Webhook) -> WebhookPublic:
    return WebhookPublic(
        id=webhook.id,
        api_key_id=webhook.api_key_id,
        url=webhook.url,
        description=webhook.description,
        events=list(webhook.events),
        model=webhook.model,
        payload_format=webhook.payload_format,
        signature_scheme=webhook.signature_scheme,
        wire_profile=webhook.wire_profile,
        retry_policy=webhook.retry_policy,
        timeout_seconds=webhook.timeout_seconds,
        headers=redact_headers(webhook.headers),
        status=webhook.status,
        disabled_reason=webhook.disabled_reason,
        disabled_at=webhook.disabled_at,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def _rows(count: int) -> Sequence[Any]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(webhooks), [_values(i) for i in range(count)])
    with engine.connect() as conn:
        table_rows = conn.execute(select(webhooks)).all()
        named_rows = conn.execute(select(*columns_for(webhooks, Webhook))).all()
    assert [tuple(r) for r in table_rows] == [tuple(r) for r in named_rows]
    return table_rows


def _values(i: int) -> dict[str, Any]:
    return {
        "id": f"wh_{i:026d}",
        "account_id": "acc_1",
        "api_key_id": "key_1",
        "url": f"https://example.com/hooks/{i}",
        "description": "",
        "events": ["verification.completed"],
        "model": "",
        "payload_format": "full",
        "signature_scheme": "hmac-sha256",
        "retry_policy": "standard",
        "timeout_seconds": 5,
        "headers": None,
        "status": "active",
        "created_at": NOW,
        "updated_at": NOW,
    }


def _median_us(convert: Callable[[Any], object], items: Sequence[Any], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            convert(item)
        timings.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows = _rows(args.rows)
    records = [_by_field(r) for r in rows]
    assert records == [_by_mapping(r) for r in rows] == [_by_asdict(r) for r in rows]
    assert _public_by_field(records[0]) == WebhookPublic.of(records[0])
    options: list[tuple[str, Callable[[Any], object], Sequence[Any]]] = [
        ("row -> Webhook, field by field", _by_field, rows),
        ("row -> Webhook, Webhook(**row._mapping)", _by_mapping, rows),
        ("row -> Webhook, Webhook(**row._asdict())", _by_asdict, rows),
        ("Webhook -> WebhookPublic, field by field", _public_by_field, records),
        ("Webhook -> WebhookPublic, model_validate", WebhookPublic.of, records),
    ]
    for name, convert, items in options:
        print(f"{name:<44} {_median_us(convert, items, args.rounds):7.2f} µs/row")


if __name__ == "__main__":
    main()
