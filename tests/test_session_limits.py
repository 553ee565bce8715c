"""Bounds that keep a busy, long-lived session healthy: queue, rollover, hand-over, retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

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
from workflows.role_session import _fit_carry, _json_bytes


async def test_alias_in_the_workflow_id_is_refused_not_a_second_memory(client, task_queue, worker, plan_id):
    handle = await client.start_workflow(
        c.WORKFLOW_TYPE,
        SessionInput(plan_id=plan_id, role="dev"),
        id=f"role:{plan_id}:dev",
        task_queue=task_queue,
    )
    artifact = await handle.execute_update(
        c.UPDATE_INVOKE_AND_WAIT, InvokeInput(invocation_id="a1", prompt="hi"), result_type=ExecutionArtifact
    )
    assert artifact.status == "refused"
    assert "not a canonical role id" in artifact.reason and f"role:{plan_id}:developer" in artifact.reason


async def test_queue_full_refusal_does_not_burn_the_invocation_id(client, team, task_queue, plan_id):
    # No worker yet: every signal lands in one activation, past the queue's limit.
    for n in range(c.MAX_PENDING_INVOCATIONS + 1):
        await team.send(plan_id, "developer", team.request(f"job {n}", f"q-{n}"))
    overflow = f"q-{c.MAX_PENDING_INVOCATIONS}"
    async with build_worker(client, task_queue):
        refused = None
        for _ in range(100):  # recorded by the first activation, before any turn runs
            refused = await team.artifact(plan_id, "developer", overflow)
            if refused:
                break
            await asyncio.sleep(0.1)
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


def test_hand_over_is_trimmed_to_fit_one_payload_without_losing_work():
    long_id = "i" * 120
    pending = [InvokeInput(invocation_id=f"p-{n}", prompt="x" * 3_000) for n in range(200)]
    trail = [
        LifecycleEvent(action="retire", reason="r" * c.MAX_REASON_CHARS, at=datetime.now(UTC), generation=1)
    ] * c.MAX_LIFECYCLE_EVENTS
    state = CarriedState(
        seen={f"{long_id}-{n}": "completed" for n in range(c.IDEMPOTENCY_WINDOW)},
        pending=pending,
        summary="s" * 60_000,
        lifecycle=trail,
        recent_turns=[Turn(turn=1, invocation_id="t", prompt="p" * 100_000, reply="r" * 100_000)],
    )
    assert _json_bytes(state) > c.MAX_CARRY_BYTES
    _fit_carry(state)

    assert _json_bytes(state) <= c.MAX_CARRY_BYTES
    assert state.pending == pending and state.summary == "s" * 60_000 and state.lifecycle == trail
    assert 0 < len(state.seen) < c.IDEMPOTENCY_WINDOW
    assert f"{long_id}-{c.IDEMPOTENCY_WINDOW - 1}" in state.seen  # the newest ids are kept
