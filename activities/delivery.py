"""Activities that reach another workflow through the Temporal client: start it if needed.

A workflow can signal a running workflow by itself; these cover the case where the target is not
running yet (or any more): signal-with-start, so a plan or a role session comes into being on
first use. Both are idempotent: the plan keys reports by (role, invocation id), and a role never
runs an invocation id twice.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from roleteam import constants as c
from roleteam.models import SessionInput
from roleteam.plan_models import (
    DeliveryInput,
    PlanInput,
)
from roleteam.report_models import (
    RoleEvent,
)


class DeliveryActivities:
    """Built once per worker, around the worker's own client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=c.ACTIVITY_REPORT_TO_PLAN)
    async def report_to_plan(self, event: RoleEvent) -> None:
        """Deliver a role's report to its plan, starting the plan's workflow if it is not running."""
        await self._client.start_workflow(
            c.PLAN_WORKFLOW_TYPE,
            PlanInput(plan_id=event.plan_id),
            id=c.plan_workflow_id(event.plan_id),
            task_queue=activity.info().task_queue,
            start_signal=c.SIGNAL_ROLE_EVENT,
            start_signal_args=[event],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    @activity.defn(name=c.ACTIVITY_DELIVER_INVOCATION)
    async def deliver_invocation(self, delivery: DeliveryInput) -> None:
        """Queue an invocation on a role session, starting the session if it is not running."""
        await self._client.start_workflow(
            c.WORKFLOW_TYPE,
            SessionInput(plan_id=delivery.plan_id, role=delivery.role),
            id=c.session_workflow_id(delivery.plan_id, delivery.role),
            task_queue=activity.info().task_queue,
            start_signal=c.SIGNAL_INVOKE,
            start_signal_args=[delivery.request],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
