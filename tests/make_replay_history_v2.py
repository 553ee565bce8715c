"""Record the `session-v2` / `plan-v2` shapes for the replay test:
`python tests/make_replay_history_v2.py`.

A `validator` and a `developer` session (echo provider) of one plan, each run recorded with the
single consolidated patch: fresh starts that take up earlier state by local activity, the plan
started by the validator's `joined` report, routine artifacts reported in `role_events` batches
(by the delay timer and by count, 20 queued invocations), a finding reported at once, the Lead's
review and dispatch, and the remediation reported at once. The developer has a small context
budget (older turns folded, the summary then sent by digest) and rolls over every 14 turns: its
first run and its last are written. Writes NEW files; never re-records.
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
from tests.plan_helpers import BUG, finding_json  # noqa: E402

STAMP = datetime.date.today().strftime("%Y%m%d")
HISTORIES = Path(__file__).parent / "histories"
PLAN = "replay-v2"
FIRST_RUN = HISTORIES / f"role_session_v2_{STAMP}.json"
OUTS = {
    f"role:{PLAN}:developer": HISTORIES / f"role_session_v2_continued_{STAMP}.json",
    f"role:{PLAN}:validator": HISTORIES / f"role_session_v2_finding_{STAMP}.json",
    plan_workflow_id(PLAN): HISTORIES / f"plan_v2_{STAMP}.json",
}


async def settled(team: RoleTeam, plans: PlanTeam, turns: dict[str, int]) -> None:
    """Every role ran its queue and reported it, and the plan delivered its outbox."""
    for _ in range(600):
        states = {role: await team.state(PLAN, role) for role in turns}
        plan = await plans.state(PLAN)
        if plan.outbox == 0 and all(
            s.turns >= turns[r] and not (s.pending or s.unreported or s.unwritten) for r, s in states.items()
        ):
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"not settled: {states}")


async def record() -> None:
    existing = [str(p) for p in (FIRST_RUN, *OUTS.values()) if p.exists()]
    if existing:
        raise SystemExit(f"{existing} exist; the corpus only grows: pick a new name")
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team, plans = RoleTeam(env.client, task_queue=queue), PlanTeam(env.client, task_queue=queue)
    developer = RoleTeam(
        env.client, task_queue=queue, options=SessionOptions(context_token_budget=400, turns_per_run=14)
    )
    try:
        async with build_worker(env.client, queue):
            await team.invoke(PLAN, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
            for n in range(3):
                await developer.invoke(
                    PLAN, "developer", developer.request(f"step {n} " + "w" * 600, f"dev-{n}")
                )
            await asyncio.sleep(1.5)  # the routine reports go when their delay runs out
            for n in range(3, 23):
                await developer.send(PLAN, "developer", developer.request(f"step {n}", f"dev-{n}"))
            await settled(team, plans, {"developer": 23, "validator": 1})
            finding = (await plans.state(PLAN)).findings[0].id
            await plans.review(PLAN, finding, "accept", "real bug", assign="developer", dispatch=True)
            await settled(team, plans, {"developer": 24, "validator": 1})
            await asyncio.sleep(1.5)
            runs = [e async for e in env.client.list_workflows(f"WorkflowId = 'role:{PLAN}:developer'")]
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
