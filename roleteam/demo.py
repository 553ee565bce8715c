"""`roleteam demo`: a team works one plan end to end on the embedded dev server.

No API key needed: the default provider is the offline `echo` model, which answers with the
prompt it was given. The prompts of the reporting steps therefore carry the JSON a real model
would write (a finding, the Lead's decision, a revalidation verdict), and the same parsing path
that reads a real model's reply reads the echo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from roleteam.activities.settings import check_provider_settings
from roleteam.client import DEFAULT_ADDRESS, RoleTeam, connect
from roleteam.devserver import DEFAULT_DB, DevServer, port_open
from roleteam.errors import RoleteamError
from roleteam.output import artifact_text, console, print_json
from roleteam.plan_client import PlanTeam
from roleteam.plan_output import action_text, findings_table, gate_text, plan_text
from roleteam.registry import validate_plan_id
from roleteam.worker_runtime import build_worker

FINDING = {
    "id": "empty-url",
    "title": "POST /shorten accepts an empty URL",
    "description": "An empty 'url' returns 201 and a short code that redirects nowhere.",
    "severity": "high",
    "evidence": 'curl -d \'{"url": ""}\' localhost:8000/shorten -> 201 {"code": "a1"}',
    "files": ["app/shorten.py"],
}


def _fenced(value: dict) -> str:
    return "```json\n" + json.dumps(value, indent=2) + "\n```"


async def run_demo(
    plan_id: str | None,
    keep: bool,
    json_out: bool,
    address: str | None,
    port: int | None = None,
    ui_port: int | None = None,
) -> None:
    """Run the demo on the server at `address`, or on localhost:`port` (started if none runs)."""
    if plan_id is not None:
        validate_plan_id(plan_id)  # before a server is started for nothing
    check_provider_settings()
    if address and port:
        raise RoleteamError(f"--port {port} and --address {address}: give one of them")
    if port:
        address = f"127.0.0.1:{port}"
    address = address or DEFAULT_ADDRESS
    server = None
    host, _, grpc_port = address.rpartition(":")
    ui_port = ui_port or int(grpc_port) + 1000
    if not port_open(host or "localhost", int(grpc_port)):
        if address != DEFAULT_ADDRESS and not port:
            raise RoleteamError(f"no Temporal server at {address}: start one, or give --port to start one")
        default = int(grpc_port) == DevServer.port
        server = DevServer(
            db_file=DEFAULT_DB if default else DEFAULT_DB.with_name(f"temporal-{grpc_port}.db"),
            port=int(grpc_port),
            ui_port=ui_port,
        )
        if port_open(server.ip, ui_port):
            raise RoleteamError(f"--ui-port {ui_port} is already in use: pick a free one with --ui-port")
        _say(json_out, f"starting the embedded Temporal dev server (state in {server.db_file}) …")
        server.start()
        address = server.address
    ui_base = server.ui_url if server else f"http://{host or 'localhost'}:{ui_port}"
    try:
        await _run_team(plan_id, keep, json_out, address, ui_base, started_server=server is not None)
    finally:
        if server:
            server.stop()


def ui_link(ui_base: str, plan_id: str, namespace: str = "default") -> str:
    """The Web UI's workflow list filtered to one plan."""
    return f"{ui_base}/namespaces/{quote(namespace)}/workflows?query=" + quote(f'PlanId="{plan_id}"')


async def _run_team(plan_id, keep, json_out, address, ui_base, started_server) -> None:
    client = await connect(address)
    team = RoleTeam(client)
    plans = PlanTeam(client, task_queue=team.task_queue)
    plan_id = plan_id or f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
    artifacts = []
    async with build_worker(client):
        await plans.open(plan_id, "standard")
        _say(json_out, f"worker up; plan {plan_id} (team 'standard': five required roles)\n")

        async def step(role: str, prompt: str, invocation_id: str | None = None):
            request = team.request(prompt, invocation_id, requested_by="demo")
            artifact = await team.invoke(plan_id, role, request)
            artifacts.append(artifact)
            _say(json_out, artifact_text(artifact) + "\n")
            return artifact

        await step(
            "lead", "Goal: ship a URL shortener with click analytics. Set scope and acceptance criteria."
        )
        await step(
            "planner", "Break the Lead's goal into three steps, each with the evidence that shows it is done."
        )
        await step("developer", "Implement step 1: POST /shorten returns a short code; add tests.")
        await step(
            "validator",
            "Validate step 1 independently and report findings to the Lead as JSON. You found:\n"
            + _fenced({"findings": [FINDING]}),
        )
        await _wait(plans, plan_id, lambda s: s.findings)
        state = await plans.state(plan_id)
        _say(json_out, "— the Validator's finding waits for the Lead; nothing is fixed on its own:")
        _show(json_out, findings_table(state.findings, f"findings of plan {plan_id}"))
        _say(json_out, gate_text(state.gate) + "\n")

        await step(
            "lead",
            "Review the Validator's finding and record your decision as JSON:\n"
            + _fenced(
                {
                    "reviews": [
                        {
                            "finding": "F-0001",
                            "decision": "accept",
                            "reason": "Reject empty and malformed URLs with 422; add a test.",
                            "dispatch": True,
                        }
                    ]
                }
            ),
        )
        _say(
            json_out,
            "— the Lead accepted F-0001 and dispatched it; the Developer gets the remediation packet:",
        )
        await _wait(plans, plan_id, lambda s: _status(s, "F-0001") == "awaiting_revalidation")
        artifacts.append(await team.artifact(plan_id, "developer", "fix:F-0001:r1"))
        _say(json_out, artifact_text(artifacts[-1]) + "\n")

        await step(
            "validator",
            "Revalidate F-0001 against the Developer's fix and give your verdict as JSON:\n"
            + _fenced({"revalidations": [{"finding": "F-0001", "verdict": "resolved", "reason": "422 now"}]}),
        )
        await _wait(plans, plan_id, lambda s: _status(s, "F-0001") == "resolved")
        state = await plans.state(plan_id)
        _say(json_out, "— F-0001 is resolved; the gate still waits for the Release Manager:")
        _say(json_out, gate_text(state.gate) + "\n")

        waived = await plans.waive(
            plan_id, "role", "release-manager", "No release in this plan: the demo ships nothing."
        )
        _say(json_out, action_text(waived) + "\n")
        completed = await plans.complete(plan_id, "step 1 accepted")
        _say(json_out, action_text(completed) + "\n")
        await _wait(plans, plan_id, lambda s: all(e.status != "active" for e in s.roster))
        state = await plans.state(plan_id)
        ui = ui_link(ui_base, plan_id, client.namespace)
        if json_out:
            print_json({"plan_id": plan_id, "artifacts": artifacts, "plan": state, "ui": ui})
        else:
            console.print(plan_text(state))
            console.print(f"Temporal Web UI: {ui}")
            if started_server and not keep:
                console.print("(the demo stops its server on exit; run `roleteam demo --keep` to browse)")
        if keep:
            _say(json_out, "server and worker stay up; Ctrl-C stops them")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()


def _status(state, finding_id: str) -> str | None:
    return next((f.status for f in state.findings if f.id == finding_id), None)


async def _wait(plans: PlanTeam, plan_id: str, ready, timeout: float = 60.0) -> None:
    """Wait until the plan's state shows what the next step needs (reports arrive by signal)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready(await plans.state(plan_id)):
        if asyncio.get_running_loop().time() > deadline:
            raise RoleteamError(f"plan {plan_id} did not reach the expected state within {timeout:.0f}s")
        await asyncio.sleep(0.2)


def _say(json_out: bool, text: str) -> None:
    if not json_out:
        console.print(text, markup=False)


def _show(json_out: bool, renderable) -> None:
    if not json_out:
        console.print(renderable)
