"""Outboxes: messages a workflow delivers one at a time, head first, from its main loop.

While the head is being delivered (an awaited signal), handlers may change the queue: the Plan
replaces a role's queued directive with a newer one, a session replaces its last lifecycle report.
After the delivery, the delivered message leaves the queue by identity, never by position: removing
"the head" could drop the newer message that took its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def drop_delivered(queue: list[Any], item: Any, superseded_safely: Callable[[], bool]) -> None:
    """Remove `item` from `queue` after it was delivered.

    `superseded_safely` decides the case where a handler changed the head meanwhile: True removes
    by identity (the current behaviour), False pops the head as releases before it did (the call
    is `workflow.patched(...)` in a workflow, so recorded histories replay unchanged).
    """
    if queue and queue[0] is item:
        queue.pop(0)
    elif superseded_safely():
        for index, queued in enumerate(queue):
            if queued is item:
                del queue[index]
                break
    elif queue:
        queue.pop(0)
