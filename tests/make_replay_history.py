"""Record a RoleSession history for the replay test: `python tests/make_replay_history.py [NAME]`.

NAME (default `role_session_lifecycle`) names the new file under tests/histories/.

Re-record only on purpose: the checked-in file is what proves that a change to workflow code
still replays sessions that are already running.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roleteam.client import RoleTeam
from roleteam.devserver import temporal_binary
from roleteam.exit import hard_exit
from roleteam.models import SessionOptions
from roleteam.worker_runtime import build_worker

HISTORIES = Path(__file__).parent / "histories"


async def record(out: Path) -> None:
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue, options=SessionOptions(context_token_budget=200))
    plan = "replay-plan"
    async with build_worker(env.client, queue):
        for n in range(4):
            await team.invoke(plan, "developer", team.request(f"step {n}: " + "work " * 40, f"inv-{n}"))
        await team.invoke(plan, "developer", team.request("step 0 again", "inv-0"))
        await team.send(plan, "developer", team.request("queued", "inv-signal"))
        await team.invoke(plan, "developer", team.request("later", "inv-later", mode="delegated"))
        await team.retire(plan, "developer", "paused for review", by="lead")
        await team.invoke(plan, "developer", team.request("while retired", "inv-retired"))
        await team.reopen(plan, "developer", "review done", by="lead")
        await team.invoke(plan, "developer", team.request("after reopen", "inv-reopened"))
        history = await team.handle(plan, "developer").fetch_history()
    out.write_text(history.to_json())
    print(f"wrote {out} ({len(history.events)} events)")
    await env.shutdown()


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "role_session_lifecycle"
    target = HISTORIES / f"{name}.json"
    if target.exists():
        sys.exit(f"{target} exists: the corpus only grows; give a new NAME")
    asyncio.run(record(target))
    hard_exit(0)
