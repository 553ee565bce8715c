"""What an operator sees of a team: search attributes, UI summaries and details, live progress."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from roleteam.client import RoleTeam
from roleteam.constants import SIGNAL_INVOKE, WORKFLOW_TYPE, session_workflow_id
from roleteam.models import InvokeInput, SessionInput, SessionOptions
from roleteam.progress import pending_activities, read_progress
from tests.fake_openai import Scripted
from tests.helpers import ROOT, ask, eventually, temporal


async def eventually_listed(client, query: str, count: int) -> list[dict]:
    """Visibility is eventually consistent: wait until `query` lists `count` workflows."""
    found: list[dict] = []

    async def listed() -> list[dict] | None:
        result = await temporal(client, "workflow", "list", "--query", query, timeout=30)
        assert result.code == 0, result.err
        found[:] = json.loads(result.out or "[]") or []
        return list(found) if len(found) == count else None

    return await eventually(
        listed, retry_on=(), what=lambda: f"{query!r} listed {len(found)} workflows, not {count}: {found}"
    )


async def test_temporal_cli_finds_a_retired_role_by_plan_and_status(client, team, worker, plan_id):
    await ask(team, plan_id, "developer", "implement step 1")
    await ask(team, plan_id, "lead", "review step 1")
    await team.retire(plan_id, "developer", "step done")

    retired = await eventually_listed(client, f'PlanId="{plan_id}" AND RoleStatus="retired"', 1)
    active = await eventually_listed(client, f'PlanId="{plan_id}" AND RoleStatus="active"', 1)
    assert retired[0]["execution"]["workflowId"] == session_workflow_id(plan_id, "developer")
    assert active[0]["execution"]["workflowId"] == session_workflow_id(plan_id, "lead")
    [developer] = await eventually_listed(
        client, f'PlanId="{plan_id}" AND CanonicalRole="developer" AND TurnCount=1', 1
    )
    attributes = json.dumps(developer["searchAttributes"])
    assert "SkillCompliance" in attributes


async def test_every_activity_carries_a_summary_naming_its_invocation_and_turn(
    client, task_queue, worker, plan_id
):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(context_token_budget=200))
    for n in range(3):  # long enough that older turns are folded into a summary
        await ask(team, plan_id, "developer", f"step {n}: " + "work " * 60, f"inv-{n}")
    handle = team.handle(plan_id, "developer")

    history = await handle.fetch_history()
    summaries = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and "data" in (
            details := event.marker_recorded_event_attributes.details
        ):
            activity = json.loads(details["data"].payloads[0].data)["activity_type"]  # a local activity
        else:
            continue
        assert event.HasField("user_metadata"), event
        text = client.data_converter.payload_converter.from_payload(event.user_metadata.summary)
        summaries.append(f"{activity} • {text}")
    # The UI shows each as `type • summary`. A fresh session first looks for a closed run to take
    # up (a local activity), and reports to its plan; the invocations' own activities follow, and
    # their bundle files are written in batches.
    assert summaries[0] == "recover_role_state • take up the latest closed run's state"
    assert any(s.startswith("write_artifact_bundles • ") and s.endswith(" bundle files") for s in summaries)
    work = [
        s
        for s in summaries
        if not s.startswith(("recover_role_state", "report_to_plan", "write_artifact_bundles"))
    ]
    # One activity per invocation resolves the role's skills and calls the model (run_turn).
    assert work[:2] == [
        "run_turn • inv-0 · turn 1 · developer",
        "run_turn • inv-1 · turn 2 · developer",
    ]
    assert "run_turn • inv-2 · turn 3 · developer" in work
    folds = [s for s in summaries if s.startswith("summarize_turns")]
    assert folds and folds[0].startswith("summarize_turns • fold turns 1-"), summaries
    description = await handle.describe()
    assert await description.static_summary() == f"Developer · plan {plan_id}"


async def test_current_details_show_status_turns_and_last_outcome(client, team, worker, plan_id):
    await ask(team, plan_id, "developer", "build it", "inv-built")
    await team.retire(plan_id, "developer", "waiting for review")
    refused = await ask(team, plan_id, "developer", "more while retired", "inv-refused")
    assert refused.status == "refused"

    metadata = await team.handle(plan_id, "developer").query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    details = metadata.current_details
    assert f"plan `{plan_id}`" in details
    assert "**status:** retired · generation 1" in details
    assert "**turns:** 1" in details
    assert "**last invocation:** `inv-refused` refused: role 'developer' is retired" in details
    assert "**queue:** empty" in details and "**running:** nothing" in details
    assert "UTC" in details  # timestamps printed the one way


async def test_progress_shows_model_retries_after_http_429(team, worker, plan_id, fake_openai):
    fake_openai.script = [
        Scripted(status=429, headers={"retry-after": "2"}),
        Scripted(status=429, headers={"retry-after": "2"}),
    ]
    running = asyncio.create_task(ask(team, plan_id, "developer", "busy endpoint", "inv-busy"))
    for _ in range(200):  # the second invocation is sent once the first one runs
        if (await read_progress(team, plan_id, "developer", "inv-busy")).phase == "running":
            break
        await asyncio.sleep(0.05)
    queued = asyncio.create_task(ask(team, plan_id, "developer", "after it", "inv-after"))

    seen_retry = seen_queued = None
    for _ in range(200):
        progress = await read_progress(team, plan_id, "developer", "inv-busy")
        if progress.activities and progress.activities[0].attempt >= 2 and not seen_retry:
            seen_retry = progress
        waiting = await read_progress(team, plan_id, "developer", "inv-after")
        if waiting.phase == "queued":
            seen_queued = waiting
        if seen_retry and seen_queued:
            break
        await asyncio.sleep(0.1)

    assert seen_retry is not None, "the retry never showed"
    line = seen_retry.line()
    assert line.startswith("calling the model · attempt 2/6 after model endpoint answered HTTP 429"), line
    assert "next retry in" in line or seen_retry.activities[0].started
    assert seen_queued is not None and seen_queued.line() == "queued behind 1"
    assert (await running).status == "completed"
    assert (await queued).status == "completed"
    assert await pending_activities(team.handle(plan_id, "developer")) == []
    done = await read_progress(team, plan_id, "developer", "inv-busy")
    assert done.phase == "not in flight"


async def test_worker_adds_missing_search_attributes_to_a_fresh_namespace(client, task_queue, plan_id):
    address = client.service_client.config.target_host
    namespace = f"ns-{uuid.uuid4().hex[:10]}"
    created = await temporal(client, "operator", "namespace", "create", namespace=namespace, timeout=30)
    assert created.code == 0, created.err
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": namespace,
        "ROLETEAM_TASK_QUEUE": task_queue,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "worker.py"), env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    try:
        log = b""
        while b"added search attributes" not in log:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert line, f"the worker exited without adding the attributes: {log.decode()}"
            log += line
        assert b"PlanId, CanonicalRole, RoleStatus, SkillCompliance, TeamTemplate, OpenFindings" in log
        other = await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
        team = RoleTeam(other, task_queue=task_queue)
        await team.invoke(plan_id, "developer", team.request("on a fresh namespace"))
        await team.retire(plan_id, "developer", "done")
        found = []
        for _ in range(100):
            found = [w.id async for w in other.list_workflows(f'PlanId="{plan_id}" AND RoleStatus="retired"')]
            if found:
                break
            await asyncio.sleep(0.1)
        assert found == [session_workflow_id(plan_id, "developer")]
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def test_session_with_a_bad_plan_id_fails_at_once_and_indexes_nothing(client, task_queue, worker):
    plan = "p /" * 300  # not a plan id: spaces, slashes, far past 64 characters
    handle = await client.start_workflow(
        WORKFLOW_TYPE,
        SessionInput(plan_id=plan, role="developer"),
        id=session_workflow_id(plan, "developer"),
        task_queue=task_queue,
        start_signal=SIGNAL_INVOKE,
        start_signal_args=[InvokeInput(invocation_id="inv-1", prompt="hi")],
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)
    assert failed.value.cause.type == "InvalidSessionInput" and "plan_id=" in str(failed.value.cause)
    indexed = [w async for w in client.list_workflows(f'WorkflowId="{handle.id}" AND PlanId IS NOT NULL')]
    assert indexed == []
