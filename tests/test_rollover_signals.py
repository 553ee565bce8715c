"""Signals streamed through many roll-overs: every invocation is accounted for, none twice.

While a run closes for continue-as-new the server refuses signals for a moment ("workflow is
closing"); the contract tells clients to send again with the same id. Here the `temporal` CLI
(retried on that refusal, as docs/contract.md says) and `RoleTeam.send` (which retries by
itself) stream into one role whose runs hold only three turns each.
"""

from __future__ import annotations

import asyncio
import json

from roleteam.client import RoleTeam
from roleteam.constants import session_workflow_id
from roleteam.history import read_transcript
from roleteam.models import SessionOptions
from tests.helpers import temporal
from tests.test_contract_cli import start_args

TURNS_PER_RUN = 3
CLI_SIGNALS = 16
CLIENT_SIGNALS = 8
# "Workflow is busy" is the server shedding load on one workflow (RESOURCE_EXHAUSTED), as transient.
RETRYABLE = (
    "workflow is closing",
    "Workflow is busy",
    "Unavailable",
    "DeadlineExceeded",
    "ResourceExhausted",
)


async def cli_signal(client, task_queue, plan_id, role, request: dict, closing: list[str]) -> None:
    """signal-with-start, sent again with the same id while the server says the run is closing."""
    for _ in range(40):
        result = await temporal(
            client,
            "workflow",
            "signal-with-start",
            *start_args(task_queue, plan_id, role, {"turns_per_run": TURNS_PER_RUN}),
            "--signal-name",
            "invoke",
            "--signal-input",
            json.dumps(request),
        )
        if result.code == 0:
            return
        assert any(word in result.err for word in RETRYABLE), result.err
        closing.append(request["invocation_id"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{request['invocation_id']} was refused 40 times")


async def test_signals_streamed_through_five_rollovers_all_run_exactly_once(
    client, worker, task_queue, plan_id
):
    role = "developer"
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=TURNS_PER_RUN))
    cli_ids = [f"cli-{n}" for n in range(CLI_SIGNALS)]
    client_ids = [f"sdk-{n}" for n in range(CLIENT_SIGNALS)]
    closing: list[str] = []
    semaphore = asyncio.Semaphore(4)

    async def via_cli(invocation_id: str) -> None:
        async with semaphore:
            request = {"invocation_id": invocation_id, "prompt": f"streamed {invocation_id}"}
            await cli_signal(client, task_queue, plan_id, role, request, closing)

    async def via_client(invocation_id: str) -> None:
        await team.send(plan_id, role, team.request(f"streamed {invocation_id}", invocation_id))

    await via_cli(cli_ids[0])  # starts the session with the small turns_per_run
    await asyncio.gather(
        *(via_cli(i) for i in cli_ids[1:]),
        *(via_client(i) for i in client_ids),
        *(via_cli(i) for i in cli_ids[:4]),  # repeats: ids are idempotency keys
    )

    every = cli_ids + client_ids
    for _ in range(600):
        state = await team.state(plan_id, role)
        if state.turns >= len(every) and state.pending == 0:
            break
        await asyncio.sleep(0.1)
    assert state.turns == len(every), state
    assert state.runs >= 6, f"only {state.runs} runs: expected at least five roll-overs"

    transcript = await read_transcript(client, session_workflow_id(plan_id, role))
    ran = [t.invocation_id for t in transcript.turns]
    assert sorted(ran) == sorted(every), "every id ran exactly once"
    assert all(t.status == "completed" for t in transcript.turns)
    assert [t.turn for t in transcript.turns] == list(range(1, len(every) + 1))
    # A run that ends on its third turn rolls over once the turn is done, so the session may
    # start one more (empty) run between the state query above and the transcript walk.
    after = await team.state(plan_id, role)
    assert state.runs <= transcript.runs <= after.runs, (state.runs, transcript.runs, after.runs)
