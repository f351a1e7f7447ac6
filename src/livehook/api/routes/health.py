"""Liveness and readiness probes (no auth: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from livehook.api.deps import ServicesDep
from livehook.api.envelope import error_response, ok

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> JSONResponse:
    return JSONResponse(ok({"status": "ok"}))


@router.get("/readyz", summary="The database answers")
async def readyz(services: ServicesDep) -> JSONResponse:
    if await services.db.ping():
        return JSONResponse(ok({"status": "ok", "database": "ok"}))
    return error_response(503, "not_ready", "the database does not answer")
