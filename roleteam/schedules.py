"""Mode `scheduled`: Temporal Schedules that invoke a role on a cron expression or an interval.

Each schedule starts a `ScheduledInvocation` workflow per firing, which queues one invocation
(mode `scheduled`) on the role's session under the firing's own id, so a firing never runs twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from roleteam import constants as c
from roleteam.errors import InvalidInputError, RoleteamError
from roleteam.plan_models import ScheduledFiring
from roleteam.registry import RoleRegistry, validate_plan_id

SCHEDULE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
INTERVAL = re.compile(r"(\d+)(s|m|h|d)")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 1
SPEC_MEMO = "roleteam_spec"


class ScheduleInfo(BaseModel):
    """One role schedule as `roleteam schedule list` shows it."""

    schedule_id: str
    plan_id: str
    role: str
    name: str
    spec: str
    paused: bool
    note: str = ""
    next_runs: list[str] = []
    recent_runs: int = 0


def schedule_id(plan_id: str, role: str, name: str) -> str:
    return f"sched:{plan_id}:{role}:{name}"


def parse_interval(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1d` as a timedelta; a clear error otherwise."""
    match = INTERVAL.fullmatch(text.strip())
    if not match:
        raise InvalidInputError(f"--every {text!r}: give a number and a unit, e.g. 30s, 15m, 2h or 1d")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds < MIN_INTERVAL_SECONDS or seconds > 366 * 86400:
        raise InvalidInputError(f"--every {text!r}: use from 1s to 366d")
    return timedelta(seconds=seconds)


@dataclass
class RoleSchedules:
    """Create, list, pause, resume and delete role schedules over one Temporal client."""

    client: Client
    registry: RoleRegistry
    task_queue: str

    async def create(
        self,
        plan_id: str,
        role: str,
        name: str,
        prompt: str,
        every: str | None = None,
        cron: str | None = None,
        by: str | None = None,
    ) -> ScheduleInfo:
        validate_plan_id(plan_id)
        spec = self.registry.resolve(role)
        if not SCHEDULE_NAME.fullmatch(name):
            raise InvalidInputError(f"schedule name {name!r}: use 1-40 lower-case letters, digits or '-'")
        if "scheduled" not in spec.execution_modes.allowed:
            raise InvalidInputError(
                f"mode 'scheduled' is not allowed for role {spec.id!r} by the role policy "
                f"(allowed: {', '.join(spec.execution_modes.allowed)})"
            )
        if bool(every) == bool(cron):
            raise InvalidInputError("give exactly one of --every (e.g. 15m) or --cron (e.g. '0 9 * * 1-5')")
        if not prompt.strip():
            raise InvalidInputError("the prompt is empty: say what the role should do at each firing")
        if len(prompt.encode()) > c.MAX_PROMPT_BYTES:
            raise InvalidInputError(f"the prompt is over {c.MAX_PROMPT_BYTES} bytes")
        when = (
            ScheduleSpec(intervals=[ScheduleIntervalSpec(every=parse_interval(every))])
            if every
            else ScheduleSpec(cron_expressions=[cron])
        )
        sid = schedule_id(plan_id, spec.id, name)
        firing = ScheduledFiring(plan_id=plan_id, role=spec.id, schedule=name, prompt=prompt, requested_by=by)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                c.SCHEDULED_WORKFLOW_TYPE, firing, id=sid, task_queue=self.task_queue
            ),
            spec=when,
            state=ScheduleState(
                note=f"{spec.title} · plan {plan_id} · {f'every {every}' if every else f'cron {cron}'}"
            ),
        )
        try:
            await self.client.create_schedule(
                sid, schedule, memo={SPEC_MEMO: f"every {every}" if every else f"cron {cron}"}
            )
        except ScheduleAlreadyRunningError:
            raise InvalidInputError(
                f"schedule {name!r} already exists for {spec.id} in plan {plan_id}; delete it first"
            ) from None
        except RPCError as err:
            raise RoleteamError(f"Temporal refused the schedule: {err.message}") from None
        return await self.describe(sid)

    async def describe(self, sid: str) -> ScheduleInfo:
        try:
            desc = await self.client.get_schedule_handle(sid).describe()
        except RPCError as err:
            raise _schedule_error(err, sid) from None
        _, plan_id, role, name = sid.split(":", 3)
        note = desc.schedule.state.note or ""
        # The server turns cron expressions into calendars; the memo keeps what the user wrote.
        shown = await desc.memo_value(SPEC_MEMO, "-")
        return ScheduleInfo(
            schedule_id=sid,
            plan_id=plan_id,
            role=role,
            name=name,
            spec=shown,
            paused=desc.schedule.state.paused,
            note=note,
            next_runs=[t.isoformat() for t in desc.info.next_action_times[:3]],
            recent_runs=desc.info.num_actions,
        )

    async def list(self, plan_id: str | None = None) -> list[ScheduleInfo]:
        prefix = f"sched:{validate_plan_id(plan_id)}:" if plan_id else "sched:"
        found = []
        async for entry in await self.client.list_schedules():
            if entry.id.startswith(prefix) and entry.id.count(":") >= 3:
                try:
                    found.append(await self.describe(entry.id))
                except ScheduleGoneError:
                    continue  # deleted a moment ago: the list catches up a little later
        return sorted(found, key=lambda s: s.schedule_id)

    async def pause(self, sid: str, note: str) -> ScheduleInfo:
        await self._call(sid, lambda h: h.pause(note=note))
        return await self.describe(sid)

    async def unpause(self, sid: str, note: str) -> ScheduleInfo:
        await self._call(sid, lambda h: h.unpause(note=note))
        return await self.describe(sid)

    async def delete(self, sid: str) -> None:
        await self._call(sid, lambda h: h.delete())

    async def _call(self, sid: str, action) -> None:
        try:
            await action(self.client.get_schedule_handle(sid))
        except RPCError as err:
            raise _schedule_error(err, sid) from None


class ScheduleGoneError(RoleteamError):
    """The schedule does not exist (any more)."""


def _schedule_error(err: RPCError, sid: str) -> RoleteamError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return ScheduleGoneError(f"no schedule {sid!r}; list them with 'roleteam schedule list'")
    return RoleteamError(f"Temporal refused the request: {err.message}")
