"""The upgrade path: a new worker build takes over running roles at their next roll-over.

Workers run with Worker Deployment Versioning (ROLETEAM_DEPLOYMENT_NAME, ROLETEAM_BUILD_ID):
every run stays pinned to the build that started it, and a session continues-as-new with
AUTO_UPGRADE, so its next run goes to the deployment's current version.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.service import RPCError

from roleteam.client import RoleTeam
from roleteam.constants import session_workflow_id
from roleteam.errors import RoleteamError
from roleteam.history import read_transcript
from roleteam.models import SessionOptions
from roleteam.worker_runtime import build_worker, deployment_config
from tests.helpers import temporal


def test_versioning_is_off_unless_both_settings_are_given():
    assert deployment_config({}) is None
    config = deployment_config({"ROLETEAM_DEPLOYMENT_NAME": "roleteam", "ROLETEAM_BUILD_ID": "b7"})
    assert (config.version.deployment_name, config.version.build_id) == ("roleteam", "b7")
    assert config.use_worker_versioning
    for half in ({"ROLETEAM_DEPLOYMENT_NAME": "roleteam"}, {"ROLETEAM_BUILD_ID": "b7"}):
        with pytest.raises(RoleteamError, match="set both") as refused:
            deployment_config(half)
        assert "\n" not in str(refused.value)


async def set_current(client, deployment: str, build_id: str) -> None:
    """`temporal worker deployment set-current-version`, retried until the new build has polled."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=deployment, build_id=build_id, identity="test"
    )
    for _ in range(100):
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except RPCError as err:
            last = err
            await asyncio.sleep(0.1)
    raise AssertionError(f"could not make {build_id} current: {last}")


async def builds_of_run(client, workflow_id: str, run_id: str) -> set[str]:
    """The builds that completed this run's workflow tasks, as its history records them."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return {
        e.workflow_task_completed_event_attributes.deployment_version.build_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }


async def test_new_build_takes_over_a_running_role_at_its_next_rollover(client, task_queue, plan_id):
    deployment = f"roleteam-{uuid.uuid4().hex[:8]}"
    role = "developer"
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=2))
    v1 = deployment_config({"ROLETEAM_DEPLOYMENT_NAME": deployment, "ROLETEAM_BUILD_ID": "v1"})
    v2 = deployment_config({"ROLETEAM_DEPLOYMENT_NAME": deployment, "ROLETEAM_BUILD_ID": "v2"})
    async with build_worker(client, task_queue, deployment_config=v1):
        await set_current(client, deployment, "v1")
        await team.invoke(plan_id, role, team.request("first", "a1"))
        async with build_worker(client, task_queue, deployment_config=v2):
            await set_current(client, deployment, "v2")
            # The running run stays pinned to v1; it rolls over after this second turn.
            await team.invoke(plan_id, role, team.request("second", "a2"))
            await team.invoke(plan_id, role, team.request("third", "a3"))
            transcript = await read_transcript(client, session_workflow_id(plan_id, role))

    assert [t.invocation_id for t in transcript.turns] == ["a1", "a2", "a3"]
    assert all(t.status == "completed" for t in transcript.turns)
    first_run, _, next_run = (t.run_id for t in transcript.turns)
    assert transcript.turns[1].run_id == first_run and next_run != first_run
    workflow_id = session_workflow_id(plan_id, role)
    assert await builds_of_run(client, workflow_id, first_run) == {"v1"}
    assert await builds_of_run(client, workflow_id, next_run) == {"v2"}


async def test_an_idle_role_moves_to_the_current_build_when_the_operator_says_so(client, task_queue, plan_id):
    """docs/contract.md: `temporal workflow update-options --versioning-override-behavior auto_upgrade`."""
    deployment = f"roleteam-{uuid.uuid4().hex[:8]}"
    role = "developer"
    workflow_id = session_workflow_id(plan_id, role)
    team = RoleTeam(client, task_queue=task_queue)
    v1 = deployment_config({"ROLETEAM_DEPLOYMENT_NAME": deployment, "ROLETEAM_BUILD_ID": "v1"})
    v2 = deployment_config({"ROLETEAM_DEPLOYMENT_NAME": deployment, "ROLETEAM_BUILD_ID": "v2"})
    async with build_worker(client, task_queue, deployment_config=v1):
        await set_current(client, deployment, "v1")
        await team.invoke(plan_id, role, team.request("first", "b1"))
        async with build_worker(client, task_queue, deployment_config=v2):
            await set_current(client, deployment, "v2")
            moved = await temporal(
                client,
                "workflow",
                "update-options",
                "--workflow-id",
                workflow_id,
                "--versioning-override-behavior",
                "auto_upgrade",
            )
            assert moved.code == 0, moved.err
            await team.invoke(plan_id, role, team.request("second", "b2"))
            transcript = await read_transcript(client, workflow_id)

    assert [t.invocation_id for t in transcript.turns] == ["b1", "b2"]
    assert transcript.turns[0].run_id == transcript.turns[1].run_id, "same run, no roll-over"
    assert await builds_of_run(client, workflow_id, transcript.turns[0].run_id) == {"v1", "v2"}
