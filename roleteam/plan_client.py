"""Client-side operations on a plan's `Plan` workflow, shared by the CLI, the demo and tests.

Requests are validated here before they reach Temporal; the workflow validates them again
(any client may send anything) and refuses a transition that makes no sense with a message
naming the finding and what to do instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from roleteam import constants as c
from roleteam.client import configured_task_queue, is_transient
from roleteam.errors import InvalidInputError, RoleteamError, SessionNotFoundError
from roleteam.plan_models import (
    BudgetInput,
    DispatchInput,
    PlanActionResult,
    PlanInput,
    PlanLifecycleInput,
    PlanOpenInput,
    PlanState,
    RevalidateInput,
    ReviewInput,
    WaiveInput,
)
from roleteam.registry import format_validation_error, validate_plan_id

FINDING_ID_HELP = "finding ids look like F-0001: list them with 'roleteam plan findings PLAN'"
# Transient refusals worth another try: a run closing for continue-as-new, a server busy.
RETRIES = 20


class PlanNotFoundError(SessionNotFoundError):
    """No Plan workflow exists yet for the plan asked about."""


@dataclass
class PlanTeam:
    """Operations on plans, over one Temporal client."""

    client: Client
    task_queue: str = field(default_factory=configured_task_queue)

    def handle(self, plan_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(c.plan_workflow_id(validate_plan_id(plan_id)))

    async def open(self, plan_id: str, team: str | None = None) -> PlanState:
        """Create the plan (with `team`) if it does not exist yet; return its state."""
        start = PlanInput(plan_id=validate_plan_id(plan_id), team=team)
        for attempt in range(RETRIES):
            operation = WithStartWorkflowOperation(
                c.PLAN_WORKFLOW_TYPE,
                start,
                id=c.plan_workflow_id(plan_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            try:
                return await self.client.execute_update_with_start_workflow(
                    c.UPDATE_PLAN_OPEN,
                    PlanOpenInput(team=team),
                    start_workflow_operation=operation,
                    result_type=PlanState,
                )
            except WorkflowUpdateFailedError as err:
                raise RoleteamError(_root_message(err)) from None
            except RPCError as err:
                if not is_transient(err) or attempt == RETRIES - 1:
                    raise RoleteamError(f"Temporal refused the request: {err.message}") from None
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    async def state(self, plan_id: str, timeout: float = 10.0) -> PlanState:
        """The plan's whole picture (query `state`)."""
        for attempt in range(RETRIES):
            try:
                return await self.handle(plan_id).query(
                    c.QUERY_STATE, result_type=PlanState, rpc_timeout=timedelta(seconds=timeout)
                )
            except WorkflowQueryFailedError as err:
                if "is starting" not in str(err) or attempt == RETRIES - 1:
                    raise RoleteamError(f"plan {plan_id!r} could not answer: {err}") from None
            except RPCError as err:
                raise _plan_error(err, plan_id) from None
            await asyncio.sleep(0.1)  # loading its team template: a moment

    async def review(
        self,
        plan_id: str,
        finding_id: str,
        decision: str,
        reason: str,
        assign: str | None = None,
        dispatch: bool = False,
        by: str = "lead",
    ) -> PlanActionResult:
        request = _build(
            ReviewInput,
            finding_id=finding_id,
            decision=decision,
            reason=reason,
            assign=assign,
            dispatch=dispatch,
            by=by,
        )
        if not reason.strip():
            raise InvalidInputError("--reason is empty: say why (it is kept in the finding's history)")
        return await self._act(plan_id, c.UPDATE_REVIEW, request)

    async def dispatch(self, plan_id: str, finding_id: str, by: str = "lead") -> PlanActionResult:
        return await self._act(
            plan_id, c.UPDATE_DISPATCH, _build(DispatchInput, finding_id=finding_id, by=by)
        )

    async def revalidate(
        self, plan_id: str, finding_id: str, verdict: str, by: str, reason: str = ""
    ) -> PlanActionResult:
        request = _build(RevalidateInput, finding_id=finding_id, verdict=verdict, by=by, reason=reason)
        return await self._act(plan_id, c.UPDATE_REVALIDATE, request)

    async def waive(
        self, plan_id: str, kind: str, name: str, reason: str, role: str | None = None, by: str = "lead"
    ) -> PlanActionResult:
        if not reason.strip():
            raise InvalidInputError("--reason is empty: a waiver always says why")
        request = _build(WaiveInput, kind=kind, name=name, reason=reason, role=role, by=by)
        return await self._act(plan_id, c.UPDATE_WAIVE, request)

    async def set_budget(
        self, plan_id: str, tokens: int | None, role: str | None = None, by: str = "lead"
    ) -> PlanActionResult:
        return await self._act(
            plan_id, c.UPDATE_SET_BUDGET, _build(BudgetInput, tokens=tokens, role=role, by=by)
        )

    async def halt(self, plan_id: str, reason: str, by: str = "lead") -> PlanActionResult:
        return await self._act(plan_id, c.UPDATE_HALT, _build(PlanLifecycleInput, reason=reason, by=by))

    async def resume(self, plan_id: str, reason: str, by: str = "lead") -> PlanActionResult:
        return await self._act(plan_id, c.UPDATE_RESUME, _build(PlanLifecycleInput, reason=reason, by=by))

    async def complete(self, plan_id: str, reason: str = "", by: str = "lead") -> PlanActionResult:
        return await self._act(plan_id, c.UPDATE_COMPLETE, _build(PlanLifecycleInput, reason=reason, by=by))

    async def _act(self, plan_id: str, update: str, request) -> PlanActionResult:
        handle = self.handle(plan_id)
        for attempt in range(RETRIES):
            try:
                return await handle.execute_update(update, request, result_type=PlanActionResult)
            except WorkflowUpdateFailedError as err:
                raise RoleteamError(_root_message(err)) from None
            except RPCError as err:
                if not is_transient(err) or attempt == RETRIES - 1:
                    raise _plan_error(err, plan_id) from None
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        raise AssertionError("unreachable")


def _build(model, **fields):
    """A request model from a user's values; an out-of-bounds value is one line naming the field."""
    try:
        return model(**fields)
    except ValidationError as err:
        raise InvalidInputError(format_validation_error(err)) from None


def _root_message(err: BaseException) -> str:
    """The refusal's own message: `str()` of an ApplicationError would prefix its type."""
    while err.__cause__ is not None:
        err = err.__cause__
    return err.message if isinstance(err, FailureError) else str(err)


def _plan_error(err: RPCError, plan_id: str) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        return PlanNotFoundError(
            f"no plan {plan_id!r}: it starts with its first role invocation, or create it with "
            f"'roleteam plan create {plan_id}'"
        )
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return RoleteamError(
            f"plan {plan_id!r} did not answer: is a worker running? start one with 'roleteam worker'"
        )
    return RoleteamError(f"Temporal refused the request: {err.message}")
