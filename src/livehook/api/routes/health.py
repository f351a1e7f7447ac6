"""Liveness and readiness probes (no auth: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from livehook.api.deps import ServicesDep
from livehook.api.envelope import error_response, ok
from livehook.delivery.worker import Worker

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> JSONResponse:
    return JSONResponse(ok({"status": "ok"}))


@router.get(
    "/readyz",
    summary="The database answers and, when serve runs one, the delivery worker is alive",
    responses={503: {"description": "Not ready: `details` says which part"}},
)
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    parts = {"database": "ok" if await services.db.ping() else "unavailable"}
    worker: Worker | None = getattr(request.app.state, "worker", None)
    if worker is not None:
        parts["worker"] = worker.health()
    if all(state == "ok" for state in parts.values()):
        return JSONResponse(ok({"status": "ok", **parts}))
    failing = ", ".join(f"{name} {state}" for name, state in parts.items() if state != "ok")
    return error_response(503, "not_ready", f"not ready: {failing}", details=parts)
