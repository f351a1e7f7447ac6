"""Simulated sessions, driven through the real use cases (for `trigger`, `demo` and the portal's
test verification)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from livehook.domain.accounts import Principal
from livehook.domain.catalog import MODELS, RECOMMENDED_MODEL
from livehook.domain.sessions import Verdict
from livehook.domain.simulation import Report, plan_for
from livehook.services.sessions import SessionDraft, SessionService, SessionView

SIMULATED_INPUT_SOURCE = "simulated"


def simulated_verdict(report: Report, model: str) -> Verdict:
    live = report.verdict == "live"
    return Verdict(
        verdict=report.verdict,
        real_score=0.94 if live else 0.07,
        confidence=0.93 if live else 0.88,
        input_source=SIMULATED_INPUT_SOURCE,
        processing_ms=845,
        frames_processed=MODELS[model].frames,
        face_collision=report.face_collision,
    )


async def simulate(
    sessions: SessionService,
    principal: Principal,
    event_type: str,
    *,
    model: str = RECOMMENDED_MODEL,
    external_tracker: str | None = "livehook-trigger",
    on_report: Callable[[SessionView], Awaitable[object] | object] | None = None,
) -> SessionView:
    """Create a session and report until ``event_type`` has been emitted.

    ``on_report`` sees the session after its creation and after every report; when it returns an
    awaitable, the next report waits for it (the demo paces itself so a person can follow)."""
    plan = plan_for(event_type)
    view = await sessions.create(
        principal,
        SessionDraft(model=model, external_tracker=external_tracker, external_id="simulated"),
    )
    await _notify(on_report, view)
    for report in plan:
        session_id = view.session.id
        if report.kind == "stage":
            assert report.stage is not None
            view = await sessions.report_stage(principal, session_id, report.stage)
        elif report.kind == "result":
            view = await sessions.report_result(
                principal, session_id, simulated_verdict(report, model)
            )
        else:
            view = await sessions.report_failure(
                principal, session_id, "simulated_failure", "A simulated pipeline error."
            )
        await _notify(on_report, view)
    return view


async def _notify(
    on_report: Callable[[SessionView], Awaitable[object] | object] | None, view: SessionView
) -> None:
    if on_report is not None:
        answer = on_report(view)
        if inspect.isawaitable(answer):
            await answer
