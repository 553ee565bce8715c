"""`roleteam plan export PLAN DIR`: the whole plan bundle, written from Temporal, for archiving.

The worker keeps a bundle on its own disk as the plan runs; an export rebuilds it anywhere, and
adds each role's verbatim transcript read from every run of its session, so a plan outlives the
namespace's retention.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from roleteam.bundle import confined, write_json, write_plan
from roleteam.constants import session_workflow_id
from roleteam.errors import RoleteamError, SessionNotFoundError
from roleteam.history import read_transcript
from roleteam.plan_client import PlanTeam


class ExportSummary(BaseModel):
    """What an export wrote."""

    plan_id: str
    folder: str
    roles: dict[str, int]  # role -> turns written
    files: int
    earlier_runs_expired: list[str] = []


async def export_plan(plans: PlanTeam, plan_id: str, target: Path) -> ExportSummary:
    """Write the plan's state files and every started role's transcript under `target`."""
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / ".roleteam-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise RoleteamError(
            f"cannot write the bundle to {target} ({err.strerror}); give a folder you can write to"
        ) from None
    state = await plans.state(plan_id)
    written = write_plan(target, state)
    roles: dict[str, int] = {}
    expired: list[str] = []
    for entry in state.roster:
        if entry.status == "not_started":
            continue
        try:
            transcript = await read_transcript(plans.client, session_workflow_id(plan_id, entry.role))
        except SessionNotFoundError:
            continue
        written.append(
            write_json(confined(target, plan_id, "roles", entry.role, "transcript.json"), transcript)
        )
        for turn in transcript.turns:
            name = f"{turn.turn:06d}-{turn.invocation_id}.json"
            written.append(write_json(confined(target, plan_id, "roles", entry.role, name), turn))
        roles[entry.role] = len(transcript.turns)
        if transcript.earlier_runs_expired:
            expired.append(entry.role)
    return ExportSummary(
        plan_id=plan_id,
        folder=str(confined(target, plan_id)),
        roles=roles,
        files=len(written),
        earlier_runs_expired=expired,
    )
