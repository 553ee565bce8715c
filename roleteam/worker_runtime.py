"""Building a roleteam worker: the one place that knows what a worker registers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from activities.recovery import RecoveryActivities
from roleteam.client import configured_task_queue
from workflows import RoleSession

# Threads for synchronous activities (policy and skill loading); each call is short and bounded.
ACTIVITY_THREADS = 8


def build_worker(client: Client, task_queue: str | None = None, **kwargs) -> Worker:
    """A worker serving RoleSession and its activities on `task_queue` (default: configured).

    Synchronous activities run on a thread pool (`activity_executor`), so file reads, YAML
    parsing and regex matching never block the event loop serving every other role.
    """
    kwargs.setdefault("activity_executor", ThreadPoolExecutor(ACTIVITY_THREADS, "roleteam-activity"))
    return Worker(
        client,
        task_queue=task_queue or configured_task_queue(),
        workflows=[RoleSession],
        activities=[*ALL_ACTIVITIES, RecoveryActivities(client).recover_role_state],
        **kwargs,
    )
