"""Record the shorter-runs RoleSession shape for the replay test:
`python tests/make_replay_history_short_runs.py`.

One `developer` session (echo provider) behind the patch `shorter-runs`: a burst of queued
invocations by signal until the first run rolls over at EVENTS_PER_RUN events; writes that first
run (its last event is the continue-as-new). Writes a NEW file; never re-records an existing one.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import sys
import uuid
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from roleteam.client import RoleTeam  # noqa: E402
from roleteam.devserver import temporal_binary  # noqa: E402
from roleteam.exit import hard_exit  # noqa: E402
from roleteam.worker_runtime import build_worker  # noqa: E402

STAMP = datetime.date.today().strftime("%Y%m%d")
OUT = Path(__file__).parent / "histories" / f"role_session_short_runs_{STAMP}.json"


async def record() -> None:
    if OUT.exists():
        raise SystemExit(f"{OUT} exists; the corpus only grows: pick a new name")
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue)
    plan, role = "replay-short-runs", "developer"
    try:
        async with build_worker(env.client, queue):
            for n in range(100):
                await team.send(plan, role, team.request(f"step {n}", f"inv-{n}"))
            while (state := await team.state(plan, role)).turns < 100 or state.pending:
                await asyncio.sleep(0.2)
            handle = team.handle(plan, role)
            runs: list = []
            while len(runs) < 2:  # the list of runs (visibility) lags a moment behind
                await asyncio.sleep(0.5)
                runs = [e async for e in env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
            first = min(runs, key=lambda e: e.start_time)
            history = await env.client.get_workflow_handle(handle.id, run_id=first.run_id).fetch_history()
    finally:
        await env.shutdown()
    OUT.write_text(history.to_json())
    print(f"wrote {OUT} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(record())
    hard_exit(0)
