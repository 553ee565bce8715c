"""Bounds that keep a busy, long-lived session healthy: queue, rollover, hand-over, retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowFailureError

from roleteam import constants as c
from roleteam.client import RoleTeam
from roleteam.constants import session_workflow_id
from roleteam.history import read_transcript
from roleteam.models import (
    CarriedState,
    ExecutionArtifact,
    InvokeInput,
    LifecycleEvent,
    SessionInput,
    SessionOptions,
    Turn,
)
from roleteam.worker_runtime import build_worker
from roleteam.workflows.carry import digest, fit_carry, payload_bytes
from tests.helpers import artifact_when_ready, eventually


async def test_a_session_started_under_an_alias_fails_at_once_naming_the_canonical_id(
    client, task_queue, worker, plan_id
):
    """Not a second memory for (plan, developer), and not a session living on refusing everything."""
    for role, expected in (
        ("dev", f"workflow id 'role:{plan_id}:developer'"),
        ("nobody", "not a role of the policy"),
    ):
        handle = await client.start_workflow(
            c.WORKFLOW_TYPE,
            SessionInput(plan_id=plan_id, role=role),
            id=f"role:{plan_id}:{role}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 30)
        cause = failed.value.cause
        assert cause.type == "InvalidSessionInput" and cause.non_retryable
        assert expected in cause.message


async def test_queue_full_refusal_does_not_burn_the_invocation_id(client, team, task_queue, plan_id):
    # No worker yet: every signal lands in one activation, past the queue's limit.
    for n in range(c.MAX_PENDING_INVOCATIONS + 1):
        await team.send(plan_id, "developer", team.request(f"job {n}", f"q-{n}"))
    overflow = f"q-{c.MAX_PENDING_INVOCATIONS}"
    async with build_worker(client, task_queue):
        # recorded by the first activation, before any turn runs
        refused = await artifact_when_ready(team, plan_id, "developer", overflow)
        last = await team.invoke(plan_id, "developer", team.request("job 199", "q-199"))
        assert last.turn == c.MAX_PENDING_INVOCATIONS
        retried = await team.invoke(plan_id, "developer", team.request("job 200", overflow))

    assert refused.status == "refused" and "queue is full" in refused.reason
    assert retried.status == "completed" and retried.turn == c.MAX_PENDING_INVOCATIONS + 1


async def test_overlapping_callers_do_not_hold_a_run_open(client, task_queue, worker, plan_id):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=2))

    async def caller(name: str) -> list[ExecutionArtifact]:
        return [
            await team.invoke(plan_id, "validator", team.request(f"{name} {n}", f"{name}-{n}"))
            for n in range(6)
        ]

    results = await asyncio.gather(*(caller(name) for name in ("a", "b", "c")))
    state = await team.state(plan_id, "validator")
    transcript = (await read_transcript(client, session_workflow_id(plan_id, "validator"))).turns

    assert all(a.status == "completed" for artifacts in results for a in artifacts)
    assert state.turns == 18
    per_run: dict[str, int] = {}
    for turn in transcript:
        per_run[turn.run_id] = per_run.get(turn.run_id, 0) + 1
    # A run may finish the turns its in-flight callers wait for, but no more.
    assert max(per_run.values()) <= 2 + 3, per_run
    assert state.runs >= 4


async def test_transcript_survives_expired_early_runs(client, task_queue, worker, plan_id, monkeypatch):
    from roleteam import history

    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=1))
    for n in range(3):
        await team.invoke(plan_id, "lead", team.request(f"decision {n}", f"d-{n}"))
    workflow_id = session_workflow_id(plan_id, "lead")
    full = await read_transcript(client, workflow_id)
    first_run = full.turns[0].run_id
    read_run = history._read_run

    async def retention_passed(client, workflow_id, run_id):
        # What the server answers for a closed run past the namespace's retention period.
        if run_id == first_run:
            raise history.SessionNotFoundError(f"no session {workflow_id!r} on this server")
        return await read_run(client, workflow_id, run_id)

    monkeypatch.setattr(history, "_read_run", retention_passed)
    partial = await read_transcript(client, workflow_id)

    assert [t.prompt for t in full.turns] == ["decision 0", "decision 1", "decision 2"]
    assert len({t.run_id for t in full.turns}) == 3 and not full.earlier_runs_expired
    assert partial.earlier_runs_expired
    assert [t.prompt for t in partial.turns] == ["decision 1", "decision 2"]


def test_hand_over_fits_one_payload_at_every_limit_without_losing_work():
    # Everything at its limit, with JSON escaping at its worst (six bytes a character).
    nasty = "\x01"
    pending = [InvokeInput(invocation_id=f"p-{n}", prompt=nasty * 9_000) for n in range(7)]
    assert sum(payload_bytes(p) for p in pending) <= c.MAX_PENDING_BYTES
    trail = [
        LifecycleEvent(
            action="retire",
            reason=nasty * c.MAX_REASON_CHARS,
            requested_by="x" * 200,
            at=datetime.now(UTC),
            generation=1,
        )
    ] * c.MAX_LIFECYCLE_EVENTS
    recent = [Turn(turn=1, invocation_id="t", prompt=nasty * 30_000, reply=nasty * 30_000)]
    artifact = ExecutionArtifact(
        plan_id="p",
        role="developer",
        workflow_id="role:p:developer",
        run_id="r",
        invocation_id="a",
        generation=1,
        status="completed",
        prompt=nasty * 20_000,
        started_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
        duration_ms=1,
    )
    state = CarriedState(
        seen={digest(f"{'i' * 120}-{n}"): "completed" for n in range(c.IDEMPOTENCY_WINDOW)},
        pending=pending,
        summary=nasty * 16_000,
        lifecycle=trail,
        recent_turns=recent,
        recent_artifacts=[artifact],
    )
    fit_carry(state)

    assert payload_bytes(state) <= c.MAX_CARRY_BYTES
    assert state.pending == pending and state.recent_turns == recent
    assert len(state.seen) == c.IDEMPOTENCY_WINDOW  # idempotency is never traded for room
    assert 0 < len(state.lifecycle) < len(trail)  # the newest trail entries are carried
    assert sum(payload_bytes(e) for e in state.lifecycle) <= c.MAX_TRAIL_BYTES


async def test_out_of_range_options_fail_the_start_instead_of_wedging(client, task_queue, worker, plan_id):
    from temporalio.client import WorkflowFailureError

    handle = await client.start_workflow(
        c.WORKFLOW_TYPE,
        {
            "plan_id": plan_id,
            "role": "developer",
            "options": {"model_max_attempts": 10_000_000_000, "model_timeout_seconds": 1e300},
        },
        id=session_workflow_id(plan_id, "developer"),
        task_queue=task_queue,
        start_signal=c.SIGNAL_INVOKE,
        start_signal_args=[InvokeInput(invocation_id="i1", prompt="hello")],
    )
    try:
        await asyncio.wait_for(handle.result(), 30)
        raise AssertionError("the session should have failed")
    except WorkflowFailureError as err:
        message = str(err.cause)
    assert "options.model_max_attempts=10000000000: use 1..100" in message
    assert "options.model_timeout_seconds=1e+300: use 1..86400" in message


async def test_largest_context_of_escaped_characters_never_overflows_a_payload(
    client, task_queue, worker, plan_id
):
    team = RoleTeam(
        client, task_queue=task_queue, options=SessionOptions(context_token_budget=c.MAX_CONTEXT_TOKEN_BUDGET)
    )
    sizes = [62_000, 62_000, c.MAX_PROMPT_BYTES, 10]
    artifacts = [
        await team.invoke(plan_id, "developer", team.request("\x01" * size, f"big-{n}"))
        for n, size in enumerate(sizes)
    ]
    assert [a.status for a in artifacts] == ["completed"] * 4
    assert [a.turn for a in artifacts] == [1, 2, 3, 4]
    state = await team.state(plan_id, "developer")
    assert state.summarized_turns >= 2  # the memory was folded to stay within its byte budget


async def test_updates_arriving_together_cannot_overfill_the_queue(client, team, task_queue, plan_id):
    from temporalio.client import WorkflowUpdateFailedError

    queued_by_signal = c.MAX_PENDING_INVOCATIONS - 5
    for n in range(queued_by_signal):
        await team.send(plan_id, "developer", team.request(f"job {n}", f"s-{n}"))
    handle = team.handle(plan_id, "developer")
    # No worker yet: these ten updates (the server's in-flight limit) arrive in one activation,
    # and each validator sees the same five free places.
    calls = [
        asyncio.create_task(
            handle.execute_update(
                c.UPDATE_INVOKE_AND_WAIT,
                InvokeInput(invocation_id=f"u-{n}", prompt=f"update {n}"),
                result_type=ExecutionArtifact,
            )
        )
        for n in range(10)
    ]
    await asyncio.sleep(2)
    async with build_worker(client, task_queue):
        results = await asyncio.gather(*calls, return_exceptions=True)
        for _ in range(100):  # invocations carried over by a roll-over finish in the next run
            state = await team.state(plan_id, "developer")
            if state.turns == c.MAX_PENDING_INVOCATIONS and not state.pending:
                break
            await asyncio.sleep(0.2)

    reasons = [str(r.cause) for r in results if isinstance(r, WorkflowUpdateFailedError)]
    answered = sum(isinstance(r, ExecutionArtifact) for r in results)
    carried = sum("stays queued and is carried over" in r for r in reasons)
    full = sum("queue is full" in r for r in reasons)
    assert (answered + carried, full) == (5, 5), reasons
    assert state.turns == c.MAX_PENDING_INVOCATIONS and state.pending == 0


async def test_a_long_role_rolls_over_by_events_so_a_cold_resume_stays_short(client, team, worker, plan_id):
    # With the context by reference a turn adds ~10 KB, so 4 MiB would take ~400 turns; a cold
    # resume replays the whole current run, so runs end at EVENTS_PER_RUN events instead.
    from roleteam.workflows.role_session import EVENTS_PER_RUN

    # One turn at a time takes about 12 events, so 130 turns are well past one run. Turns sent
    # all at once would not prove it: a slow worker finds them queued and runs eight per batch,
    # and the 130 then fit in one run (seen under a loaded full suite).
    count = 130
    for n in range(count):
        await team.invoke(plan_id, "developer", team.request(f"step {n}", f"s-{n}"))
    handle = team.handle(plan_id, "developer")
    state = await eventually(lambda: _settled(team, plan_id, count), timeout=120)
    assert state.runs >= 2, f"{count} turns are more than one run holds"
    runs = [e async for e in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    for run in runs:
        length = (await client.get_workflow_handle(handle.id, run_id=run.run_id).describe()).history_length
        assert length <= EVENTS_PER_RUN + 100, f"run {run.run_id} holds {length} events"
    transcript = await read_transcript(client, handle.id)
    assert [t.invocation_id for t in transcript.turns] == [f"s-{n}" for n in range(count)]


async def _settled(team, plan_id, count):
    state = await team.state(plan_id, "developer")
    return state if state.turns == count and state.pending == 0 else None


async def test_an_idle_session_at_its_history_limit_still_takes_an_invocation(
    team, worker, plan_id, monkeypatch
):
    # An idle run just short of its limit: a new invocation's own workflow task takes it over.
    # The session used to refuse it as rolling over, and a refused update leaves nothing in
    # history, so the run never rolled over and refused every retry (a bench cold resume hung).
    handle = team.handle(plan_id, "developer")
    await team.invoke(plan_id, "developer", team.request("first", "limit-1"))
    size = await eventually(lambda: _size_when_idle(handle), timeout=30)
    monkeypatch.setattr(c, "MAX_HISTORY_BYTES_PER_RUN", size)
    artifact = await asyncio.wait_for(
        team.invoke(plan_id, "developer", team.request("second", "limit-2")), timeout=30
    )
    assert artifact.status == "completed" and artifact.invocation_id == "limit-2"
    assert (await team.state(plan_id, "developer")).runs == 2, "the run handed over at its limit"


async def _size_when_idle(handle):
    """The run's history bytes once nothing is in flight and two looks a moment apart agree."""
    first = await handle.describe()
    await asyncio.sleep(0.5)
    second = await handle.describe()
    if first.history_length != second.history_length or second.raw_description.pending_activities:
        return None
    return second.raw_description.workflow_execution_info.history_size_bytes
