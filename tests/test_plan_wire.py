"""The Plan contract from outside: the `temporal` CLI, schedules, clarification, roll-over."""

from __future__ import annotations

import json

import pytest

from roleteam import constants as c
from roleteam.plan_client import PlanTeam
from roleteam.schedules import RoleSchedules
from tests.helpers import eventually, temporal
from tests.plan_helpers import BUG, finding_json
from tests.test_contract_cli import signal_with_start


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


async def test_a_plan_driven_only_with_the_temporal_cli(client, task_queue, worker, plan_id):
    request = {"invocation_id": "val-1", "prompt": "Validate.\n" + finding_json(BUG)}
    assert (await signal_with_start(client, task_queue, plan_id, "validator", request)).code == 0

    async def plan_state():
        result = await temporal(
            client, "workflow", "query", "--workflow-id", f"plan:{plan_id}", "--name", "state"
        )
        if result.code != 0:
            return None
        state = result.json()["queryResult"][0]
        return state if state.get("findings") else None

    state = await eventually(plan_state)
    assert state["findings"][0]["id"] == "F-0001" and state["findings"][0]["review"] == "pending"
    assert state["gate"]["can_complete"] is False

    review = {"finding_id": "F-0001", "decision": "reject", "reason": "works as designed"}
    result = await temporal(
        client,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        f"plan:{plan_id}",
        "--name",
        "review",
        "--input",
        json.dumps(review),
    )
    assert result.code == 0, result.err
    assert result.json()["result"]["finding"]["status"] == "rejected"
    again = await temporal(
        client,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        f"plan:{plan_id}",
        "--name",
        "review",
        "--input",
        json.dumps(review),
    )
    assert again.code != 0 and "cannot reject F-0001: it is rejected" in again.err
    bad = await temporal(
        client,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        f"plan:{plan_id}",
        "--name",
        "review",
        "--input",
        json.dumps({"finding_id": "F-0001", "decision": "maybe"}),
    )
    assert bad.code != 0 and "decision" in bad.err


async def test_clarification_goes_to_the_raising_role_and_back_to_the_lead(team, plans, worker, plan_id):
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await eventually(lambda: _finding(plans, plan_id, "open"))
    asked = await plans.review(plan_id, "F-0001", "clarify", "Which client sent the empty URL?")
    assert asked.finding.awaiting_invocation == "clarify:F-0001:q1"
    finding = await eventually(lambda: _finding(plans, plan_id, "open", with_history="clarified"))
    assert finding.review == "pending"
    answer = await team.artifact(plan_id, "validator", "clarify:F-0001:q1")
    assert "Which client sent the empty URL?" in answer.prompt


async def _finding(plans, plan_id, status, with_history=None):
    state = await plans.state(plan_id)
    found = [f for f in state.findings if f.status == status]
    if with_history:
        found = [f for f in found if any(t.action == with_history for t in f.history)]
    return found[0] if found else None


async def test_a_schedule_fires_with_its_own_invocation_ids(client, team, plans, worker, task_queue, plan_id):
    schedules = RoleSchedules(client, team.registry, task_queue)
    created = await schedules.create(plan_id, "qa", "smoke", "Run the smoke checks.", every="1s", by="ci")
    assert created.schedule_id == f"sched:{plan_id}:validator:smoke" and not created.paused
    try:
        state = await eventually(
            lambda: _lineage_with(
                plans, plan_id, lambda s: sum(e.mode == "scheduled" for e in s.lineage.entries) >= 2
            ),
            timeout=30,
        )
        scheduled = [e for e in state.lineage.entries if e.mode == "scheduled"]
        ids = [e.invocation_id for e in scheduled]
        assert len(set(ids)) == len(ids) and all(
            i.startswith(f"sched:{plan_id}:validator:smoke-") for i in ids
        )
        assert {e.requested_by for e in scheduled} == {"ci"}
        listed = await schedules.list(plan_id)
        assert [s.name for s in listed] == ["smoke"]
        paused = await schedules.pause(created.schedule_id, "maintenance")
        assert paused.paused
    finally:
        await schedules.delete(created.schedule_id)
    assert await schedules.list(plan_id) == []


async def _lineage_with(plans, plan_id, ready):
    state = await plans.state(plan_id)
    return state if ready(state) else None


async def test_the_plan_rolls_over_with_everything_kept(team, plans, worker, plan_id, monkeypatch):
    monkeypatch.setattr(c, "PLAN_MAX_EVENTS_PER_RUN", 40)
    await plans.open(plan_id)
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await plans.waive(plan_id, "role", "release-manager", "no release")
    for n in range(12):
        await team.invoke(plan_id, "developer", team.request(f"step {n}", f"d-{n}"))

    async def all_reported():
        state = await plans.state(plan_id)
        assert state.lineage.total == 13 and state.runs >= 2, (state.lineage.total, state.runs)
        return state

    state = await eventually(all_reported)
    assert [f.id for f in state.findings] == ["F-0001"]
    assert [w.name for w in state.waivers] == ["release-manager"]
    developer = next(e for e in state.roster if e.role == "developer")
    assert developer.completed == 12 and developer.turns == 12
    assert state.history_events < 200
    result = await plans.review(plan_id, "F-0001", "accept", "after the roll-over", dispatch=True)
    assert result.dispatched == "fix:F-0001:r1"


async def test_a_terminated_plan_takes_up_its_state_again(client, team, plans, worker, plan_id):
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await plans.waive(plan_id, "role", "release-manager", "no release")
    await eventually(lambda: _lineage_with(plans, plan_id, lambda s: s.findings))
    terminated_run = (await plans.handle(plan_id).describe()).run_id
    await plans.handle(plan_id).terminate(reason="operator mistake")

    await team.invoke(plan_id, "developer", team.request("Step 2.", "d-2"))
    after = await eventually(lambda: _lineage_with(plans, plan_id, lambda s: s.lineage.total == 2))
    assert after.recovered_from_run == terminated_run
    assert [f.id for f in after.findings] == ["F-0001"] and [w.name for w in after.waivers] == [
        "release-manager"
    ]
    await team.invoke(
        plan_id, "validator", team.request("Again.\n" + finding_json({**BUG, "id": "new"}), "val-2")
    )
    latest = await eventually(lambda: _lineage_with(plans, plan_id, lambda s: len(s.findings) == 2))
    assert [f.id for f in latest.findings] == ["F-0001", "F-0002"], "ids are never reused after recovery"
