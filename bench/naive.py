"""BASELINE ONLY, not part of roleteam: the naive entity workflow `bench/compare.py` measures against.

The design a user could write in an afternoon: one workflow per role; an `invoke` update (or signal)
runs ONE activity that calls the same offline `echo` model and replies; the workflow keeps its
turns in memory and sends the last few verbatim; no governance, no skills, no evidence, no plan,
no summary, no continue-as-new (so its history grows until Temporal stops the run).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

NAIVE_WORKFLOW = "BenchNaiveRole"
NAIVE_ACTIVITY = "bench_naive_call_model"
NAIVE_SYSTEM_PROMPT = "You are the {role} of an AI team. Answer the request."


class NaiveTurn(BaseModel):
    prompt: str
    reply: str


class NaiveRequest(BaseModel):
    invocation_id: str
    prompt: str


class NaiveCall(BaseModel):
    role: str
    turn: int
    system_prompt: str
    recent: list[NaiveTurn]
    prompt: str


class NaiveReply(BaseModel):
    invocation_id: str
    turn: int
    reply: str


class NaiveStart(BaseModel):
    role: str
    context_turns: int = 8


@activity.defn(name=NAIVE_ACTIVITY)
async def naive_call_model(call: NaiveCall) -> str:
    """The same offline echo reply roleteam's `echo` provider gives (same shape, same size)."""
    return (
        f"[{call.role} · turn {call.turn}] Received: {call.prompt}\n"
        f"(context: {len(call.recent)} earlier turns verbatim, summary of 0 chars)"
    )


@workflow.defn(name=NAIVE_WORKFLOW)
class NaiveRole:
    @workflow.init
    def __init__(self, start: NaiveStart) -> None:
        self._start = start
        self._turns: list[NaiveTurn] = []
        self._lock = asyncio.Lock()  # one invocation at a time, in arrival order

    @workflow.run
    async def run(self, start: NaiveStart) -> None:
        await workflow.wait_condition(lambda: False)  # lives forever; no continue-as-new

    async def _invoke(self, request: NaiveRequest) -> NaiveReply:
        async with self._lock:
            turn = len(self._turns) + 1
            reply = await workflow.execute_activity(
                NAIVE_ACTIVITY,
                NaiveCall(
                    role=self._start.role,
                    turn=turn,
                    system_prompt=NAIVE_SYSTEM_PROMPT.format(role=self._start.role),
                    recent=self._turns[-self._start.context_turns :] if self._start.context_turns else [],
                    prompt=request.prompt,
                ),
                result_type=str,
                start_to_close_timeout=timedelta(seconds=60),
            )
            self._turns.append(NaiveTurn(prompt=request.prompt, reply=reply))
            return NaiveReply(invocation_id=request.invocation_id, turn=turn, reply=reply)

    @workflow.update(name="invoke")
    async def invoke(self, request: NaiveRequest) -> NaiveReply:
        return await self._invoke(request)

    @workflow.signal(name="enqueue")
    async def invoke_signal(self, request: NaiveRequest) -> None:
        await self._invoke(request)

    @workflow.query(name="turns")
    def turns(self) -> int:
        return len(self._turns)
