"""Building a roleteam worker: the one place that knows what a worker registers."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from roleteam.client import configured_task_queue
from roleteam.search_attributes import ensure_search_attributes
from workflows import RoleSession

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
        await super().run()


def build_worker(client: Client, task_queue: str | None = None, **kwargs) -> RoleteamWorker:
    """A worker serving RoleSession and its activities on `task_queue` (default: configured)."""
    return RoleteamWorker(
        client,
        task_queue=task_queue or configured_task_queue(),
        workflows=[RoleSession],
        activities=ALL_ACTIVITIES,
        **kwargs,
    )
