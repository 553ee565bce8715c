"""Record the `turn-batches` shape for the replay test: `python tests/make_replay_history_batches.py`.

A `planner` session (echo provider) with a small context budget and 14 turns a run takes 30
invocations queued by signal at once: they run in `run_turns` batches that stop where older
turns must be folded and where the run reaches its turns, one of them holding an invocation whose
mode the policy refuses (no turn taken). Its first run and its last are written, with the plan.
Writes NEW files; never re-records.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sys
import uuid
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from roleteam.client import RoleTeam  # noqa: E402
from roleteam.constants import plan_workflow_id  # noqa: E402
from roleteam.devserver import temporal_binary  # noqa: E402
from roleteam.exit import hard_exit  # noqa: E402
from roleteam.models import SessionOptions  # noqa: E402
from roleteam.plan_client import PlanTeam  # noqa: E402
from roleteam.worker_runtime import build_worker  # noqa: E402

STAMP = datetime.date.today().strftime("%Y%m%d")
HISTORIES = Path(__file__).parent / "histories"
PLAN = "replay-batches"
ROLE = "planner"  # may not be scheduled: one queued invocation is refused by the policy
FIRST_RUN = HISTORIES / f"role_session_batches_{STAMP}.json"
OUTS = {
    f"role:{PLAN}:{ROLE}": HISTORIES / f"role_session_batches_continued_{STAMP}.json",
    plan_workflow_id(PLAN): HISTORIES / f"plan_batches_{STAMP}.json",
}
QUEUED = 30


async def record() -> None:
    existing = [str(p) for p in (FIRST_RUN, *OUTS.values()) if p.exists()]
    if existing:
        raise SystemExit(f"{existing} exist; the corpus only grows: pick a new name")
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    plans = PlanTeam(env.client, task_queue=queue)
    team = RoleTeam(
        env.client, task_queue=queue, options=SessionOptions(context_token_budget=400, turns_per_run=14)
    )
    try:
        async with build_worker(env.client, queue):
            await team.invoke(PLAN, ROLE, team.request("start " + "w" * 300, "pl-start"))
            for n in range(QUEUED):
                mode = "scheduled" if n == 4 else "persistent"
                request = team.request(f"step {n} " + "w" * 300, f"pl-{n}", mode=mode)
                await team.send(PLAN, ROLE, request, check=False)
            for _ in range(600):
                state = await team.state(PLAN, ROLE)
                plan = await plans.state(PLAN)
                if state.last_invocation_id == f"pl-{QUEUED - 1}" and not (
                    state.pending or state.unreported or state.unwritten or plan.outbox
                ):
                    break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"not settled: {state}")
            await asyncio.sleep(1.5)
            runs = [e async for e in env.client.list_workflows(f"WorkflowId = 'role:{PLAN}:{ROLE}'")]
            first = min(runs, key=lambda e: e.start_time)
            history = await env.client.get_workflow_handle(first.id, run_id=first.run_id).fetch_history()
            data = json.loads(history.to_json())
            data["workflowId"] = first.id
            FIRST_RUN.write_text(json.dumps(data))
            print(f"wrote {FIRST_RUN} ({len(history.events)} events, {len(runs)} runs)")
            for workflow_id, out in OUTS.items():
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                data = json.loads(history.to_json())
                data["workflowId"] = workflow_id
                out.write_text(json.dumps(data))
                print(f"wrote {out} ({len(history.events)} events)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    hard_exit(0)
