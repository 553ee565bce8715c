"""Client-side operations on role sessions, shared by the CLI, the demo and tests.

Every call validates its input at the edge (plan id, role, prompt size) before anything reaches
Temporal, so a bad request fails here with a clear message instead of inside a workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

from roleteam import tracing
from roleteam.codec import data_converter
from roleteam.constants import (
    QUERY_ARTIFACT,
    QUERY_STATE,
    ROLLING_OVER_ERROR,
    SIGNAL_INVOKE,
    SIGNAL_REOPEN,
    SIGNAL_RETIRE,
    TASK_QUEUE,
    UPDATE_INVOKE_AND_WAIT,
    WORKFLOW_TYPE,
    session_workflow_id,
)
from roleteam.errors import (
    ConnectionFailedError,
    InvalidInputError,
    InvocationRefusedError,
    RoleteamError,
    SessionNotFoundError,
    no_session_message,
)
from roleteam.models import (
    ArtifactQuery,
    ExecutionArtifact,
    InvokeInput,
    LifecycleInput,
    RoleState,
    SessionInput,
    SessionOptions,
)
from roleteam.plan_start import PlanStarter
from roleteam.registry import RoleRegistry, load_role_registry, validate_plan_id

DEFAULT_ADDRESS = "localhost:7233"
TASK_QUEUE_ENV = "ROLETEAM_TASK_QUEUE"
BUDGET_ENV = "ROLETEAM_CONTEXT_TOKEN_BUDGET"
WAIT_RETRIES = 600
# host:port, with the host a name, an IPv4 address or a bracketed IPv6 address.
ADDRESS_PATTERN = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")

# Transient RPC failures are retried with bounded backoff (about 10 s in all): invocation ids are
# idempotency keys and retire/reopen ignore a repeat, so sending again is always safe.
TRANSIENT_RETRIES = 8
TRANSIENT_STATUSES = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)
# While a run closes for continue-as-new the server refuses signals for a moment
# (temporalio/temporal issue 8097).
WORKFLOW_CLOSING = "workflow is closing"
# What the SDK reports while the server is unreachable, e.g. during its restart.
TRANSPORT_ERROR = "transport error"
# An update delivered with the workflow task in which the run completes (continue-as-new) is
# refused with this; the invocation id makes sending it again safe, and the next run takes it.
UPDATE_LOST_TO_TASK = "unexpected workflow task failure"


def is_transient(err: RPCError) -> bool:
    """Whether sending the same request again may succeed: the server was busy, not the request bad."""
    if any(text in err.message for text in (WORKFLOW_CLOSING, TRANSPORT_ERROR, UPDATE_LOST_TO_TASK)):
        return True
    return err.status in TRANSIENT_STATUSES and "in-flight updates" not in err.message


def backoff(attempt: int) -> float:
    return min(0.1 * 2**attempt, 3.0)


async def with_retries(call, attempts: int = TRANSIENT_RETRIES):
    """Await `call()`, trying again on transient RPC errors; the last error is raised as is."""
    for attempt in range(attempts):
        try:
            return await call()
        except RPCError as err:
            if not is_transient(err) or attempt == attempts - 1:
                raise
        await asyncio.sleep(backoff(attempt))


def configured_options() -> SessionOptions:
    """Options for sessions this client starts; `$ROLETEAM_CONTEXT_TOKEN_BUDGET` sets the budget."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return SessionOptions()
    # isdigit() alone would take '²', which int() then refuses with a traceback.
    options = SessionOptions(context_token_budget=int(raw) if raw.isascii() and raw.isdigit() else -1)
    problems = options.problems()
    if problems:
        raise InvalidInputError(f"{BUDGET_ENV}={raw!r}: " + problems[0].split(": ", 1)[-1])
    return options


def configured_task_queue() -> str:
    """The task queue to use: `$ROLETEAM_TASK_QUEUE`, else the contract's `roleteam`."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    """Connect with Temporal's standard environment configuration.

    `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, TLS settings and the
    `temporal` CLI's config file all apply; the default is localhost:7233, namespace default.
    With `$ROLETEAM_ENCRYPTION_KEY_FILE` set, every payload is encrypted (roleteam.codec).
    """
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    if not ADDRESS_PATTERN.fullmatch(str(config["target_host"])):
        raise InvalidInputError(
            f"Temporal address {config['target_host']!r} is not host:port; pass e.g. "
            "--address localhost:7233 (or set TEMPORAL_ADDRESS)"
        )
    if namespace:
        config["namespace"] = namespace
    try:
        return await Client.connect(
            **config, data_converter=data_converter(), interceptors=tracing.client_interceptors()
        )
    except RuntimeError as err:
        raise ConnectionFailedError(
            f"cannot reach Temporal at {config['target_host']}: start one with "
            "'roleteam server' or set TEMPORAL_ADDRESS"
        ) from err


POLLERS_SEEN_SECONDS = 10.0
ROLL_OVER_WAIT_SECONDS = 5.0


@dataclass
class RoleTeam:
    """Operations on the role sessions of plans, over one Temporal client."""

    client: Client
    task_queue: str = field(default_factory=configured_task_queue)
    registry: RoleRegistry | None = None
    options: SessionOptions | None = None
    # When a worker was last seen polling (monotonic seconds): `send` asks again only after
    # POLLERS_SEEN_SECONDS, so queueing many invocations costs a describe call now and then.
    _pollers_seen_at: float | None = field(default=None, init=False, repr=False, compare=False)
    # Plans this client has started (see roleteam/plan_start.py).
    _plans: PlanStarter = field(default_factory=PlanStarter, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.registry = self.registry or load_role_registry()
        self.options = self.options or configured_options()
        problems = self.options.problems()
        if problems:
            raise InvalidInputError("; ".join(problems))

    def role_id(self, role: str) -> str:
        return self.registry.resolve(role).id

    def handle(self, plan_id: str, role: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(
            session_workflow_id(validate_plan_id(plan_id), self.role_id(role))
        )

    def static_summary(self, plan_id: str, role: str) -> str:
        """The one line the Web UI shows for the session: `Developer · plan q4-launch`."""
        return f"{self.registry.resolve(role).title} · plan {plan_id}"

    def _start_input(self, plan_id: str, role: str) -> SessionInput:
        return SessionInput(
            plan_id=validate_plan_id(plan_id),
            role=self.role_id(role),
            options=self.options,
        )

    @staticmethod
    def request(prompt: str, invocation_id: str | None = None, **fields) -> InvokeInput:
        request = InvokeInput(invocation_id=invocation_id or f"inv-{uuid.uuid4()}", prompt=prompt, **fields)
        problems = request.problems()
        if problems:
            raise InvalidInputError("; ".join(problems))
        return request

    async def worker_polling(self, recent: bool = False) -> bool:
        """Whether any worker polls this task queue right now (invocations wait for one).

        Args:
            recent: a worker seen polling in the last POLLERS_SEEN_SECONDS counts, unasked.
        """
        now = time.monotonic()
        seen = self._pollers_seen_at
        if recent and seen is not None and now - seen < POLLERS_SEEN_SECONDS:
            return True
        response = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        self._pollers_seen_at = now if response.pollers else None
        return bool(response.pollers)

    async def invoke(self, plan_id: str, role: str, request: InvokeInput) -> ExecutionArtifact:
        """Run one invocation and wait for its artifact (update-with-start)."""
        start = self._start_input(plan_id, role)
        self._plans.begin(self.client, start.plan_id, self.task_queue)
        # Two waits are normal and retried here: a session handing over to its next run turns
        # waiters away for a moment, and the server admits only so many waiting updates per
        # workflow at once (10 on the dev server): past that the invocation is queued durably by
        # signal and the update, now for a known id, is tried again until it finds room.
        queued = False
        transient = 0
        for attempt in range(WAIT_RETRIES):
            operation = WithStartWorkflowOperation(  # single-use: a new one per attempt
                WORKFLOW_TYPE,
                start,
                id=session_workflow_id(start.plan_id, start.role),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=self.static_summary(start.plan_id, start.role),
            )
            try:
                return await self.client.execute_update_with_start_workflow(
                    UPDATE_INVOKE_AND_WAIT,
                    request,
                    start_workflow_operation=operation,
                    result_type=ExecutionArtifact,
                )
            except WorkflowUpdateFailedError as err:
                if _error_type(err) != ROLLING_OVER_ERROR:
                    raise RoleteamError(f"invocation rejected: {_root_message(err)}") from None
                if await _next_run_started(self.client, operation):
                    continue  # ask the new run at once
            except RPCError as err:
                # The operation holds the same error for its start; read it so asyncio does not
                # report it as never retrieved.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(operation.workflow_handle(), 0.1)
                if is_transient(err) and transient < TRANSIENT_RETRIES:
                    transient += 1
                elif "in-flight updates" not in err.message:
                    raise RoleteamError(f"Temporal refused the request: {err.message}") from None
                elif not queued:
                    await self.send(plan_id, role, request, check=False)
                    queued = True
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise RoleteamError(
            f"invocation {request.invocation_id!r} is queued but no result came after "
            f"{WAIT_RETRIES} tries; wait for it again with the same id"
        )

    async def send(self, plan_id: str, role: str, request: InvokeInput, check: bool = True) -> str:
        """Queue one invocation without waiting (signal-with-start); returns its id.

        With `check` (and a worker polling), the session is asked for the id's artifact right
        after the signal: a request refused on arrival (queue full, role retired, bad prompt)
        raises InvocationRefusedError with the refusal, so the sender hears about it.
        """
        start = self._start_input(plan_id, role)
        self._plans.begin(self.client, start.plan_id, self.task_queue)

        async def signal() -> None:
            await self.client.start_workflow(
                WORKFLOW_TYPE,
                start,
                id=session_workflow_id(start.plan_id, start.role),
                task_queue=self.task_queue,
                start_signal=SIGNAL_INVOKE,
                start_signal_args=[request],
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=self.static_summary(start.plan_id, start.role),
            )

        try:
            await with_retries(signal)
        except RPCError as err:
            raise RoleteamError(
                f"Temporal refused invocation {request.invocation_id!r}: {err.message}; send it "
                "again with the same id (it never runs twice)"
            ) from None
        if check:
            artifact = None
            try:
                if await self.worker_polling(recent=True):  # else nothing could answer the query yet
                    artifact = await self.artifact(plan_id, role, request.invocation_id, timeout=5.0)
            except (RoleteamError, RPCError):
                pass  # the check could not be made; the signal is durable all the same
            if artifact is not None and artifact.status == "refused":
                raise InvocationRefusedError(
                    f"invocation {request.invocation_id!r} was refused: {artifact.reason}", artifact
                )
        return request.invocation_id

    async def retire(self, plan_id: str, role: str, reason: str, by: str | None = None) -> None:
        await self._lifecycle(plan_id, role, SIGNAL_RETIRE, reason, by)

    async def reopen(self, plan_id: str, role: str, reason: str, by: str | None = None) -> None:
        await self._lifecycle(plan_id, role, SIGNAL_REOPEN, reason, by)

    async def _lifecycle(self, plan_id, role, signal, reason, by) -> None:
        request = LifecycleInput(reason=reason, requested_by=by)
        problems = request.problems()
        if problems:
            raise InvalidInputError("; ".join(problems))
        handle = self.handle(plan_id, role)
        try:
            await with_retries(lambda: handle.signal(signal, request))
        except RPCError as err:
            raise _not_found(err, plan_id, self.role_id(role)) from None

    async def state(self, plan_id: str, role: str, timeout: float = 10.0) -> RoleState:
        try:
            return await self.handle(plan_id, role).query(
                QUERY_STATE, result_type=RoleState, rpc_timeout=timedelta(seconds=timeout)
            )
        except RPCError as err:
            raise _not_found(err, plan_id, self.role_id(role)) from None

    async def artifact(
        self, plan_id: str, role: str, invocation_id: str, timeout: float = 10.0
    ) -> ExecutionArtifact | None:
        try:
            return await self.handle(plan_id, role).query(
                QUERY_ARTIFACT,
                ArtifactQuery(invocation_id=invocation_id),
                result_type=ExecutionArtifact | None,
                rpc_timeout=timedelta(seconds=timeout),
            )
        except RPCError as err:
            raise _not_found(err, plan_id, self.role_id(role)) from None

    async def check_holder(self, plan_id: str, role: str, any_queue: bool = False) -> None:
        """Raise, naming what it is, when the session's id is held by a running workflow that is
        not a RoleSession on this client's task queue (nothing there would ever answer).

        Args:
            any_queue: accept a RoleSession on any task queue (reading history needs no worker).
        """
        handle = self.handle(plan_id, role)
        try:
            info = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return
            raise RoleteamError(f"Temporal refused the request: {err.message}") from None
        if info.status != WorkflowExecutionStatus.RUNNING:
            return
        if info.workflow_type == WORKFLOW_TYPE and (any_queue or info.task_queue == self.task_queue):
            return
        raise RoleteamError(
            f"workflow id {handle.id!r} is held by a running {info.workflow_type!r} workflow on task "
            f"queue {info.task_queue!r}, not a {WORKFLOW_TYPE} on {self.task_queue!r}: terminate it "
            f"('temporal workflow terminate --workflow-id {handle.id}') or use another plan id"
            + ("" if info.workflow_type != WORKFLOW_TYPE else f" (or set {TASK_QUEUE_ENV}={info.task_queue})")
        )

    async def refusal_on_arrival(
        self, plan_id: str, role: str, invocation_id: str, tries: int = 20
    ) -> ExecutionArtifact | None:
        """The refusal recorded when a queued invocation arrived (e.g. the role is retired), if
        any; None once the session shows it queued, running or done."""
        for _ in range(tries):
            state = await self.state(plan_id, role)
            artifact = await self.artifact(plan_id, role, invocation_id)
            if artifact is not None and artifact.status == "refused":
                return artifact
            if state.status == "active" or artifact is not None:
                return None
            await asyncio.sleep(0.1)
        return None

    async def plan_status(self, plan_id: str) -> dict[str, RoleState | None]:
        """State of every registry role in the plan; None where the role never started."""
        roles = list(self.registry.roles)
        results = await asyncio.gather(*(self.state(plan_id, r) for r in roles), return_exceptions=True)
        status: dict[str, RoleState | None] = {}
        for role, result in zip(roles, results, strict=True):
            if isinstance(result, SessionNotFoundError):
                status[role] = None
            elif isinstance(result, BaseException):
                raise result
            else:
                status[role] = result
        return status


def _error_type(err: BaseException) -> str | None:
    cause = err.__cause__
    return getattr(cause, "type", None)


def _root_message(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)


def _not_found(err: RPCError, plan_id: str, role: str) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        return SessionNotFoundError(no_session_message(plan_id, role))
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return RoleteamError(
            f"role {role!r} in plan {plan_id!r} did not answer: is a worker running? "
            "start one with 'roleteam worker'"
        )
    return RoleteamError(f"Temporal refused the request: {err.message}")


async def _next_run_started(client: Client, operation: WithStartWorkflowOperation) -> bool:
    """Wait (at most ROLL_OVER_WAIT_SECONDS) until the run that answered RollingOver has handed
    over to its next run; whether it has.

    Describing the workflow is never refused, unlike an update sent while the run is closing
    (`workflow is closing`), which the SDK retries only after about a second.
    """
    try:
        handle = await asyncio.wait_for(operation.workflow_handle(), 0.1)
    except Exception:  # noqa: BLE001 - no handle: fall back to the usual pause
        return False
    current = client.get_workflow_handle(handle.id)
    deadline = time.monotonic() + ROLL_OVER_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            if (await current.describe()).run_id != handle.result_run_id:
                return True
        except RPCError:
            return False
        await asyncio.sleep(0.02)
    return False
