"""Record the one-round-trip RoleSession shapes for the replay test:
`python tests/make_replay_history_one_trip.py`.

One `lead` session against the fake OpenAI-compatible server, behind the patches
`one-turn-activity` (a `run_turn` activity per invocation), `queue-before-trailing-work` (a
queued burst runs before the plan reports and bundle files, which follow in a batch) and
`bounded-held-artifacts`: a completed turn, a mode the policy does not allow (refused inside
`run_turn`), a model call that fails after its retries (the evidence in the failure's details),
a burst of queued signals with a waiting update, summaries (small context budget) and a
roll-over (`turns_per_run`). Writes NEW files; never re-records an existing one:
`python tests/make_replay_history_one_trip.py NAME` writes `role_session_NAME_<date>.json` (and
`NAME_continued`); `one_trip` was recorded before the patch `plan-news-before-queue`,
`one_trip_news_first` with it (the session's `joined` report goes before its first invocation).
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
from tests.fake_openai import FakeOpenAI, Scripted  # noqa: E402

HISTORIES = Path(__file__).parent / "histories"
STAMP = datetime.date.today().strftime("%Y%m%d")


def out(name: str) -> Path:
    path = HISTORIES / f"role_session_{name}_{STAMP}.json"
    if path.exists():
        raise SystemExit(f"{path} exists; the corpus only grows: pick a new name")
    return path


async def record(name: str) -> None:
    first_path, second_path = out(name), out(f"{name}_continued")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    fake = FakeOpenAI().start()
    os.environ.update(
        ROLETEAM_PROVIDER="openai",
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_API_KEY="sk-test-not-a-secret",
        ROLETEAM_MODEL="fake-model",
    )
    queue = f"tq-{uuid.uuid4()}"
    options = SessionOptions(
        context_token_budget=200, turns_per_run=9, model_max_attempts=2, model_heartbeat_timeout_seconds=5
    )
    team = RoleTeam(env.client, task_queue=queue, options=options)
    plan, role = "replay-one-trip", "lead"
    try:
        async with build_worker(env.client, queue):
            done = await team.invoke(plan, role, team.request("plan the release " + "x" * 300, "inv-0"))
            refused = await team.invoke(plan, role, team.request("on a timer", "inv-mode", mode="scheduled"))
            fake.script.extend([Scripted(status=500), Scripted(status=500)])
            failed = await team.invoke(plan, role, team.request("provider down", "inv-500"))
            assert (done.status, refused.status, failed.status) == ("completed", "refused", "failed")
            assert failed.skills is not None, "a failed turn keeps its skill evidence"
            for n in range(8):  # a burst: the run rolls over at turn 9 with the queue carried
                await team.send(plan, role, team.request(f"queued step {n} " + "y" * 200, f"sig-{n}"))
            await team.invoke(plan, role, team.request("last step", "upd-last"))
            handle = team.handle(plan, role)
            runs = [e async for e in env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
            runs.sort(key=lambda e: e.start_time)
            first = await env.client.get_workflow_handle(handle.id, run_id=runs[0].run_id).fetch_history()
            second = await env.client.get_workflow_handle(handle.id, run_id=runs[1].run_id).fetch_history()
    finally:
        fake.stop()
        await env.shutdown()
    for path, history in ((first_path, first), (second_path, second)):
        path.write_text(history.to_json())
        print(f"wrote {path} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "one_trip"))
    hard_exit(0)
