"""Soak one role through many invocations; report the largest run and check the transcript.

    python bench/soak.py --invocations 2000

Drives the session with `invoke` signals in batches (waiting on the last of each batch with the
`invoke_and_wait` update), then walks every run of the continue-as-new chain and prints the
largest run in events and bytes, and whether every turn is retrievable verbatim.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roleteam.client import RoleTeam
from roleteam.constants import session_workflow_id
from roleteam.devserver import temporal_binary
from roleteam.exit import hard_exit
from roleteam.history import read_transcript
from roleteam.worker_runtime import build_worker


async def run_sizes(client, workflow_id: str) -> list[tuple[str, int, int]]:
    """(run id, events, bytes) of every run, newest first."""
    sizes, run_id = [], None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        first = history.events[0].workflow_execution_started_event_attributes
        current = run_id or first.original_execution_run_id
        sizes.append((current, len(history.events), sum(e.ByteSize() for e in history.events)))
        run_id = first.continued_execution_run_id
        if not run_id:
            return sizes


async def soak(invocations: int, batch: int, prompt_bytes: int) -> dict:
    os.environ.setdefault("ROLETEAM_PROVIDER", "echo")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="error",
    )
    queue = f"soak-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue)
    plan = f"soak-{uuid.uuid4().hex[:8]}"
    filler = "x" * max(prompt_bytes - 20, 0)
    started = time.monotonic()
    async with build_worker(env.client, queue):
        for first in range(0, invocations, batch):
            last = min(first + batch, invocations)
            for n in range(first, last - 1):
                await team.send(plan, "developer", team.request(f"task {n} {filler}", f"inv-{n}"))
            await team.invoke(plan, "developer", team.request(f"task {last - 1} {filler}", f"inv-{last - 1}"))
            print(f"{last}/{invocations} invocations, {time.monotonic() - started:.0f}s", flush=True)
        state = await team.state(plan, "developer")
    elapsed = time.monotonic() - started
    workflow_id = session_workflow_id(plan, "developer")
    sizes = await run_sizes(env.client, workflow_id)
    transcript = (await read_transcript(env.client, workflow_id)).turns
    verbatim = all(
        t.prompt == f"task {t.turn - 1} {filler}" and t.prompt in (t.reply or "") for t in transcript
    )
    await env.shutdown()
    return {
        "invocations": invocations,
        "seconds": round(elapsed, 1),
        "invocations_per_second": round(invocations / elapsed, 1),
        "turns": state.turns,
        "runs": len(sizes),
        "largest_run_events": max(s[1] for s in sizes),
        "largest_run_bytes": max(s[2] for s in sizes),
        "transcript_turns": len(transcript),
        "transcript_complete_and_verbatim": verbatim
        and [t.turn for t in transcript] == list(range(1, invocations + 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--prompt-bytes", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(soak(args.invocations, args.batch, args.prompt_bytes))
    print(json.dumps(result, indent=2))
    hard_exit(
        0 if result["transcript_complete_and_verbatim"] and result["largest_run_events"] <= 10_240 else 1
    )


if __name__ == "__main__":
    main()
