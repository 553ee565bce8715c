"""What the turn activities in a session's history asked and answered, whichever shape recorded
them: `call_model`, `run_turn` (one turn each) or `run_turns` (a batch of queued turns).

Shared by the transcript reader (`roleteam.history`) and the recovery activity, which walk the
same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roleteam.constants import ACTIVITY_CALL_MODEL, ACTIVITY_RUN_TURN, ACTIVITY_RUN_TURNS
from roleteam.models import ModelCallInput, ModelReply, TurnBatchInput, TurnBatchResult, TurnInput, TurnResult

TURN_ACTIVITIES = (ACTIVITY_CALL_MODEL, ACTIVITY_RUN_TURN, ACTIVITY_RUN_TURNS)


@dataclass
class AskedTurn:
    """One turn an activity was scheduled to run; `turn` is provisional for a batch's later items
    (a refusal before them takes no number) until its answer says."""

    turn: int
    invocation_id: str
    prompt: str


@dataclass
class AnsweredTurn:
    """The reply to an asked turn (None: refused by the policy, or not run by its batch), and
    the turn number it took when the answer says (batches)."""

    reply: ModelReply | None
    turn: int | None = None


async def asked_turns(converter: Any, activity: str, payloads) -> list[AskedTurn]:
    """The turns a scheduled turn activity asked for, in order; [] for any other activity."""
    if activity == ACTIVITY_CALL_MODEL:
        [call] = await converter.decode(payloads, [ModelCallInput])
        return [AskedTurn(call.turn, call.invocation_id, call.prompt)]
    if activity == ACTIVITY_RUN_TURN:
        [step] = await converter.decode(payloads, [TurnInput])
        return [AskedTurn(step.turn, step.brief.invocation_id, step.brief.prompt)]
    if activity == ACTIVITY_RUN_TURNS:
        [batch] = await converter.decode(payloads, [TurnBatchInput])
        briefs = [batch.first.brief, *(item.brief for item in batch.more)]
        return [AskedTurn(batch.first.turn + n, b.invocation_id, b.prompt) for n, b in enumerate(briefs)]
    return []


async def answered_turns(converter: Any, activity: str, payloads, asked: int) -> list[AnsweredTurn]:
    """One answer per asked turn, in order, from a completed turn activity's result."""
    if activity == ACTIVITY_CALL_MODEL:
        [reply] = await converter.decode(payloads, [ModelReply])
        return [AnsweredTurn(reply)]
    if activity == ACTIVITY_RUN_TURN:
        [result] = await converter.decode(payloads, [TurnResult])
        return [AnsweredTurn(result.reply)]
    [batch] = await converter.decode(payloads, [TurnBatchResult])
    answers = [
        AnsweredTurn(result.reply, number or None)
        for result, number in zip(batch.results, batch.turns, strict=False)
    ]
    return (answers + [AnsweredTurn(None)] * asked)[:asked]
