"""OpenTelemetry tracing (the `otel` extra): spans collected by an in-memory exporter from a real
client, worker and dev server, with the fake OpenAI-compatible model server."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from roleteam import tracing
from roleteam.client import RoleTeam, connect
from roleteam.constants import session_workflow_id
from roleteam.models import SessionOptions
from roleteam.plan_client import PlanTeam
from roleteam.worker_runtime import build_worker
from roleteam.workflows import ALL_WORKFLOWS, RoleSession
from tests.fake_openai import Scripted
from tests.helpers import ROLETEAM, clean_env, eventually, run
from tests.test_mcp import call
from tests.test_replay import HISTORIES, workflow_id

SECRET_PROMPT = "Deploy with password hunter2-do-not-trace"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()


@pytest.fixture
async def traced_client(client, spans, monkeypatch):
    """A client made by roleteam's own `connect()`, which adds the tracing interceptor."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    return await connect()


async def invoke_traced(traced_client, task_queue, options, plan_id, prompt=SECRET_PROMPT):
    async with build_worker(traced_client, task_queue):
        team = RoleTeam(traced_client, task_queue=task_queue, options=options)
        artifact = await team.invoke(plan_id, "dev", RoleTeam.request(prompt, "inv-traced-1"))
        # Let the session finish its work after the reply (its report to the plan) before the
        # worker stops, so the history read afterwards is the one the spans came from.
        plans = PlanTeam(traced_client, task_queue=task_queue)
        await eventually(lambda: _reported(plans, plan_id))
        return artifact


async def _reported(plans, plan_id) -> bool:
    state = await plans.state(plan_id)
    return state.lineage.total == 1 and state.outbox == 0


def all_text(span) -> str:
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    return f"{span.name} {dict(span.attributes or {})} {events}"


async def test_each_model_call_is_a_genai_span_in_the_invocation_trace(
    spans, traced_client, fake_openai, task_queue, options, plan_id
):
    artifact = await invoke_traced(traced_client, task_queue, options, plan_id)

    assert artifact.status == "completed"
    finished = spans.get_finished_spans()
    [chat] = [span for span in finished if span.name.startswith("chat")]
    assert chat.name == "chat fake-model"
    attributes = dict(chat.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"] == "fake-model"
    assert attributes["gen_ai.usage.input_tokens"] == artifact.usage.prompt_tokens == 11
    assert attributes["gen_ai.usage.output_tokens"] == artifact.usage.completion_tokens == 7
    assert attributes["roleteam.plan_id"] == plan_id
    assert attributes["roleteam.role"] == "developer"
    assert attributes["roleteam.invocation_id"] == "inv-traced-1"
    assert attributes["roleteam.turn"] == 1

    # One trace from the client's call through the workflow to the activity and the model call.
    [client_span] = [span for span in finished if span.name == "StartUpdateWithStartWorkflow:RoleSession"]
    assert chat.context.trace_id == client_span.context.trace_id
    activity_span = next(span for span in finished if span.name == "RunActivity:run_turn")
    assert chat.parent.span_id == activity_span.context.span_id

    # The prompt and the reply never reach the telemetry backend unless asked for.
    for span in finished:
        assert "hunter2" not in all_text(span)


async def test_message_content_is_recorded_only_when_asked_for(
    spans, traced_client, fake_openai, task_queue, options, plan_id, monkeypatch
):
    monkeypatch.setenv(tracing.CAPTURE_CONTENT_ENV, "true")
    artifact = await invoke_traced(traced_client, task_queue, options, plan_id)

    [chat] = [span for span in spans.get_finished_spans() if span.name.startswith("chat")]
    assert SECRET_PROMPT in chat.attributes["gen_ai.input.messages"]
    assert artifact.reply[:200] in chat.attributes["gen_ai.output.messages"]


async def test_replaying_a_traced_history_records_no_spans_again(
    spans, traced_client, task_queue, options, plan_id
):
    await invoke_traced(traced_client, task_queue, options, plan_id)
    handle = traced_client.get_workflow_handle(session_workflow_id(plan_id, "developer"))
    history = await handle.fetch_history()
    recorded = len(spans.get_finished_spans())
    assert any(span.name.startswith("RunWorkflow") for span in spans.get_finished_spans())

    replayer = Replayer(
        workflows=[RoleSession],
        data_converter=pydantic_data_converter,
        interceptors=tracing.client_interceptors(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)

    assert result.replay_failure is None
    assert len(spans.get_finished_spans()) == recorded


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_untraced_histories_replay_with_tracing_on(spans, path):
    data = json.loads(path.read_text())
    history = WorkflowHistory.from_json(workflow_id(data), data)
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=pydantic_data_converter,
        interceptors=tracing.client_interceptors(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)

    assert result.replay_failure is None
    assert spans.get_finished_spans() == ()


async def test_a_failed_model_call_is_an_error_span(spans, traced_client, fake_openai, task_queue, plan_id):
    fake_openai.script.append(Scripted(status=400))  # not retryable: the invocation fails at once
    options = SessionOptions(
        model_heartbeat_timeout_seconds=5, model_timeout_seconds=60, model_max_attempts=1
    )
    artifact = await invoke_traced(traced_client, task_queue, options, plan_id)

    assert artifact.status == "failed"
    [chat] = [span for span in spans.get_finished_spans() if span.name.startswith("chat")]
    assert chat.status.status_code == StatusCode.ERROR
    assert chat.attributes["error.type"]
    assert chat.attributes["roleteam.invocation_id"] == "inv-traced-1"


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace endpoint that keeps what it receives."""

    received: list[ExportTraceServiceRequest] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector():
    """A running OTLP/HTTP collector; `collector.spans()` are the (resource, span) pairs received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    server.endpoint = f"http://127.0.0.1:{server.server_port}"
    server.spans = lambda: [
        (resource.resource, span)
        for request in _Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    yield server
    server.shutdown()


def traced_env(client, task_queue: str, collector) -> dict[str, str]:
    return clean_env(("TEMPORAL_", "ROLETEAM_", "OTEL_")) | {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ROLETEAM_TASK_QUEUE": task_queue,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_SERVICE_NAME": "roleteam-test",
    }


async def test_cli_exports_its_spans_to_the_otlp_endpoint_before_exiting(
    client, worker, plan_id, tmp_path, collector
):
    env = traced_env(client, worker.task_queue, collector)
    result = await run([*ROLETEAM, "invoke", plan_id, "dev", "hi", "--json"], env, tmp_path)

    assert result.code == 0, result.err
    spans = collector.spans()
    assert "StartUpdateWithStartWorkflow:RoleSession" in {span.name for _, span in spans}
    services = {a.value.string_value for r, _ in spans for a in r.attributes if a.key == "service.name"}
    assert services == {"roleteam-test"}


async def test_an_mcp_tool_call_is_the_parent_of_the_temporal_spans(
    client, worker, plan_id, tmp_path, collector
):
    env = traced_env(client, worker.task_queue, collector)
    command, *args = ROLETEAM
    params = StdioServerParameters(command=command, args=[*args, "mcp"], env=env, cwd=str(tmp_path))
    with open(tmp_path / "mcp-stderr.log", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as session:
            artifact = await call(session, "invoke_role", plan=plan_id, role="dev", prompt="hi")

    assert artifact["status"] == "completed"
    for _ in range(100):  # the server flushes its spans as it exits, after the session closed
        spans = {span.name: span for _, span in collector.spans()}
        if "StartUpdateWithStartWorkflow:RoleSession" in spans:
            break
        await asyncio.sleep(0.1)
    tool_call = spans["tools/call invoke_role"]
    update = spans["StartUpdateWithStartWorkflow:RoleSession"]
    assert update.trace_id == tool_call.trace_id
    assert update.parent_span_id == tool_call.span_id
