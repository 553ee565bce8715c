"""The full verbatim transcript of a role, read back from Temporal across all its runs.

The workflow hands only a bounded summary to each new run; the verbatim turns stay in the event
histories of the runs themselves (the turn activities' inputs and results), so walking the
continue-as-new chain back to the first run recovers every turn.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from roleteam.constants import CONTEXT_NOT_CACHED_ERROR, POLICY_ERROR
from roleteam.errors import SessionNotFoundError, no_session_message
from roleteam.turn_events import TURN_ACTIVITIES, answered_turns, asked_turns


class TranscriptTurn(BaseModel):
    """One model call as the role's history recorded it."""

    turn: int
    invocation_id: str
    run_id: str
    status: str  # completed, failed, running
    prompt: str
    reply: str | None = None
    error: str | None = None
    provider: str | None = None
    model: str | None = None


class Transcript(BaseModel):
    """A session's turns, oldest first, and whether runs before them have expired."""

    workflow_id: str
    turns: list[TranscriptTurn]
    runs: int
    earlier_runs_expired: bool = False


async def read_transcript(client: Client, workflow_id: str) -> Transcript:
    """Every turn of the session still held by Temporal, oldest first, from all of its runs.

    Closed runs are kept for the namespace's retention period; once the oldest have been
    removed, the turns of the remaining runs are returned and `earlier_runs_expired` is set.
    """
    runs: list[list[TranscriptTurn]] = []
    run_id: str | None = None
    expired = False
    while True:
        try:
            turns, previous = await _read_run(client, workflow_id, run_id)
        except SessionNotFoundError:
            if run_id is None:
                raise
            expired = True
            break
        runs.append(turns)
        if not previous:
            break
        run_id = previous
    return Transcript(
        workflow_id=workflow_id,
        turns=[turn for run in reversed(runs) for turn in run],
        runs=len(runs),
        earlier_runs_expired=expired,
    )


async def _read_run(
    client: Client, workflow_id: str, run_id: str | None
) -> tuple[list[TranscriptTurn], str | None]:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    converter = client.data_converter
    # The turns each turn activity asked for (a batch asks several), by its scheduled event id.
    scheduled: dict[int, list[TranscriptTurn]] = {}
    activities: dict[int, str] = {}
    previous_run: str | None = None
    try:
        current_run = run_id or (await handle.describe()).run_id
        async for event in handle.fetch_history_events():
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                attrs = event.workflow_execution_started_event_attributes
                previous_run = attrs.continued_execution_run_id or None
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                name = attrs.activity_type.name
                if name not in TURN_ACTIVITIES:
                    continue
                activities[event.event_id] = name
                scheduled[event.event_id] = [
                    TranscriptTurn(
                        turn=asked.turn,
                        invocation_id=asked.invocation_id,
                        run_id=current_run,
                        status="running",
                        prompt=asked.prompt,
                    )
                    for asked in await asked_turns(converter, name, attrs.input.payloads)
                ]
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attrs = event.activity_task_completed_event_attributes
                turns = scheduled.get(attrs.scheduled_event_id)
                if not turns:
                    continue
                name = activities[attrs.scheduled_event_id]
                answers = await answered_turns(converter, name, attrs.result.payloads, len(turns))
                kept = []
                for turn, answer in zip(turns, answers, strict=True):
                    reply = answer.reply
                    if reply is None:  # refused by the policy (no turn), or not run by its batch
                        continue
                    turn.status, turn.reply = "completed", reply.reply
                    turn.provider, turn.model = reply.provider, reply.model
                    turn.turn = answer.turn or turn.turn
                    kept.append(turn)
                scheduled[attrs.scheduled_event_id] = kept
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                attrs = event.activity_task_failed_event_attributes
                failure = attrs.failure
                if failure.application_failure_info.type in (POLICY_ERROR, CONTEXT_NOT_CACHED_ERROR):
                    # A refusal (no turn taken), or a turn sent again with its context verbatim.
                    scheduled.pop(attrs.scheduled_event_id, None)
                    continue
                _fail(scheduled, attrs.scheduled_event_id, failure.message)
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
                attrs = event.activity_task_timed_out_event_attributes
                _fail(scheduled, attrs.scheduled_event_id, f"timed out: {attrs.failure.message}")
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            _, plan_id, role = (workflow_id.split(":", 2) + ["", ""])[:3]
            raise SessionNotFoundError(no_session_message(plan_id, role)) from None
        raise
    return [turn for turns in scheduled.values() for turn in turns], previous_run


def _fail(scheduled: dict[int, list[TranscriptTurn]], event_id: int, message: str) -> None:
    """The activity failed on its first turn; a batch's later turns did not run there."""
    turns = scheduled.get(event_id)
    if turns:
        turns[0].status, turns[0].error = "failed", message
        del turns[1:]
