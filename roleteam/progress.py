"""What an invocation is doing right now, read from the session and Temporal's pending activities.

The session's `state` query says which invocation runs and which wait; `describe()` says how the
running activity fares: its attempt, the last failure (`HTTP 429 …`) and when it is tried next.
Used by `roleteam invoke` (live progress on a terminal) and `roleteam status`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from roleteam.constants import (
    ACTIVITY_CALL_MODEL,
    ACTIVITY_LOAD_ROLE_BRIEF,
    ACTIVITY_RUN_TURN,
    ACTIVITY_RUN_TURNS,
    ACTIVITY_SUMMARIZE_TURNS,
)
from roleteam.errors import RoleteamError, SessionNotFoundError
from roleteam.models import RoleState

MAX_FAILURE_CHARS = 160

DOING = {
    ACTIVITY_LOAD_ROLE_BRIEF: "loading skills",
    ACTIVITY_CALL_MODEL: "calling the model",
    ACTIVITY_RUN_TURN: "calling the model",
    ACTIVITY_RUN_TURNS: "calling the model",
    ACTIVITY_SUMMARIZE_TURNS: "summarising older turns",
}


@dataclass
class ActivityProgress:
    """One pending activity of a session as Temporal reports it."""

    activity: str
    attempt: int
    maximum_attempts: int  # 0: unlimited
    started: bool
    last_failure: str | None = None
    next_attempt_at: datetime | None = None

    def text(self, now: datetime | None = None) -> str:
        """`calling the model · attempt 2/6 after HTTP 429 … · next retry in 3s`."""
        parts = [DOING.get(self.activity, self.activity)]
        if self.attempt > 1 or self.last_failure:
            limit = f"/{self.maximum_attempts}" if self.maximum_attempts else ""
            after = f" after {_clip(self.last_failure)}" if self.last_failure else ""
            parts.append(f"attempt {self.attempt}{limit}{after}")
        if self.next_attempt_at and not self.started:
            wait = (self.next_attempt_at - (now or datetime.now(UTC))).total_seconds()
            parts.append(f"next retry in {max(0, round(wait))}s")
        return " · ".join(parts)


@dataclass
class InvocationProgress:
    """Where one invocation stands: queued, running (and how), or no longer in flight."""

    invocation_id: str
    phase: str  # "starting" | "queued" | "running" | "not in flight" | "unknown"
    queued_behind: int | None = None
    doing: str | None = None  # the session's own word for the running step
    activities: list[ActivityProgress] = field(default_factory=list)

    def line(self, now: datetime | None = None) -> str:
        if self.phase == "queued":
            return f"queued behind {self.queued_behind}" if self.queued_behind else "queued, next to run"
        if self.phase == "running":
            if self.activities:
                return "; ".join(a.text(now) for a in self.activities)
            return self.doing or "running"
        if self.phase == "starting":
            return "starting the role's session"
        if self.phase == "unknown":
            return "waiting for the session (is a worker running?)"
        return "finishing"

    def as_json(self) -> dict:
        """A JSON-ready dict for `--json` output (times as ISO 8601 UTC)."""
        return {
            "invocation_id": self.invocation_id,
            "phase": self.phase,
            "queued_behind": self.queued_behind,
            "doing": self.doing,
            "activities": [
                {
                    "activity": a.activity,
                    "attempt": a.attempt,
                    "maximum_attempts": a.maximum_attempts,
                    "started": a.started,
                    "last_failure": a.last_failure,
                    "next_attempt_at": a.next_attempt_at.isoformat() if a.next_attempt_at else None,
                }
                for a in self.activities
            ],
            "line": self.line(),
        }


async def pending_activities(handle: WorkflowHandle) -> list[ActivityProgress]:
    """The session's activities in flight, with their retry state, from `describe()`."""
    description = await handle.describe()
    found = []
    for info in description.raw_description.pending_activities:
        failure = info.last_failure.message if info.HasField("last_failure") else None
        next_at = (
            info.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
            if info.HasField("next_attempt_schedule_time")
            else None
        )
        found.append(
            ActivityProgress(
                activity=info.activity_type.name,
                attempt=info.attempt,
                maximum_attempts=info.maximum_attempts,
                started=info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
                last_failure=failure or None,
                next_attempt_at=next_at,
            )
        )
    return found


def invocation_progress(
    invocation_id: str, state: RoleState | None, activities: list[ActivityProgress]
) -> InvocationProgress:
    """Combine the session's state and its pending activities into one invocation's progress."""
    if state is None:
        return InvocationProgress(invocation_id, "unknown")
    if state.running_invocation_id == invocation_id or invocation_id in state.running_batch:
        return InvocationProgress(invocation_id, "running", doing=state.running_phase, activities=activities)
    if invocation_id in state.queued:
        running = (1 if state.running_invocation_id else 0) + len(state.running_batch)
        ahead = state.queued.index(invocation_id) + running
        return InvocationProgress(invocation_id, "queued", queued_behind=ahead)
    return InvocationProgress(invocation_id, "not in flight")


async def read_progress(team, plan_id: str, role: str, invocation_id: str) -> InvocationProgress:
    """Progress of one invocation of ROLE in PLAN; `unknown` while the session cannot answer."""
    handle = team.handle(plan_id, role)
    try:
        state = await team.state(plan_id, role, timeout=5.0)
        running = state.running_invocation_id == invocation_id or invocation_id in state.running_batch
        activities = await pending_activities(handle) if running else []
    except SessionNotFoundError:  # the first invocation of the role starts its session
        return InvocationProgress(invocation_id, "starting")
    except (RPCError, RoleteamError):  # e.g. no worker answers: nothing to say but waiting
        return InvocationProgress(invocation_id, "unknown")
    return invocation_progress(invocation_id, state, activities)


async def running_now(
    team, plan_id: str, states: dict[str, RoleState | None]
) -> dict[str, InvocationProgress]:
    """For each role of the plan running an invocation: what it does, with its retry state."""

    async def one(role: str, state: RoleState) -> InvocationProgress:
        try:
            activities = await pending_activities(team.handle(plan_id, role))
        except RPCError:
            activities = []
        return invocation_progress(state.running_invocation_id, state, activities)

    busy = {role: state for role, state in states.items() if state and state.running_invocation_id}
    found = await asyncio.gather(*(one(role, state) for role, state in busy.items()))
    return dict(zip(busy, found, strict=True))


def _clip(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_FAILURE_CHARS else text[: MAX_FAILURE_CHARS - 1] + "…"
