"""A session's bookkeeping of invocation ids: the artifacts it holds and the ids it remembers.

Pure and deterministic (no Temporal calls), so it is unit-tested on its own and used by the
workflow. A cached session keeps its state in the worker's memory, so what it holds is bounded:
the newest artifacts within `max_count` and `max_bytes`; an older one is still known by its id
digest (idempotency, `seen`) and readable from the history (`roleteam history`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import roleteam.constants as c
from roleteam.models import ExecutionArtifact
from roleteam.workflows.carry import digest, payload_bytes


def remember(
    seen: dict[str, str], invocation_id: str, status: str, window: int = c.IDEMPOTENCY_WINDOW
) -> None:
    """Remember that `invocation_id` ran with `status`; the oldest ids fall out past `window`."""
    seen[digest(invocation_id)] = status
    while len(seen) > window:
        del seen[next(iter(seen))]


class ArtifactLedger:
    """The artifacts a session answers `artifact` and `invoke_and_wait` from, oldest first.

    Unbounded until `bound()` is called (runs recorded before the bound keep their behaviour).
    `dropped(id)` says whether this run let an artifact go to stay within its bounds.
    """

    def __init__(self, artifacts: Iterable[ExecutionArtifact] = ()) -> None:
        self._held: dict[str, tuple[ExecutionArtifact, int]] = {}
        self._bytes = 0
        self._max_count: int | None = None
        self._max_bytes: int | None = None
        self._dropped: dict[str, None] = {}  # digests let go this run, bounded like `seen`
        for artifact in artifacts:
            self.put(artifact)

    def bound(self, max_count: int, max_bytes: int) -> None:
        self._max_count, self._max_bytes = max_count, max_bytes
        self._trim(())

    def get(self, invocation_id: str) -> ExecutionArtifact | None:
        held = self._held.get(invocation_id)
        return held[0] if held else None

    def __contains__(self, invocation_id: str) -> bool:
        return invocation_id in self._held

    def __len__(self) -> int:
        return len(self._held)

    def values(self) -> list[ExecutionArtifact]:
        return [artifact for artifact, _ in self._held.values()]

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def put(self, artifact: ExecutionArtifact, pinned: Collection[str] = ()) -> None:
        """Hold `artifact` (a known id keeps its place, as in a dict); let the oldest go (never a
        `pinned` id) past the bounds."""
        held = self._held.get(artifact.invocation_id)
        size = payload_bytes(artifact)
        self._held[artifact.invocation_id] = (artifact, size)
        self._bytes += size - (held[1] if held else 0)
        self._dropped.pop(digest(artifact.invocation_id), None)
        self._trim(pinned)

    def pop(self, invocation_id: str) -> None:
        held = self._held.pop(invocation_id, None)
        if held is not None:
            self._bytes -= held[1]

    def trim(self, pinned: Collection[str] = ()) -> None:
        """Let the oldest go past the bounds (after pinned ones are released)."""
        self._trim(pinned)

    def dropped(self, invocation_id: str) -> bool:
        return digest(invocation_id) in self._dropped

    def _trim(self, pinned: Collection[str]) -> None:
        if self._max_count is None or self._max_bytes is None:
            return
        while len(self._held) > 1 and (len(self._held) > self._max_count or self._bytes > self._max_bytes):
            victim = next((i for i in self._held if i not in pinned), None)
            if victim is None or victim == next(reversed(self._held)):
                return  # only pinned ones (or the newest) left: held until written
            self.pop(victim)
            self._dropped[digest(victim)] = None
            while len(self._dropped) > c.IDEMPOTENCY_WINDOW:
                del self._dropped[next(iter(self._dropped))]
