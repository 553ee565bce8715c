"""A worker that does not hold the context a `run_turn` names by digest asks the session for it
(query `context`) and checks what it gets against the digests; only when that fails does it
answer ContextNotCached, so the session sends the context verbatim (still correct, only bigger)."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from roleteam.activities.turn import RecentTurns, TurnActivities
from roleteam.constants import CONTEXT_NOT_CACHED_ERROR
from roleteam.models import RoleBriefInput, Turn, TurnContext, TurnInput, TurnSpan, span_digest, text_digest

RECENT = [Turn(turn=n, invocation_id=f"inv-{n}", prompt=f"step {n}", reply=f"done {n}") for n in (1, 2)]
SUMMARY = "Turns 1-0: nothing yet."


def by_digest(turn: int = 3) -> TurnInput:
    return TurnInput(
        brief=RoleBriefInput(plan_id="p1", role="developer", invocation_id=f"inv-{turn}", prompt="step 3"),
        turn=turn,
        recent_span=TurnSpan(first_turn=1, count=2, digest=span_digest(RECENT)),
        summary_digest=text_digest(SUMMARY),
    )


def activities(answer: TurnContext | None, asked: list) -> TurnActivities:
    async def fetch(workflow_id: str, run_id: str) -> TurnContext | None:
        asked.append((workflow_id, run_id))
        return answer

    return TurnActivities(turns=RecentTurns(), fetch_context=fetch)


@pytest.fixture(autouse=True)
def echo(monkeypatch):
    monkeypatch.setenv("ROLETEAM_PROVIDER", "echo")


async def test_a_worker_without_the_context_reads_it_from_the_session():
    asked: list = []
    turns = activities(TurnContext(summary=SUMMARY, recent_turns=RECENT), asked)
    result = await ActivityEnvironment().run(turns.run_turn, by_digest())
    assert len(asked) == 1
    assert "context: 2 earlier turns verbatim" in result.reply.reply
    assert f"summary of {len(SUMMARY)} chars" in result.reply.reply
    # Held from then on: the next turn names turns 1-3 and is not asked about again.
    following = by_digest(4)
    following.recent_span = TurnSpan(first_turn=1, count=3, digest=span_digest([*RECENT, _turn_3(result)]))
    await ActivityEnvironment().run(turns.run_turn, following)
    assert len(asked) == 1


def _turn_3(result) -> Turn:
    return Turn(turn=3, invocation_id="inv-3", prompt="step 3", reply=result.reply.reply)


@pytest.mark.parametrize(
    "answer",
    [
        None,  # the session could not be asked (query failed or timed out)
        TurnContext(summary=SUMMARY, recent_turns=RECENT[:1]),  # not the turns the digest names
        TurnContext(summary="another summary", recent_turns=RECENT),  # not the summary it names
    ],
    ids=["no-answer", "other-turns", "other-summary"],
)
async def test_context_the_session_cannot_vouch_for_is_never_used(answer):
    asked: list = []
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities(answer, asked).run_turn, by_digest())
    assert failed.value.type == CONTEXT_NOT_CACHED_ERROR and failed.value.non_retryable
    assert len(asked) == 1
