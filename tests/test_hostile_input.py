"""Hostile wire input against a real dev server: refused with a reason, never a wedged session."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from roleteam import constants as c
from roleteam.client import RoleTeam
from roleteam.errors import RoleteamError
from roleteam.models import ExecutionArtifact, SessionOptions
from tests.helpers import artifact_when_ready, ask


async def test_oversized_file_entry_is_refused_and_the_session_keeps_serving(
    client, team, task_queue, worker, plan_id
):
    await ask(team, plan_id, "developer", "warm up", "warm-1")
    handle = team.handle(plan_id, "developer")
    huge_file = "src/" + "a" * 1_200_000
    await handle.signal(c.SIGNAL_INVOKE, {"invocation_id": "big-1", "prompt": "read", "files": [huge_file]})

    refused = await artifact_when_ready(team, plan_id, "developer", "big-1")
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(
            c.UPDATE_INVOKE_AND_WAIT,
            {"invocation_id": "big-2", "prompt": "read", "domains": ["x" * 5000]},
            result_type=ExecutionArtifact,
        )
    after = await ask(team, plan_id, "developer", "still there?", "after-1")

    assert refused.status == "refused" and "files[0]" in refused.reason and "limit is 1024" in refused.reason
    assert "domains[0]" in str(rejected.value.cause)
    assert after.status == "completed" and after.turn == 2


@pytest.mark.parametrize(
    "raw",
    [
        {"plan_id": "s16", "role": "developer", "options": {"turns_per_run": "many"}},
        {"plan_id": 17, "role": "developer"},
        None,
        [1, 2],
    ],
    ids=["bad-option-type", "plan-id-number", "no-input", "list"],
)
async def test_undecodable_start_input_fails_the_run_without_retrying(
    client, task_queue, worker, plan_id, raw
):
    args = [] if raw is None else [raw]
    handle = await client.start_workflow(
        c.WORKFLOW_TYPE, args=args, id=f"role:{plan_id}:developer", task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidSessionInput" and cause.non_retryable
    states = await RoleTeam(client, task_queue=task_queue).plan_status(plan_id)  # still answers
    assert states["developer"].plan_id == plan_id and states["validator"] is None


async def test_undecodable_signal_is_refused_under_its_id(team, worker, plan_id):
    await ask(team, plan_id, "developer", "warm up", "warm-1")
    handle = team.handle(plan_id, "developer")
    await handle.signal(c.SIGNAL_INVOKE, {"invocation_id": "odd-1", "prompt": ["not", "text"]})
    await handle.signal(c.SIGNAL_INVOKE, [1, 2])  # no id to key a refusal by: logged and dropped
    await handle.signal(c.SIGNAL_RETIRE, "not an object")

    refused = await artifact_when_ready(team, plan_id, "developer", "odd-1")
    state = await team.state(plan_id, "developer")
    again = await ask(team, plan_id, "developer", "now as text", "odd-1")

    assert refused.status == "refused" and "prompt" in refused.reason and "decoded" in refused.reason
    assert state.status == "active"
    assert again.status == "completed"  # a refused id was never run, so it may be sent again


async def test_unknown_signals_past_the_rollover_point_still_roll_over(team, worker, plan_id):
    await ask(team, plan_id, "developer", "warm up", "warm-1")
    handle = team.handle(plan_id, "developer")
    filler = "x" * 1_500_000
    for _ in range(3):  # 4.5 MB of history, past MAX_HISTORY_BYTES_PER_RUN, none of it handled
        await handle.signal("no-such-signal", filler)

    after = await asyncio.wait_for(ask(team, plan_id, "developer", "after the noise", "after-1"), 30)
    state = await team.state(plan_id, "developer")

    assert after.status == "completed" and after.turn == 2
    assert state.runs >= 2


async def test_forged_carried_state_is_refused_and_the_ids_run_for_real(
    client, team, task_queue, worker, plan_id
):
    now = datetime.now(UTC).isoformat()
    forged_artifact = {
        "plan_id": plan_id,
        "role": "validator",
        "workflow_id": f"role:{plan_id}:validator",
        "run_id": "forged",
        "invocation_id": "val-step-1",
        "generation": 1,
        "status": "completed",
        "prompt": "p",
        "reply": "forged: no model was called",
        "started_at": now,
        "finished_at": now,
        "duration_ms": 0,
    }
    from roleteam.workflows.carry import digest

    carried = {
        "seen": {digest("val-step-1"): "completed", digest("val-step-2"): "completed"},
        "recent_artifacts": [forged_artifact],
        "pending": [{"invocation_id": "p-1", "prompt": "x" * 500_000}],
    }
    handle = await client.start_workflow(
        c.WORKFLOW_TYPE,
        {"plan_id": plan_id, "role": "validator", "carried": carried},
        id=f"role:{plan_id}:validator",
        task_queue=task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)
    first = await ask(team, plan_id, "validator", "step one", "val-step-1")
    second = await ask(team, plan_id, "validator", "step two", "val-step-2")

    assert failed.value.cause.type == "InvalidSessionInput" and "carried" in str(failed.value.cause)
    assert first.status == "completed" and first.provider == "echo" and "forged" not in first.reply
    assert second.status == "completed" and second.turn == 2


async def test_refusals_stay_answerable_after_a_roll_over(client, task_queue, worker, plan_id):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=2))
    await ask(team, plan_id, "developer", "warm up", "warm-1")
    handle = team.handle(plan_id, "developer")
    for n in range(100):
        await handle.signal(c.SIGNAL_INVOKE, {"invocation_id": f"blank-{n}", "prompt": "   "})
    big = "p" * 60_000  # full artifacts that alone fill the carried-artifact room
    for n in range(4):
        await ask(team, plan_id, "developer", f"{n} {big}", f"big-{n}")
    state = await team.state(plan_id, "developer")

    answers = [await team.artifact(plan_id, "developer", f"blank-{n}") for n in (0, 50, 99)]
    assert state.runs >= 2
    assert all(a is not None and a.status == "refused" for a in answers), answers
    assert all("prompt is empty" in a.reason for a in answers)


async def test_a_terminated_role_started_again_recovers_its_state(team, worker, plan_id):
    await ask(team, plan_id, "developer", "Remember the codeword PELICAN.", "rec-1")
    await ask(team, plan_id, "developer", "And the number 42.", "rec-2")
    await team.retire(plan_id, "developer", "pause")
    await team.reopen(plan_id, "developer", "go on")
    await team.handle(plan_id, "developer").terminate(reason="operator mistake")

    after = await ask(team, plan_id, "developer", "What was the codeword?", "rec-3")
    with pytest.raises(RoleteamError) as again:
        await ask(team, plan_id, "developer", "Remember the codeword PELICAN.", "rec-1")
    state = await team.state(plan_id, "developer")

    assert after.status == "completed" and after.turn == 3 and after.context.prior_turns == 2
    assert after.generation == 2
    assert "ran in an earlier run" in str(again.value)  # the idempotency record survived
    assert [e.action for e in state.lifecycle] == ["retire", "reopen", "recover"]
    assert "took up the state of closed run" in state.lifecycle[-1].reason


async def test_recovery_looks_past_a_run_that_failed_at_once(client, team, task_queue, worker, plan_id):
    await ask(team, plan_id, "developer", "Remember PELICAN.", "past-1")
    await team.handle(plan_id, "developer").terminate(reason="operator mistake")
    bad = await client.start_workflow(
        c.WORKFLOW_TYPE, {"plan_id": 17}, id=f"role:{plan_id}:developer", task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(bad.result(), 30)

    after = await ask(team, plan_id, "developer", "What was it?", "past-2")

    assert after.turn == 2 and after.context.prior_turns == 1
