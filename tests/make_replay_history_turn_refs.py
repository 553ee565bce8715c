"""Record the recent-turns-by-reference RoleSession shape for the replay test:
`python tests/make_replay_history_turn_refs.py`.

One `developer` session (echo provider) behind the patch `recent-turns-by-reference`: turns
whose `run_turn` input names the recent turns by reference (`recent_span`: first turn, count,
digest), then a new worker that does not hold them (ContextNotCached, then the same turn with its
context verbatim), a summary fold, and more turns by reference. Writes a NEW file; never
re-records an existing one.
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
from roleteam.models import SessionOptions  # noqa: E402
from roleteam.worker_runtime import build_worker  # noqa: E402

STAMP = datetime.date.today().strftime("%Y%m%d")
# role_session_turn_refs_20261125.json was recorded while each turn was named (`recent_refs`);
# this writes the shape sessions use now (`recent_span`).
OUT = Path(__file__).parent / "histories" / f"role_session_turn_span_{STAMP}.json"


async def record() -> None:
    if OUT.exists():
        raise SystemExit(f"{OUT} exists; the corpus only grows: pick a new name")
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"tq-{uuid.uuid4()}"
    team = RoleTeam(env.client, task_queue=queue, options=SessionOptions(context_token_budget=600))
    plan, role = "replay-turn-refs", "developer"
    try:
        async with build_worker(env.client, queue):
            for n in range(3):
                await team.invoke(plan, role, team.request(f"step {n} " + "w" * 500, f"inv-{n}"))
        async with build_worker(env.client, queue):  # holds no turns: ContextNotCached once
            for n in range(3, 7):
                await team.invoke(plan, role, team.request(f"step {n} " + "w" * 500, f"inv-{n}"))
            history = await team.handle(plan, role).fetch_history()
    finally:
        await env.shutdown()
    OUT.write_text(history.to_json())
    print(f"wrote {OUT} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(record())
    hard_exit(0)
