"""Optional OpenTelemetry tracing: a tiny facade that does nothing, and imports nothing, until `configure` turns it on.

OpenTelemetry is an optional extra (`pip install 'dlrhub[otel]'`): this module imports it only inside
`configure`, so a process with `tracing = "off"` (the default) never needs it. A trace crosses the outbox as a
W3C `traceparent` string stored on the message and its callbacks (`inject` writes it, `span(parent=...)` reads it).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

#: The span kinds `span` takes, by name.
KINDS = ("internal", "server", "client", "consumer")

_tracer: Any = None
_provider: Any = None
#: What `span` gives while tracing is off: one shared no-op (no generator made per call, on the hot path).
_OFF: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


def enabled() -> bool:
    """True once `configure` turned tracing on in this process."""
    return _tracer is not None


def configure(mode: str, processor: Any = None) -> None:
    """Turn tracing on (`on`, `console`) or off (`off`) for this process, service name `dlrhub`.

    `processor` (an OpenTelemetry SpanProcessor, for tests) replaces the exporter the mode names. The provider is
    this module's own, not OpenTelemetry's global one, so turning it on again (in tests) is allowed.
    """
    global _tracer, _provider
    shutdown()
    mode = mode.strip().lower()
    if mode == "off" and processor is None:
        return
    from opentelemetry.sdk import resources
    from opentelemetry.sdk import trace as sdk_trace
    from opentelemetry.sdk.trace import export

    if processor is None:
        if mode == "console":
            processor = export.BatchSpanProcessor(export.ConsoleSpanExporter(out=sys.stderr))
        else:
            from opentelemetry.exporter.otlp.proto.http import trace_exporter

            processor = export.BatchSpanProcessor(trace_exporter.OTLPSpanExporter())
    provider = sdk_trace.TracerProvider(resource=resources.Resource.create({"service.name": "dlrhub"}))
    provider.add_span_processor(processor)
    _provider, _tracer = provider, provider.get_tracer("dlrhub")


def shutdown() -> None:
    """Export the spans still buffered and turn tracing off."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def span(
    name: str, parent: str | None = None, kind: str = "internal", **attrs: Any
) -> contextlib.AbstractContextManager[None]:
    """A span `name` around the block, with `attrs` (None values left out); a no-op while tracing is off.

    Its parent is the span `parent` (a W3C traceparent string) when given and valid, else the current span.
    """
    if _tracer is None:
        return _OFF
    return _span(name, parent, kind, attrs)


@contextlib.contextmanager
def _span(name: str, parent: str | None, kind: str, attrs: dict[str, Any]) -> Iterator[None]:
    from opentelemetry import trace

    attributes = {k.replace("_", "."): v for k, v in attrs.items() if v is not None}
    with _tracer.start_as_current_span(
        name,
        context=extract(parent) if parent else None,
        kind=getattr(trace.SpanKind, kind.upper()),
        attributes=attributes,
    ):
        yield


def inject() -> str | None:
    """The current span's W3C traceparent, or None (tracing off, or no span)."""
    if _tracer is None:
        return None
    from opentelemetry.trace.propagation import tracecontext

    carrier: dict[str, str] = {}
    tracecontext.TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def extract(traceparent: str | None) -> Any:
    """An OpenTelemetry Context whose parent is `traceparent`, or None (tracing off, or nothing given)."""
    if _tracer is None or not traceparent:
        return None
    from opentelemetry.trace.propagation import tracecontext

    return tracecontext.TraceContextTextMapPropagator().extract({"traceparent": traceparent})


def incoming(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The `traceparent` header of an ASGI request, if any (its validity is `extract`'s business)."""
    for name, value in headers:
        if name == b"traceparent":
            return value.decode("latin-1")
    return None
