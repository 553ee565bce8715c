"""How role sessions report to their plan on the real dev server: routine lineage in batches,
what the plan acts on at once, nothing lost, and hostile batches dropped item by item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType

from roleteam import constants as c
from roleteam.plan_client import PlanTeam
from tests.helpers import ask, eventually
from tests.plan_helpers import BUG, finding_json


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


def signals_received(history) -> list[str]:
    return [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]


async def test_routine_artifacts_reach_the_plan_in_batches_and_none_is_lost(team, plans, worker, plan_id):
    await plans.open(plan_id)
    for n in range(2):  # from its second invocation on, the plan tells the role it takes batches
        await ask(team, plan_id, "developer", f"step {n}", f"dev-{n}")

    async def told():
        state = await plans.state(plan_id)
        developer = [r for r in state.roster if r.role == "developer"]
        assert developer[0].invocations == 2 and state.outbox == 0, (developer, state.outbox)
        return True

    await eventually(told)
    before = len(signals_received(await plans.handle(plan_id).fetch_history()))
    for n in range(2, 32):
        await team.send(plan_id, "developer", team.request(f"step {n}", f"dev-{n}"))

    async def all_reported():
        state = await plans.state(plan_id)
        session = await team.state(plan_id, "developer")
        assert state.lineage.total == 32 and session.unreported == 0 and session.unwritten == 0
        return state

    state = await eventually(all_reported)
    assert {e.invocation_id for e in state.lineage.entries} == {f"dev-{n}" for n in range(32)}
    assert [r.turns for r in state.roster if r.role == "developer"] == [32]
    received = signals_received(await plans.handle(plan_id).fetch_history())[before:]
    # 30 routine reports: batches of up to 16 (by count or after a second), never one by one.
    assert "role_events" in received and len(received) <= 6, received


async def test_a_finding_and_the_first_artifact_of_a_required_role_count_at_once(
    team, plans, worker, plan_id
):
    for role in ("planner", "developer"):
        await ask(team, plan_id, role, "do your part", f"{role}-1")
    await ask(team, plan_id, "validator", "Validate.\n" + finding_json(BUG), "val-1")

    async def gate():
        state = await plans.state(plan_id)
        assert [f.title for f in state.findings] == [BUG["title"]]
        return state.gate

    blockers = {(b.kind, b.subject) for b in (await eventually(gate, timeout=5)).blockers}
    assert ("missing_role", "planner") not in blockers and ("missing_role", "developer") not in blockers
    assert ("finding", "F-0001") in blockers


async def test_a_hostile_batch_is_dropped_item_by_item(team, plans, worker, plan_id, client):
    await plans.open(plan_id)
    await ask(team, plan_id, "developer", "step 0", "dev-0")
    now = datetime.now(UTC).isoformat()

    def event(seq: int, plan: str, invocation_id: str) -> dict:
        entry = {"invocation_id": invocation_id, "role": "developer", "status": "completed"}
        entry |= {"started_at": now, "finished_at": now}
        snapshot = {"turns": 5}
        return {
            "plan_id": plan,
            "role": "developer",
            "seq": seq,
            "kind": "artifact",
            "snapshot": snapshot,
        } | {
            "entry": entry,
            "at": now,
        }

    handle = plans.handle(plan_id)
    too_many = [event(100 + n, plan_id, f"flood-{n}") for n in range(c.MAX_REPORTS_PER_BATCH + 1)]
    await handle.signal(c.SIGNAL_ROLE_EVENTS, {"events": too_many})
    await handle.signal(c.SIGNAL_ROLE_EVENTS, {"events": "not a list"})
    mixed = [event(200, "another-plan", "elsewhere-1"), event(201, plan_id, "forged-1")]
    await handle.signal(c.SIGNAL_ROLE_EVENTS, {"events": mixed})

    async def taken():
        state = await plans.state(plan_id)
        ids = {e.invocation_id for e in state.lineage.entries}
        assert "forged-1" in ids
        return ids

    ids = await eventually(taken)
    assert "elsewhere-1" not in ids and not any(i.startswith("flood-") for i in ids)
    assert (await plans.state(plan_id)).status == "active"  # the plan works on
