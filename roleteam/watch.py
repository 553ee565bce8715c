"""`roleteam watch PLAN`: follow a plan live — new artifacts, findings, lifecycle changes.

Polls the plan's `state` query and reports what changed since the last look, one event per line
(one JSON object per line with --json), until interrupted or for a given number of seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pydantic import BaseModel

from roleteam.plan_client import PlanNotFoundError, PlanTeam
from roleteam.plan_models import PlanState
from roleteam.timefmt import format_time


class WatchEvent(BaseModel):
    """One change seen in a plan."""

    at: datetime
    kind: str  # artifact | finding | role | plan | gate
    subject: str
    text: str
    data: dict = {}

    def line(self) -> str:
        return f"{format_time(self.at)} {self.kind:8} {self.subject:22} {self.text}"


class PlanWatcher:
    """Remembers what it has reported, so each look yields only what changed."""

    def __init__(self) -> None:
        self._lineage: set[str] = set()
        self._findings: dict[str, tuple[str, str]] = {}
        self._roles: dict[str, tuple[str, int]] = {}
        self._status: str | None = None
        self._gate: bool | None = None

    def changes(self, state: PlanState) -> list[WatchEvent]:
        now = datetime.now(UTC)
        events: list[WatchEvent] = []
        if state.status != self._status:
            reason = f" — {state.status_reason}" if state.status_reason else ""
            events.append(
                WatchEvent(at=now, kind="plan", subject=state.plan_id, text=f"{state.status}{reason}")
            )
            self._status = state.status
        for entry in state.roster:
            key = (entry.status, entry.generation)
            if self._roles.get(entry.role) != key and entry.status != "not_started":
                events.append(
                    WatchEvent(
                        at=entry.last_activity_at or now,
                        kind="role",
                        subject=entry.role,
                        text=f"{entry.status} (generation {entry.generation}, {entry.turns} turns)",
                    )
                )
            self._roles[entry.role] = key
        for line in state.lineage.entries:
            key = f"{line.role}\n{line.invocation_id}"
            if key in self._lineage:
                continue
            self._lineage.add(key)
            turn = f"turn {line.turn}" if line.turn is not None else line.mode
            detail = f"{line.status} ({turn}, {line.tokens} tokens)"
            if line.reason:
                detail += f": {line.reason[:120]}"
            for note in line.notes[:3]:
                detail += f"; {note[:100]}"
            events.append(
                WatchEvent(
                    at=line.finished_at,
                    kind="artifact",
                    subject=f"{line.role} {line.invocation_id}"[:60],
                    text=detail,
                    data=line.model_dump(mode="json"),
                )
            )
        for finding in state.findings:
            key = (finding.status, finding.review)
            if self._findings.get(finding.id) == key:
                continue
            self._findings[finding.id] = key
            last = finding.history[-1] if finding.history else None
            by = f" by {last.by}" if last else ""
            events.append(
                WatchEvent(
                    at=finding.updated_at,
                    kind="finding",
                    subject=finding.id,
                    text=(
                        f"{finding.severity} {finding.status} (review {finding.review}){by}: "
                        f"{finding.title[:80]}"
                    ),
                    data={"id": finding.id, "status": finding.status, "review": finding.review},
                )
            )
        if state.gate.can_complete != self._gate:
            text = "open" if state.gate.can_complete else f"blocked ({len(state.gate.blockers)})"
            events.append(WatchEvent(at=now, kind="gate", subject=state.plan_id, text=text))
            self._gate = state.gate.can_complete
        return sorted(events, key=lambda e: e.at)


async def watch_plan(
    plans: PlanTeam, plan_id: str, interval: float = 1.0, seconds: float | None = None
) -> AsyncIterator[WatchEvent | str]:
    """Yield changes as they are seen; a string when the plan does not exist (yet)."""
    watcher = PlanWatcher()
    deadline = time.monotonic() + seconds if seconds else None
    waiting_said = False
    while deadline is None or time.monotonic() < deadline:
        try:
            state = await plans.state(plan_id)
        except PlanNotFoundError as err:
            if not waiting_said:
                yield f"{err}; waiting for it to start"
                waiting_said = True
        else:
            for event in watcher.changes(state):
                yield event
        await asyncio.sleep(interval)
