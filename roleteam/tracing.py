"""Optional OpenTelemetry tracing: `pip install 'roleteam[otel]'` and set OTEL_EXPORTER_OTLP_ENDPOINT.

When enabled, every client and worker uses Temporal's `TracingInterceptor` (replay-safe: workflow
spans are recorded once, never again on replay), so a trace follows an invocation from the client
through the workflow to its activities (under the MCP tool call when it comes from
`roleteam mcp`); and each model call is a span with the OpenTelemetry
GenAI semantic-convention attributes, tagged with plan, role, invocation id and turn. Prompt and
reply text are recorded only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true.

The standard OTEL_* variables configure the exporter (OTEL_EXPORTER_OTLP_PROTOCOL `grpc` or
`http/protobuf`, the default; headers; OTEL_SERVICE_NAME, default `roleteam`). OpenTelemetry is
imported only when tracing is on, so the extra is optional.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from roleteam.errors import RoleteamError

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider
    from temporalio.client import Client

    from roleteam.models import ModelCallInput, ModelReply

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_PROTOCOL"
TRACER_NAME = "roleteam"
# Recorded message text is clipped to this many characters (only with content capture on).
MAX_CONTENT_CHARS = 16_000

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def install(provider: TracerProvider) -> None:
    """Trace with `provider` from now on in this process (tests and embedding use this)."""
    global _provider, _tracer
    _provider, _tracer = provider, provider.get_tracer(TRACER_NAME)


def uninstall() -> None:
    """Stop tracing in this process (spans already started still end)."""
    global _provider, _tracer
    _provider = _tracer = None


def enabled() -> bool:
    """Whether tracing is on: a provider installed, or one built from OTEL_EXPORTER_OTLP_ENDPOINT."""
    if _tracer is None and os.environ.get(ENDPOINT_ENV, "").strip():
        provider = _provider_from_env()
        from opentelemetry import trace

        # Global too, so libraries tracing through the OpenTelemetry API join the same traces:
        # the mcp SDK's span for each tool call becomes the parent of the Temporal client spans.
        trace.set_tracer_provider(provider)
        install(provider)
    return _tracer is not None


def _provider_from_env() -> TracerProvider:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise RoleteamError(
            f"{ENDPOINT_ENV} is set but OpenTelemetry is not installed: pip install 'roleteam[otel]', "
            f"or unset {ENDPOINT_ENV}"
        ) from None
    protocol = os.environ.get(PROTOCOL_ENV, "http/protobuf").strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        raise RoleteamError(f"{PROTOCOL_ENV}={protocol!r}: use 'grpc' or 'http/protobuf'")
    resource_attributes = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name" in resource_attributes
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": "roleteam"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def flush(timeout_seconds: float = 5.0) -> None:
    """Export the spans still buffered; entry points call it before leaving with os._exit.

    Bounded, so an unreachable collector delays an exit by seconds at most.
    """
    force_flush = getattr(_provider, "force_flush", None)
    if force_flush is not None:
        force_flush(int(timeout_seconds * 1000))


def client_interceptors() -> list[Any]:
    """Interceptors for `Client.connect`: Temporal's TracingInterceptor when tracing is on.

    Workers built on such a client inherit it, so both sides share one trace per invocation.
    """
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(_tracer)]


def worker_interceptors(client: Client) -> list[Any]:
    """The TracingInterceptor for a worker whose client does not already carry one."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    if any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"]):
        return []
    return [TracingInterceptor(_tracer)]


def traced_model_call(
    fn: Callable[[ModelCallInput], Awaitable[ModelReply]],
) -> Callable[[ModelCallInput], Awaitable[ModelReply]]:
    """Record each call of the model activity as a GenAI `chat` span (a no-op with tracing off)."""

    @functools.wraps(fn)
    async def traced(call: ModelCallInput) -> ModelReply:
        if _tracer is None:
            return await fn(call)
        from opentelemetry.trace import SpanKind

        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "roleteam.plan_id": call.plan_id,
            "roleteam.role": call.role,
            "roleteam.invocation_id": call.invocation_id,
            "roleteam.turn": call.turn,
        }
        if call.model:  # the role's model from policy; otherwise the provider's configured one
            attributes["gen_ai.request.model"] = call.model
        capture = _capture_content()
        if capture:
            attributes["gen_ai.input.messages"] = _messages("user", call.prompt)
        name = f"chat {call.model}" if call.model else "chat"
        with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
            try:
                reply = await fn(call)
            except Exception as err:  # the span also records the exception and an error status
                span.set_attribute("error.type", getattr(err, "type", None) or type(err).__name__)
                raise
            if not call.model:
                span.update_name(f"chat {reply.model}")
                span.set_attribute("gen_ai.request.model", reply.model)
            span.set_attributes(
                {
                    "gen_ai.system": reply.provider,
                    "gen_ai.provider.name": reply.provider,
                    "gen_ai.response.model": reply.model,
                    "gen_ai.usage.input_tokens": reply.usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": reply.usage.completion_tokens,
                }
            )
            if capture:
                span.set_attribute("gen_ai.output.messages", _messages("assistant", reply.reply))
            return reply

    return traced


def _capture_content() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("1", "true", "yes")


def _messages(role: str, text: str) -> str:
    clipped = text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + " [clipped]"
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": clipped}]}], ensure_ascii=False)
