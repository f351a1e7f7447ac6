"""OpenTelemetry traces, off unless the standard ``OTEL_*`` variables configure an exporter.

Without them the OpenTelemetry API hands out non-recording spans: a request costs a few
attribute-free calls. With them (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``,
``OTEL_SERVICE_NAME``, …) each API request and each delivery attempt is a span, and an attempt
links to the request that created its event.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

_TRACER_NAME = "livehook"
_CONFIGURING = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def configure_tracing(environ: Mapping[str, str] = os.environ) -> bool:
    """Install an SDK tracer provider if the environment asks for traces; True if it did."""
    exporter_name = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter_name == "none" or not any(environ.get(name) for name in _CONFIGURING):
        return False
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_* variables
    service = environ.get("OTEL_SERVICE_NAME", "livehook")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


def enabled() -> bool:
    """True once a real tracer provider is installed (by ``configure_tracing`` or a test)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _tracer() -> trace.Tracer:
    return trace.get_tracer(_TRACER_NAME)


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    wanted = {b"traceparent", b"tracestate"}
    return {
        name.decode(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name in wanted
    }


@contextmanager
def request_span(scope: Mapping[str, Any], method: str) -> Iterator[Span]:
    """The server span of an API request, continuing a caller's W3C trace if one came."""
    parent = propagate.extract(_headers(scope))
    with _tracer().start_as_current_span(
        method, context=parent, kind=SpanKind.SERVER, record_exception=False
    ) as span:
        span.set_attribute("http.request.method", method)
        yield span


def end_request_span(span: Span, route: str, status: int) -> None:
    span.update_name(f"{span_method(span)} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def span_method(span: Span) -> str:
    attributes = getattr(span, "attributes", None) or {}
    return str(attributes.get("http.request.method", "HTTP"))


def current_carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers, to store beside what this request creates;
    None when nothing is being traced."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


@contextmanager
def attempt_span(
    delivery_id: str, event_id: str, event_type: str, origin: Mapping[str, str] | None
) -> Iterator[Span]:
    """The client span of one delivery attempt, linked to the request that created its event."""
    links = []
    if origin:
        origin_context = trace.get_current_span(propagate.extract(dict(origin))).get_span_context()
        if origin_context.is_valid:
            links.append(Link(origin_context))
    with _tracer().start_as_current_span(
        "deliver " + event_type,
        kind=SpanKind.CLIENT,
        links=links,
        context=None,
        record_exception=False,
    ) as span:
        span.set_attribute("livehook.delivery_id", delivery_id)
        span.set_attribute("livehook.event_id", event_id)
        span.set_attribute("livehook.event_type", event_type)
        yield span
