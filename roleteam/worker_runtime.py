"""Building a roleteam worker: the one place that knows what a worker registers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from activities.delivery import DeliveryActivities
from activities.plan_recovery import PlanRecoveryActivities
from activities.recovery import RecoveryActivities
from activities.team import load_team_template
from roleteam import tracing
from roleteam.client import configured_task_queue
from workflows import ALL_WORKFLOWS

# Threads for synchronous activities (policy and skill loading); each call is short and bounded.
ACTIVITY_THREADS = 8


def build_worker(client: Client, task_queue: str | None = None, **kwargs) -> Worker:
    """A worker serving roleteam's workflows and activities on `task_queue` (default: configured).

    Synchronous activities run on a thread pool (`activity_executor`), so file reads, YAML
    parsing and regex matching never block the event loop serving every other role.
    """
    delivery = DeliveryActivities(client)
    kwargs.setdefault("activity_executor", ThreadPoolExecutor(ACTIVITY_THREADS, "roleteam-activity"))
    return Worker(
        client,
        task_queue=task_queue or configured_task_queue(),
        workflows=ALL_WORKFLOWS,
        activities=[
            *ALL_ACTIVITIES,
            RecoveryActivities(client).recover_role_state,
            load_team_template,
            delivery.report_to_plan,
            delivery.deliver_invocation,
            PlanRecoveryActivities(client).recover_plan_state,
        ],
        interceptors=[*kwargs.pop("interceptors", []), *tracing.worker_interceptors(client)],
        **kwargs,
    )
