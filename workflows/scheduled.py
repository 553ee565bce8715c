"""ScheduledInvocation: what a Temporal Schedule starts at each firing of a role's schedule.

It queues one invocation (mode `scheduled`) on the role's session and ends. The invocation id
is the firing's own workflow id (the schedule's id plus the scheduled time), so a firing that is
retried never runs twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import roleteam.constants as c
    from roleteam.models import InvokeInput
    from roleteam.plan_models import DeliveryInput, ScheduledFiring
    from roleteam.workflows.carry import digest
    from roleteam.workflows.wire import parse_wire


def firing_invocation_id(workflow_id: str) -> str:
    """The invocation id of one firing: its workflow id when that is a valid id, else a digest."""
    if c.INVOCATION_ID_PATTERN.fullmatch(workflow_id):
        return workflow_id
    return f"sched-{digest(workflow_id)}"


@workflow.defn(name=c.SCHEDULED_WORKFLOW_TYPE)
class ScheduledInvocation:
    @workflow.run
    async def run(self, raw: Any) -> str:
        """Queue this firing's invocation on the role session; returns its invocation id."""
        firing = parse_wire(ScheduledFiring, raw)
        if isinstance(firing, str):
            raise ApplicationError(firing, type=c.INVALID_SCHEDULED_INPUT_ERROR, non_retryable=True)
        request = InvokeInput(
            invocation_id=firing_invocation_id(workflow.info().workflow_id),
            prompt=firing.prompt,
            mode="scheduled",
            requested_by=(firing.requested_by or f"schedule:{firing.schedule}")[: c.MAX_REQUESTED_BY_CHARS],
        )
        problems = request.problems()
        if not c.PLAN_ID_PATTERN.fullmatch(firing.plan_id) or not c.ROLE_ID_PATTERN.fullmatch(firing.role):
            problems.append("plan_id or role is not a valid id")
        if problems:
            raise ApplicationError(
                "; ".join(problems), type=c.INVALID_SCHEDULED_INPUT_ERROR, non_retryable=True
            )
        await workflow.execute_activity(
            c.ACTIVITY_DELIVER_INVOCATION,
            DeliveryInput(plan_id=firing.plan_id, role=firing.role, request=request),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=20),
        )
        return request.invocation_id
