"""Helpers to drive sessions through the API and read what the outbox wrote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import select, update

from livehook.domain.lifecycle import status_for
from livehook.storage.database import Database
from livehook.storage.delivery_queue_sql import WITH_BODY
from livehook.storage.tables import deliveries, delivery_bodies, events, sessions
from tests.support.http import auth, data

MODEL = "mixed-30-v2"
LIVE = {
    "verdict": "live",
    "real_score": 0.94,
    "confidence": 0.94,
    "input_source": "rest_frames",
    "processing_ms": 845,
    "frames_processed": 30,
}
FAKE = LIVE | {"verdict": "fake", "real_score": 0.08, "confidence": 0.91}
FAILURE = {"code": "video_pipeline_error", "message": "The video could not be decoded."}


async def create_session(
    client: httpx.AsyncClient, key: str, status: int = 201, **fields: Any
) -> Any:
    body = {"model": MODEL} | fields
    return data(await client.post("/v1/sessions", json=body, headers=auth(key)), status)


async def post_stage(
    client: httpx.AsyncClient, key: str, session_id: str, stage: str, **fields: Any
) -> httpx.Response:
    body = {"stage": stage} | fields
    return await client.post(f"/v1/sessions/{session_id}/stages", json=body, headers=auth(key))


async def post_result(
    client: httpx.AsyncClient, key: str, session_id: str, **fields: Any
) -> httpx.Response:
    body = LIVE | fields
    return await client.post(f"/v1/sessions/{session_id}/result", json=body, headers=auth(key))


async def post_failure(
    client: httpx.AsyncClient, key: str, session_id: str, **fields: Any
) -> httpx.Response:
    body = FAILURE | fields
    return await client.post(f"/v1/sessions/{session_id}/failure", json=body, headers=auth(key))


async def drive(
    client: httpx.AsyncClient, key: str, session_id: str, stages: Sequence[str]
) -> None:
    """Report plain stages in order; each must be accepted."""
    for stage in stages:
        data(await post_stage(client, key, session_id, stage))


async def create_webhook(client: httpx.AsyncClient, key: str, path: str, **fields: Any) -> Any:
    """A webhook on a loopback URL (tests allow local URLs), so no DNS is involved."""
    body = {"url": f"http://127.0.0.1:9/{path}"} | fields
    return data(await client.post("/v1/webhooks", json=body, headers=auth(key)), 201)


async def force_stage(db: Database, session_id: str, stage: str) -> None:
    """Put a session at `stage` directly: for stages the API never leaves a session at
    (`liveness.passed` / `liveness.failed` are only emitted on the way to completion)."""
    async with db.transaction() as tx:
        await tx.conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id)
            .values(stage=stage, status=status_for(stage))
        )


async def delivery_rows(db: Database, **equal: Any) -> list[Any]:
    query = select(deliveries, delivery_bodies.c.body.label("request_body"))
    query = query.select_from(WITH_BODY).order_by(deliveries.c.id)
    for column, value in equal.items():
        query = query.where(deliveries.c[column] == value)
    async with db.transaction() as tx:
        return list((await tx.conn.execute(query)).all())


async def event_rows(db: Database, **equal: Any) -> list[Any]:
    query = select(events).order_by(events.c.id)
    for column, value in equal.items():
        query = query.where(events.c[column] == value)
    async with db.transaction() as tx:
        return list((await tx.conn.execute(query)).all())


async def count_rows(db: Database) -> dict[str, int]:
    """Rows in the tables a session write touches."""
    counts = {}
    async with db.transaction() as tx:
        for table in (sessions, events, deliveries):
            counts[table.name] = len((await tx.conn.execute(select(table.c.id))).all())
    return counts
