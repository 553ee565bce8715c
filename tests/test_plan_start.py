"""The client starts a new plan's workflow beside the first invocation into it, so the session's
`joined` report lands at once: no failed signal and no `report_to_plan` detour on the first
invocation's path. A plan that has closed is left to the session's own reports."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from roleteam.constants import plan_workflow_id, session_workflow_id
from roleteam.plan_client import PlanTeam
from roleteam.plan_start import PlanStarter


async def session_events(client, plan_id: str, role: str) -> list:
    handle = client.get_workflow_handle(session_workflow_id(plan_id, role))
    return [event async for event in handle.fetch_history_events()]


def scheduled_activities(events) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


async def test_the_first_invocation_into_a_new_plan_finds_the_plan_running(
    client, worker, team, task_queue, plan_id
):
    artifact = await team.invoke(plan_id, "developer", team.request("start the work", "inv-1"))
    assert artifact.status == "completed"
    events = await session_events(client, plan_id, "developer")
    failed_type = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    failed = [e for e in events if e.event_type == failed_type]
    assert failed == []
    assert "report_to_plan" not in scheduled_activities(events)
    # The plan has the role's `joined` report by the time the caller hears back.
    state = await PlanTeam(client, task_queue=task_queue).state(plan_id)
    assert "developer" in [entry.role for entry in state.roster if entry.status == "active"]


async def test_many_first_invocations_into_one_plan_start_it_once(client, worker, team, plan_id):
    roles = ["developer", "planner", "validator", "lead"]
    artifacts = await asyncio.gather(
        *(team.invoke(plan_id, role, team.request(f"{role} begins", f"inv-{role}")) for role in roles)
    )
    assert [a.status for a in artifacts] == ["completed"] * len(roles)
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{plan_workflow_id(plan_id)}'")]
    assert len(runs) == 1
    for role in roles:
        assert "report_to_plan" not in scheduled_activities(await session_events(client, plan_id, role))


async def test_a_closed_plan_is_not_started_again_by_the_client(client, worker, task_queue, plan_id):
    await PlanTeam(client, task_queue=task_queue).open(plan_id)
    await client.get_workflow_handle(plan_workflow_id(plan_id)).terminate(reason="closed by the test")
    starter = PlanStarter()
    await starter.begin(client, plan_id, task_queue)  # refused by the server; never raises
    described = await client.get_workflow_handle(plan_workflow_id(plan_id)).describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED
    assert starter.known(plan_id)  # asked once: the next invocation does not ask again
    assert starter.begin(client, plan_id, task_queue) is None
