"""The client starts a plan's workflow beside the first invocation it sends into that plan.

A fresh role session reports `joined` to its plan before its first caller hears back. When the
plan is not running yet, that signal fails and the session starts the plan by an activity
(`report_to_plan`, signal-with-start): a failed signal, an activity round trip and two more
workflow tasks on the first invocation's path, measured at about 0.3 s, and about 7 events of
server work per role when a new team starts at once (bench/compare.py, burst). Starting the plan
from the client, concurrently with the invocation, is done before the session's first workflow
task, so the session's signal simply lands. Nothing depends on it: when the start is late or
refused, the session's own path still starts the plan.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from roleteam import constants as c
from roleteam.plan_models import PlanInput

logger = logging.getLogger(__name__)

# Plans a client remembers as started; past this the memory starts over (a start of a running
# plan is a cheap no-op on the server, so forgetting costs one RPC, never a duplicate plan).
MAX_KNOWN_PLANS = 4096


class PlanStarter:
    """Starts each plan's workflow at most once per client, and never twice at the same time."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._starting: dict[str, asyncio.Future] = {}

    def known(self, plan_id: str) -> bool:
        return plan_id in self._known

    def begin(self, client: Client, plan_id: str, task_queue: str) -> asyncio.Future | None:
        """Start the plan's workflow in the background unless this client knows it runs.

        Returns the start in flight (it never raises), or None when there is nothing to do.
        The caller need not wait for it: the session falls back to starting the plan itself.
        """
        if plan_id in self._known:
            return None
        starting = self._starting.get(plan_id)
        if starting is None:
            starting = asyncio.ensure_future(self._start(client, plan_id, task_queue))
            self._starting[plan_id] = starting  # held here until done, so never collected early
            starting.add_done_callback(lambda _: self._starting.pop(plan_id, None))
        return starting

    async def _start(self, client: Client, plan_id: str, task_queue: str) -> None:
        try:
            await client.start_workflow(
                c.PLAN_WORKFLOW_TYPE,
                PlanInput(plan_id=plan_id),
                id=c.plan_workflow_id(plan_id),
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A plan that has closed is not reopened here: whether the role's report starts
                # a new run of it stays the session's decision, as before.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # closed: the session's reports take their usual path
        except Exception as err:  # noqa: BLE001 - best effort: nobody awaits this, so nothing may escape
            logger.debug("plan %s not started by the client (%s); the session will", plan_id, err)
            return
        if len(self._known) >= MAX_KNOWN_PLANS:
            self._known.clear()
        self._known.add(plan_id)
