"""Activity `recover_role_state`: a fresh run picks up where the role's latest closed run stopped.

A run ends without handing on its state when an operator terminates it (or it fails); starting
the role again would begin an empty session, with no memory and no idempotency record. This
activity reads the latest closed run back from Temporal: the state it started with (only when it
was itself a continuation or a recovery, so a forged start input is never trusted) plus the turns
and retire/reopen signals its history holds.
"""

from __future__ import annotations

from datetime import UTC

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from roleteam.constants import (
    ACTIVITY_RECOVER_ROLE_STATE,
    CONTEXT_NOT_CACHED_ERROR,
    MAX_REASON_CHARS,
    POLICY_ERROR,
    SIGNAL_REOPEN,
    SIGNAL_RETIRE,
)
from roleteam.models import (
    CarriedState,
    LifecycleEvent,
    LifecycleInput,
    RecoveredState,
    RecoverInput,
    SessionInput,
    Turn,
)
from roleteam.turn_events import TURN_ACTIVITIES, AskedTurn, answered_turns, asked_turns
from roleteam.workflows.carry import bound_carry, digest
from roleteam.workflows.wire import parse_wire


class RecoveryActivities:
    """Activities that read a role's earlier runs; built once per worker around its client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=ACTIVITY_RECOVER_ROLE_STATE)
    async def recover_role_state(self, request: RecoverInput) -> RecoveredState:
        problem = identity_problem(request.workflow_id)
        if problem:
            return RecoveredState(identity_problem=problem)
        # A run that failed at once (a bad start input, say) holds nothing: look past it.
        for closed in await self._closed_runs(request):
            state = await self._replay_run(request.workflow_id, closed)
            if state is not None:
                break
        else:
            return RecoveredState()
        state.runs += 1
        # Queued when that run started and run since: not to be run again.
        state.pending = [p for p in state.pending if digest(p.invocation_id) not in state.seen]
        notes = bound_carry(state)
        if notes:
            activity.logger.warning("recovered state trimmed to its bounds: %s", "; ".join(notes))
        return RecoveredState(carried=state, from_run_id=closed)

    async def _closed_runs(self, request: RecoverInput, limit: int = 5) -> list[str]:
        """Run ids of the workflow id's closed runs, newest first (at most `limit`)."""
        closed = []
        try:
            query = f'WorkflowId = "{request.workflow_id}"'
            async for execution in self._client.list_workflows(query, limit=50):
                if execution.run_id != request.run_id and execution.status != WorkflowExecutionStatus.RUNNING:
                    closed.append(execution)
        except RPCError as err:
            activity.logger.warning("cannot list earlier runs of %s: %s", request.workflow_id, err.message)
            return []
        closed.sort(key=lambda e: e.start_time, reverse=True)
        return [e.run_id for e in closed[:limit]]

    async def _replay_run(self, workflow_id: str, run_id: str) -> CarriedState | None:
        """The state the run ended with, as far as its history tells."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        converter = self._client.data_converter
        state: CarriedState | None = None
        asked: dict[int, tuple[str, list[AskedTurn]]] = {}  # turn activities, by scheduled id
        recovery_scheduled: set[int] = set()
        async for event in handle.fetch_history_events():
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                attrs = event.workflow_execution_started_event_attributes
                if attrs.continued_execution_run_id and attrs.input.payloads:
                    [raw] = await converter.decode(attrs.input.payloads, [dict])
                    start = parse_wire(SessionInput, raw)
                    if isinstance(start, SessionInput) and start.carried is not None:
                        state = start.carried
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                name = attrs.activity_type.name
                if name in TURN_ACTIVITIES:
                    asked[event.event_id] = (name, await asked_turns(converter, name, attrs.input.payloads))
                elif name == ACTIVITY_RECOVER_ROLE_STATE:
                    recovery_scheduled.add(event.event_id)
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attrs = event.activity_task_completed_event_attributes
                if attrs.scheduled_event_id in recovery_scheduled:
                    [found] = await converter.decode(attrs.result.payloads, [RecoveredState])
                    state = found.carried or state
                    continue
                if attrs.scheduled_event_id not in asked:
                    continue
                name, calls = asked[attrs.scheduled_event_id]
                answers = await answered_turns(converter, name, attrs.result.payloads, len(calls))
                for call, answer in zip(calls, answers, strict=True):
                    if answer.reply is None:  # refused by the policy, or not run by its batch
                        continue
                    turn = answer.turn or call.turn
                    state = state or CarriedState()
                    state.recent_turns.append(
                        Turn(
                            turn=turn,
                            invocation_id=call.invocation_id,
                            prompt=call.prompt,
                            reply=answer.reply.reply,
                        )
                    )
                    state.seen[digest(call.invocation_id)] = "completed"
                    state.turns = max(state.turns, turn)
                    state.last_invocation_id = call.invocation_id
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                attrs = event.activity_task_failed_event_attributes
                calls = asked.get(attrs.scheduled_event_id, ("", []))[1]
                if attrs.failure.application_failure_info.type in (POLICY_ERROR, CONTEXT_NOT_CACHED_ERROR):
                    calls = []  # a refusal, or the turn sent again with its context verbatim
                if calls:  # the first turn failed; a batch's later turns did not run
                    state = state or CarriedState()
                    state.seen[digest(calls[0].invocation_id)] = "failed"
                    state.turns = max(state.turns, calls[0].turn)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                attrs = event.workflow_execution_signaled_event_attributes
                if attrs.signal_name in (SIGNAL_RETIRE, SIGNAL_REOPEN) and attrs.input.payloads:
                    [raw] = await converter.decode(attrs.input.payloads, [dict])
                    lifecycle = parse_wire(LifecycleInput, raw)
                    if isinstance(lifecycle, LifecycleInput):
                        state = state or CarriedState()
                        _apply_lifecycle(state, attrs.signal_name, lifecycle, event.event_time.ToDatetime())
        return state


def _apply_lifecycle(state: CarriedState, action: str, request: LifecycleInput, at) -> None:
    target = "retired" if action == SIGNAL_RETIRE else "active"
    if state.status == target:
        return
    state.status = target
    if action == SIGNAL_REOPEN:
        state.generation += 1
    state.lifecycle.append(
        LifecycleEvent(
            action=action,
            reason=request.reason.strip()[:MAX_REASON_CHARS] or "(no reason given)",
            requested_by=(request.requested_by or "")[:200] or None,
            at=at.replace(tzinfo=UTC),
            generation=state.generation,
        )
    )


def identity_problem(workflow_id: str) -> str | None:
    """Why `role:{plan}:{role}` is not a session of a canonical role of the policy, or None.

    An alias (`role:p:dev`) would give one (plan, role) a second, separate memory, so such a
    session fails at once instead of living on and refusing everything.
    """
    from roleteam.errors import RoleteamError
    from roleteam.registry import load_role_registry

    _, plan_id, role = (workflow_id.split(":", 2) + ["", ""])[:3]
    try:
        registry = load_role_registry()
    except RoleteamError:
        return None  # a broken policy is reported per invocation, where it can be fixed
    if role in registry.roles:
        return None
    try:
        canonical = registry.resolve(role).id
    except RoleteamError:
        return (
            f"role {role!r} is not a role of the policy ({', '.join(registry.roles)}); start the "
            f"session as one of them, workflow id 'role:{plan_id}:<role>'"
        )
    return (
        f"role {role!r} is an alias of {canonical!r}; start the session as role {canonical!r} with "
        f"workflow id 'role:{plan_id}:{canonical}'"
    )
