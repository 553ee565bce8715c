"""Activity `recover_plan_state`: a fresh Plan run takes up its latest closed run's state.

A plan's run ends without handing on its state only when an operator terminates it (or it
fails). Without this, the next role report would start an empty plan: findings, waivers and
lineage gone. The closed run is asked for its state with the `carried` query, which a worker
answers by replaying that run's own history, so nothing a client sent is trusted.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError

from roleteam.constants import ACTIVITY_RECOVER_PLAN_STATE, QUERY_CARRIED
from roleteam.models import RecoverInput
from roleteam.plan_models import PlanCarried, RecoveredPlan

RUNS_LOOKED_AT = 3


class PlanRecoveryActivities:
    """Built once per worker, around the worker's own client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=ACTIVITY_RECOVER_PLAN_STATE)
    async def recover_plan_state(self, request: RecoverInput) -> RecoveredPlan:
        """The newest closed run's state (looking past runs that hold none), or nothing."""
        try:
            closed = [
                execution
                async for execution in self._client.list_workflows(
                    f'WorkflowId = "{request.workflow_id}"', limit=20
                )
                if execution.run_id != request.run_id and execution.status != WorkflowExecutionStatus.RUNNING
            ]
        except RPCError as err:
            activity.logger.warning("cannot list earlier runs of %s: %s", request.workflow_id, err.message)
            return RecoveredPlan()
        closed.sort(key=lambda e: e.start_time, reverse=True)
        for execution in closed[:RUNS_LOOKED_AT]:
            handle = self._client.get_workflow_handle(request.workflow_id, run_id=execution.run_id)
            try:
                state = await handle.query(QUERY_CARRIED, result_type=PlanCarried | None)
            except (WorkflowQueryFailedError, RPCError) as err:
                activity.logger.info("run %s holds no plan state: %s", execution.run_id, err)
                continue
            if state is not None:
                return RecoveredPlan(carried=state, from_run_id=execution.run_id)
        return RecoveredPlan()
