"""Traces an operator can follow: the API request that reports a verdict is a span, each
delivery attempt is a span, and the attempt links to the request that created its event."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from livehook import tracing
from livehook.services.registry import Services
from tests.support.deliveries import WorkerFactory
from tests.support.http import auth, data
from tests.support.receivers import Receiver
from tests.support.sessions import LIVE, create_session


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        # OpenTelemetry sets its global provider once per process; its own tests reset it
        # this way, so the rest of the suite runs untraced again.
        trace._TRACER_PROVIDER_SET_ONCE._done = False  # type: ignore[attr-defined]
        trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


def named(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name.startswith(prefix)]


async def test_a_verdict_request_links_to_its_delivery_attempts(
    spans: InMemorySpanExporter,
    client: httpx.AsyncClient,
    services: Services,
    full_key: str,
    receiver: Receiver,
) -> None:
    assert tracing.enabled()
    body = {"url": receiver.url("/ok"), "events": ["verification.completed"]}
    data(await client.post("/v1/webhooks", json=body, headers=auth(full_key)), 201)
    session = await create_session(client, full_key)
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    result = await client.post(
        f"/v1/sessions/{session['id']}/result",
        json=LIVE,
        headers=auth(full_key) | {"traceparent": caller},
    )
    data(result)
    factory = WorkerFactory(services)
    try:
        await factory().run_burst()
    finally:
        await factory.close()
    assert len(receiver.received) == 1

    finished = spans.get_finished_spans()
    [request] = named(finished, "POST /v1/sessions/{session_id}/result")
    assert request.kind == trace.SpanKind.SERVER
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    # It continues the caller's trace.
    assert format(request.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    [attempt] = named(finished, "deliver verification.completed")
    assert attempt.kind == trace.SpanKind.CLIENT
    assert attempt.attributes is not None
    assert attempt.attributes["livehook.event_type"] == "verification.completed"
    [link] = attempt.links
    assert link.context.span_id == request.context.span_id
    assert link.context.trace_id == request.context.trace_id


async def test_without_otel_variables_tracing_stays_off() -> None:
    assert not tracing.configure_tracing({})
    assert not tracing.configure_tracing({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.enabled()
    assert tracing.current_carrier() is None
