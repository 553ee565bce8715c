"""Building a roleteam worker: the one place that knows what a worker registers."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkerDeploymentConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from roleteam import tracing
from roleteam.activities import ALL_ACTIVITIES, TurnActivities
from roleteam.activities.bundle import write_artifact_bundle, write_artifact_bundles, write_plan_bundle
from roleteam.activities.delivery import DeliveryActivities
from roleteam.activities.plan_recovery import PlanRecoveryActivities
from roleteam.activities.providers.openai_compat import close_clients
from roleteam.activities.recovery import RecoveryActivities
from roleteam.activities.team import load_team_template
from roleteam.client import configured_task_queue
from roleteam.errors import RoleteamError
from roleteam.sandbox_runner import FastContextSandboxedRunner
from roleteam.search_attributes import ensure_search_attributes
from roleteam.workflows import ALL_WORKFLOWS

# Threads for synchronous activities (policy and skill loading); each call is short and bounded.
ACTIVITY_THREADS = 8

log = logging.getLogger("roleteam")


class RoleteamWorker(Worker):
    """A Worker that first makes sure its namespace has roleteam's search attributes.

    Sessions upsert them; on a namespace without them every workflow task would fail, so they
    are added (or the worker stops with a one-line message) before any task is polled.
    """

    _attributes_checked = False

    async def _check_search_attributes(self) -> None:
        if self._attributes_checked:
            return
        added = await ensure_search_attributes(self.client)
        if added:
            log.info("added search attributes %s to namespace %r", ", ".join(added), self.client.namespace)
        self._attributes_checked = True

    async def __aenter__(self) -> RoleteamWorker:
        await self._check_search_attributes()
        await super().__aenter__()
        return self

    async def run(self) -> None:
        await self._check_search_attributes()
        loop = asyncio.get_running_loop()
        _running_workers[loop] = _running_workers.get(loop, 0) + 1
        try:
            await super().run()
        finally:
            # The provider's HTTP clients are shared by every worker on this loop: the last one
            # to stop closes them (an in-flight call of another worker keeps its client).
            _running_workers[loop] -= 1
            if not _running_workers[loop]:
                del _running_workers[loop]
                await close_clients()


# Running RoleteamWorkers per event loop (see RoleteamWorker.run).
_running_workers: dict[asyncio.AbstractEventLoop, int] = {}


def deployment_config(environ=os.environ) -> WorkerDeploymentConfig | None:
    """Worker Deployment Versioning, opt-in: both ROLETEAM_DEPLOYMENT_NAME and ROLETEAM_BUILD_ID set.

    Every run is pinned to the build that started it; sessions and plans continue-as-new with
    AUTO_UPGRADE, so their next run goes to the deployment's current version.
    """
    name = environ.get("ROLETEAM_DEPLOYMENT_NAME", "").strip()
    build = environ.get("ROLETEAM_BUILD_ID", "").strip()
    if not name and not build:
        return None
    if not name or not build:
        given, missing = ("ROLETEAM_DEPLOYMENT_NAME", "ROLETEAM_BUILD_ID")
        if build:
            given, missing = missing, given
        raise RoleteamError(
            f"{given} is set but {missing} is empty: set both for a versioned worker, or neither"
        )
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=name, build_id=build),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


# Workflows a worker keeps in memory (each cached session holds its state: recent turns, held
# artifacts, idempotency digests; about 0.5 MiB each measured in bench/). A session not cached is
# rebuilt by replaying its current run on its next task (bench/README.md: cold resume).
DEFAULT_MAX_CACHED_WORKFLOWS = 1000
MAX_CACHED_WORKFLOWS_ENV = "ROLETEAM_MAX_CACHED_WORKFLOWS"


def max_cached_workflows(environ=os.environ) -> int:
    """`ROLETEAM_MAX_CACHED_WORKFLOWS` (a whole number, 0 turns the cache off), else the default."""
    raw = environ.get(MAX_CACHED_WORKFLOWS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CACHED_WORKFLOWS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 1_000_000:
        raise RoleteamError(
            f"{MAX_CACHED_WORKFLOWS_ENV}={raw[:40]!r} is not a whole number from 0 to 1000000; "
            f"set e.g. {DEFAULT_MAX_CACHED_WORKFLOWS}, or unset it for the default"
        )
    return value


SANDBOX_ENV = "ROLETEAM_WORKFLOW_SANDBOX"
SANDBOX_MODES = ("shared", "strict", "off")


def workflow_runner(environ=os.environ) -> WorkflowRunner:
    """The workflow sandbox: `shared` (default), `strict` or `off`, from `ROLETEAM_WORKFLOW_SANDBOX`.

    `strict` is the SDK's default: every workflow run re-imports roleteam's workflow package (all
    four workflow modules and the `roleteam` package around them) inside its sandbox, which costs
    CPU at every start and cache miss and memory for every cached run. `shared` passes the
    `roleteam` modules through from the worker (one copy for all runs); the sandbox still guards
    every other import and builtin. roleteam's workflow modules hold no module-level state, and
    the replay tests check determinism; use `strict` when changing workflow code.

    Both sandboxed modes run `FastContextSandboxedRunner`, which answers the SDK's per-payload
    context lookups without entering the sandbox (`roleteam.sandbox_runner`).

    `off` runs workflows without the sandbox (the SDK's `UnsandboxedWorkflowRunner`): no guard
    against a non-deterministic import or builtin, and no sandbox entry for an activation. With
    the fast lookups, replay under `shared` costs about what it costs under `off`
    (bench/README.md); `off` is for a worker running released roleteam code only, never while
    changing workflow code.
    """
    mode = environ.get(SANDBOX_ENV, "").strip().lower() or "shared"
    if mode not in SANDBOX_MODES:
        raise RoleteamError(f"{SANDBOX_ENV}={mode[:40]!r} is not a sandbox mode; use shared, strict or off")
    if mode == "off":
        return UnsandboxedWorkflowRunner()
    restrictions = SandboxRestrictions.default
    if mode == "shared":
        restrictions = restrictions.with_passthrough_modules("roleteam")
    return FastContextSandboxedRunner(restrictions=restrictions)


def build_worker(client: Client, task_queue: str | None = None, **kwargs) -> RoleteamWorker:
    """A worker serving roleteam's workflows and activities on `task_queue` (default: configured).

    Synchronous activities run on a thread pool (`activity_executor`), so file reads, YAML
    parsing and regex matching never block the event loop serving every other role.
    """
    delivery = DeliveryActivities(client)
    kwargs.setdefault("activity_executor", ThreadPoolExecutor(ACTIVITY_THREADS, "roleteam-activity"))
    if "workflow_runner" not in kwargs:
        kwargs["workflow_runner"] = workflow_runner()
    if "max_cached_workflows" not in kwargs:
        kwargs["max_cached_workflows"] = max_cached_workflows()
    if "deployment_config" not in kwargs:
        config = deployment_config()
        if config is not None:
            kwargs["deployment_config"] = config
    return RoleteamWorker(
        client,
        task_queue=task_queue or configured_task_queue(),
        workflows=ALL_WORKFLOWS,
        activities=[
            *ALL_ACTIVITIES,
            *_turn_activities(),
            RecoveryActivities(client).recover_role_state,
            load_team_template,
            delivery.report_to_plan,
            delivery.deliver_invocation,
            PlanRecoveryActivities(client).recover_plan_state,
            write_artifact_bundle,
            write_artifact_bundles,
            write_plan_bundle,
        ],
        interceptors=[*kwargs.pop("interceptors", []), *tracing.worker_interceptors(client)],
        **kwargs,
    )


def _turn_activities() -> list:
    """`run_turn` and `run_turns`, sharing one worker's held recent turns."""
    turns = TurnActivities()
    return [turns.run_turn, turns.run_turns]
