"""`GET /metrics`: Prometheus text format (no auth, like the probes; it holds no secret)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter
from fastapi.responses import Response

from livehook import metrics
from livehook.api.deps import ServicesDep
from livehook.services.monitoring import refresh_queue_metrics
from livehook.storage.errors import StorageError

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(services: ServicesDep) -> Response:
    # Without the database the scrape still shows the process's own counters (/readyz says why).
    with contextlib.suppress(StorageError):
        await refresh_queue_metrics(services.db)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
