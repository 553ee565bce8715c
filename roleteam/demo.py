"""`roleteam demo`: a small team works one plan end to end on the embedded dev server.

No API key needed: the default provider is the offline `echo` model.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from activities.settings import check_provider_settings
from roleteam.client import DEFAULT_ADDRESS, RoleTeam, connect
from roleteam.devserver import DevServer, port_open
from roleteam.errors import RoleteamError
from roleteam.output import artifact_text, console, print_json, status_table
from roleteam.registry import validate_plan_id
from roleteam.worker_runtime import build_worker

SCRIPT = [
    ("lead", "Goal: ship a URL shortener with click analytics. Set scope and acceptance criteria."),
    ("planner", "Break the Lead's goal into three steps, each with the evidence that shows it is done."),
    ("developer", "Implement step 1: POST /shorten returns a short code; add tests."),
    ("validator", "Validate step 1 independently and report findings to the Lead."),
    ("lead", "Review the Validator's findings for step 1 and record a decision for each."),
]


async def run_demo(plan_id: str | None, keep: bool, json_out: bool, address: str | None) -> None:
    if plan_id is not None:
        validate_plan_id(plan_id)  # before a server is started for nothing
    check_provider_settings()
    address = address or DEFAULT_ADDRESS
    server = None
    host, _, port = address.rpartition(":")
    if not port_open(host or "localhost", int(port)):
        if address != DEFAULT_ADDRESS:
            raise RoleteamError(f"no Temporal server at {address}")
        server = DevServer()
        _say(json_out, f"starting the embedded Temporal dev server (state in {server.db_file}) …")
        server.start()
    try:
        await _run_team(plan_id, keep, json_out, address, started_server=server is not None)
    finally:
        if server:
            server.stop()


async def _run_team(plan_id, keep, json_out, address, started_server) -> None:
    client = await connect(address)
    team = RoleTeam(client)
    plan_id = plan_id or f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
    worker = build_worker(client)
    artifacts = []
    async with worker:
        _say(json_out, f"worker up; plan {plan_id}\n")

        async def step(role: str, prompt: str, invocation_id: str | None = None):
            artifact = await team.invoke(
                plan_id, role, team.request(prompt, invocation_id, requested_by="demo")
            )
            artifacts.append(artifact)
            _say(json_out, artifact_text(artifact) + "\n")
            return artifact

        for role, prompt in SCRIPT:
            await step(role, prompt)

        _say(json_out, "— the same invocation id again returns the same artifact; it never runs twice:")
        await step("lead", SCRIPT[-1][1], artifacts[-1].invocation_id)

        _say(json_out, "— retire the Developer; an invocation while retired is refused, not lost:")
        await team.retire(plan_id, "developer", "step 1 done; waiting for review", by="lead")
        await step("developer", "Start step 2 while retired?")
        await team.reopen(plan_id, "developer", "findings accepted; fix them", by="lead")
        _say(json_out, "— reopened: same history, next generation:")
        await step("developer", "Fix the accepted findings from step 1.")
        await step("release-manager", "Prepare release notes for step 1.")

        states = await team.plan_status(plan_id)
        ui = "http://localhost:8233/namespaces/default/workflows?query=" + quote(
            f'WorkflowId STARTS_WITH "role:{plan_id}:"'
        )
        if json_out:
            print_json({"plan_id": plan_id, "artifacts": artifacts, "roles": states, "ui": ui})
        else:
            console.print(status_table(plan_id, states))
            console.print(f"Temporal Web UI: {ui}")
            if started_server and not keep:
                console.print("(the demo stops its server on exit; run `roleteam demo --keep` to browse)")
        if keep:
            _say(json_out, "server and worker stay up; Ctrl-C stops them")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()


def _say(json_out: bool, text: str) -> None:
    if not json_out:
        console.print(text, markup=False)
