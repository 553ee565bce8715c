"""Building a roleteam worker: the one place that knows what a worker registers."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from roleteam import tracing
from roleteam.client import configured_task_queue
from workflows import RoleSession


def build_worker(client: Client, task_queue: str | None = None, **kwargs) -> Worker:
    """A worker serving RoleSession and its activities on `task_queue` (default: configured)."""
    return Worker(
        client,
        task_queue=task_queue or configured_task_queue(),
        workflows=[RoleSession],
        activities=ALL_ACTIVITIES,
        interceptors=[*kwargs.pop("interceptors", []), *tracing.worker_interceptors(client)],
        **kwargs,
    )
