"""Record a Plan history (and the role session that reported to it) for the replay test.

`python tests/make_plan_history.py` writes NEW files only; an existing file is never re-recorded
(it is what proves that changed workflow code still replays plans that are already running).
"""

from __future__ import annotations

import asyncio
import json
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
from roleteam.plan_client import PlanTeam  # noqa: E402
from roleteam.worker_runtime import build_worker  # noqa: E402
from tests.plan_helpers import BUG, finding_json  # noqa: E402

HISTORIES = Path(__file__).parent / "histories"
PLAN = "replay-plan"


async def record() -> None:
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue)
    plans = PlanTeam(env.client, task_queue=queue)
    async with build_worker(env.client, queue):
        await plans.open(PLAN, "small")
        await team.invoke(PLAN, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
        await _until(plans, lambda s: s.findings)
        await plans.review(PLAN, "F-0001", "accept", "fix it", dispatch=True)
        await _until(plans, lambda s: s.findings[0].status == "awaiting_revalidation")
        await plans.revalidate(PLAN, "F-0001", "resolved", by="validator", reason="fixed")
        await plans.waive(PLAN, "skill", "independent-verification", "tool missing", role="validator")
        await plans.set_budget(PLAN, 10**9, role="developer")
        await team.invoke(PLAN, "planner", team.request("Plan step 2.", "plan-d1", mode="delegated"))
        await plans.halt(PLAN, "pause")
        await plans.resume(PLAN, "go on")
        await team.invoke(PLAN, "lead", team.request("Lead here.", "lead-1"))
        await _until(plans, lambda s: s.lineage.total == 4 and s.outbox == 0)
        await plans.complete(PLAN, "done")
        await _until(plans, lambda s: s.outbox == 0)
        for workflow_id, name in (
            (f"plan:{PLAN}", "plan_lifecycle"),
            (f"role:{PLAN}:developer", "role_session_reporting"),
            (f"role:{PLAN}:planner", "role_session_delegated"),
            # Recorded again once plans showed themselves (plan-visibility) and sessions wrote
            # the bundle (role-bundle): the earlier files keep the earlier shapes.
            (f"plan:{PLAN}", "plan_visibility"),
            (f"role:{PLAN}:developer", "role_session_bundle"),
        ):
            out = HISTORIES / f"{name}.json"
            if out.exists():
                print(f"{out} exists; not re-recorded")
                continue
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
            data = json.loads(history.to_json())
            data["workflowId"] = workflow_id
            out.write_text(json.dumps(data))
            print(f"wrote {out} ({len(history.events)} events)")
        await _record_recovery(env, team, plans)
    await env.shutdown()


async def _record_recovery(env, team: RoleTeam, plans: PlanTeam) -> None:
    """A plan terminated by an operator, then taken up again by the next role report."""
    plan = "replay-recovered"
    out = HISTORIES / "plan_recovered.json"
    if out.exists():
        print(f"{out} exists; not re-recorded")
        return
    await team.invoke(plan, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await _until(plans, lambda s: s.findings, plan)
    await plans.handle(plan).terminate(reason="operator mistake")
    await team.invoke(plan, "developer", team.request("Step 2.", "dev-2"))
    await _until(plans, lambda s: s.lineage.total == 2 and s.outbox == 0, plan)
    history = await env.client.get_workflow_handle(f"plan:{plan}").fetch_history()
    data = json.loads(history.to_json())
    data["workflowId"] = f"plan:{plan}"
    out.write_text(json.dumps(data))
    print(f"wrote {out} ({len(history.events)} events)")


async def _until(plans: PlanTeam, ready, plan: str = PLAN) -> None:
    for _ in range(300):
        state = await plans.state(plan)
        if ready(state):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("plan did not reach the expected state")


if __name__ == "__main__":
    asyncio.run(record())
    hard_exit(0)
