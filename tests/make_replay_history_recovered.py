"""Record the hardened RoleSession shapes for the replay test:
`python tests/make_replay_history_recovered.py`.

A fresh run after a terminate (the `recover-after-close` patch and its `recover_role_state`
activity), undecodable and refused signals, an unknown signal, and a roll-over that hands on
refusals (the `carry-refusals` patch). Writes a NEW file; never re-record an existing one.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roleteam import constants as c
from roleteam.client import RoleTeam
from roleteam.devserver import temporal_binary
from roleteam.exit import hard_exit
from roleteam.models import SessionOptions
from roleteam.worker_runtime import build_worker

OUT = Path(__file__).parent / "histories" / "role_session_recovered.json"


async def record() -> None:
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue, options=SessionOptions(turns_per_run=3))
    plan = "replay-plan"
    async with build_worker(env.client, queue):
        await team.invoke(plan, "developer", team.request("step 0", "inv-0"))
        await team.invoke(plan, "developer", team.request("step 1", "inv-1"))
        handle = team.handle(plan, "developer")
        await handle.terminate(reason="operator mistake")
        await team.invoke(plan, "developer", team.request("step 2", "inv-2"))
        recovered_run = (await team.state(plan, "developer")).run_id
        await handle.signal(c.SIGNAL_INVOKE, {"invocation_id": "inv-odd", "prompt": ["not text"]})
        await handle.signal(c.SIGNAL_INVOKE, {"invocation_id": "inv-blank", "prompt": " "})
        await handle.signal("not-a-contract-signal", "noise")
        await team.invoke(plan, "developer", team.request("step 3", "inv-3"))
        await team.invoke(plan, "developer", team.request("step 4", "inv-4"))
        await team.invoke(plan, "developer", team.request("step 5", "inv-5"))  # in the next run
        history = await env.client.get_workflow_handle(handle.id, run_id=recovered_run).fetch_history()
    OUT.write_text(history.to_json())
    print(f"wrote {OUT} ({len(history.events)} events)")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    hard_exit(0)
