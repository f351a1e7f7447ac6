"""Simulated sessions, driven through the real use cases (for `trigger` and `demo`)."""

from __future__ import annotations

from collections.abc import Callable

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
    on_report: Callable[[SessionView], object] | None = None,
) -> SessionView:
    """Create a session and report until ``event_type`` has been emitted."""
    plan = plan_for(event_type)
    view = await sessions.create(
        principal,
        SessionDraft(model=model, external_tracker=external_tracker, external_id="simulated"),
    )
    if on_report:
        on_report(view)
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
        if on_report:
            on_report(view)
    return view
