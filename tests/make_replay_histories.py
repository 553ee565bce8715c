"""Record more RoleSession shapes for the replay test: `python tests/make_replay_histories.py`.

Each shape is written to a NEW file named after the date it was recorded; existing files are never
overwritten (the corpus only grows: a checked-in file proves that workflow code still replays
sessions that are already running). The replay test reads each file's workflow id from its
first event.

Shapes:
- continue-as-new (`turns_per_run=2` with queued signals and a waiting update): the first run,
  which was continued, and the second run, which started from that hand-over;
- invocations refused while retired: one queued before `retire` (refused when dequeued), one
  signalled and one updated while retired (refused on arrival), then reopen and a re-send;
- failed model calls against the fake OpenAI-compatible server: HTTP 500 until the retries run
  out, then a non-retryable HTTP 401, then a successful call;
- `retry: true` of a failed invocation by update and by signal, and of a completed one (ignored).

`python tests/make_replay_histories.py retry_failed` records only the shapes named.
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


def write(name: str, history) -> None:
    path = HISTORIES / f"role_session_{name}_{STAMP}.json"
    if path.exists():
        raise SystemExit(f"{path} exists; the corpus only grows: pick a new name")
    path.write_text(history.to_json())
    print(f"wrote {path} ({len(history.events)} events)")


async def until(predicate, what: str, tries: int = 400) -> None:
    for _ in range(tries):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


async def continue_as_new(client, queue: str) -> None:
    team = RoleTeam(client, task_queue=queue, options=SessionOptions(turns_per_run=2))
    plan, role = "replay-can", "developer"
    async with build_worker(client, queue):
        for n in range(5):
            await team.send(plan, role, team.request(f"queued step {n}", f"sig-{n}"))
        await team.invoke(plan, role, team.request("waited step", "upd-0"))
        await until(lambda: _state(team, plan, role, lambda s: s.turns >= 6), "six turns")
        await team.invoke(plan, role, team.request("last step", "upd-1"))
        handle = team.handle(plan, role)
        runs = [e async for e in client.list_workflows(f"WorkflowId = '{handle.id}'")]
        runs.sort(key=lambda e: e.start_time)
        first = await client.get_workflow_handle(handle.id, run_id=runs[0].run_id).fetch_history()
        second = await client.get_workflow_handle(handle.id, run_id=runs[1].run_id).fetch_history()
    write("continued_run", first)
    write("continuing_run", second)


async def refused_while_retired(client, queue: str, fake: FakeOpenAI) -> None:
    team = RoleTeam(client, task_queue=queue)
    plan, role = "replay-retired", "validator"
    async with build_worker(client, queue):
        await team.invoke(plan, role, team.request("first check", "inv-first"))
        fake.script.append(Scripted(delay=2.0))  # keep the next one running while we retire
        fake.request_arrived.clear()
        await team.send(plan, role, team.request("slow check", "inv-running"))
        await team.send(plan, role, team.request("queued before retire", "inv-queued"))
        await asyncio.to_thread(fake.request_arrived.wait, 10)
        await team.retire(plan, role, "paused for review", by="lead")
        await team.send(plan, role, team.request("signalled while retired", "inv-sig-retired"))
        await team.invoke(plan, role, team.request("updated while retired", "inv-upd-retired"))
        await until(lambda: _state(team, plan, role, lambda s: s.pending == 0 and s.turns == 2), "drain")
        await until(lambda: _artifact_is(team, plan, role, "inv-queued", "refused"), "queued refusal")
        await team.reopen(plan, role, "review done", by="lead")
        await team.invoke(plan, role, team.request("signalled while retired", "inv-sig-retired"))
        history = await team.handle(plan, role).fetch_history()
    write("refused_while_retired", history)


async def failed_model_call(client, queue: str, fake: FakeOpenAI) -> None:
    team = RoleTeam(
        client,
        task_queue=queue,
        options=SessionOptions(model_max_attempts=2, model_heartbeat_timeout_seconds=5),
    )
    plan, role = "replay-failed", "developer"
    async with build_worker(client, queue):
        fake.script.extend([Scripted(status=500), Scripted(status=500)])
        failed = await team.invoke(plan, role, team.request("provider down", "inv-500"))
        fake.script.append(Scripted(status=401))
        refused_key = await team.invoke(plan, role, team.request("bad key", "inv-401"))
        ok = await team.invoke(plan, role, team.request("provider back", "inv-ok"))
        assert (failed.status, refused_key.status, ok.status) == ("failed", "failed", "completed"), (
            failed.status,
            refused_key.status,
            ok.status,
        )
        history = await team.handle(plan, role).fetch_history()
    write("failed_model_call", history)


async def retry_failed(client, queue: str, fake: FakeOpenAI) -> None:
    team = RoleTeam(client, task_queue=queue)
    plan, role = "replay-retry", "developer"
    bad = Scripted(status=400, body={"error": {"message": "context too long"}})
    async with build_worker(client, queue):
        fake.script.append(bad)
        await team.invoke(plan, role, team.request("first", "inv-a"))
        await team.invoke(plan, role, team.request("first", "inv-a"))  # stored failure returned
        await team.invoke(plan, role, team.request("first", "inv-a", retry=True))
        await team.invoke(plan, role, team.request("first", "inv-a", retry=True))  # completed: kept
        fake.script.append(bad)
        await team.invoke(plan, role, team.request("second", "inv-b"))
        await team.send(plan, role, team.request("second", "inv-b", retry=True))
        await until(lambda: _artifact_is(team, plan, role, "inv-b", "completed"), "signal retry")
        history = await team.handle(plan, role).fetch_history()
    write("retry_failed", history)


async def _state(team, plan, role, check) -> bool:
    return check(await team.state(plan, role))


async def _artifact_is(team, plan, role, invocation_id, status) -> bool:
    artifact = await team.artifact(plan, role, invocation_id)
    return artifact is not None and artifact.status == status


async def record(shapes: set[str]) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter, ui=False
    )
    try:
        os.environ["ROLETEAM_PROVIDER"] = "echo"
        if not shapes or "continue_as_new" in shapes:
            await continue_as_new(env.client, f"tq-{uuid.uuid4()}")
        fake = FakeOpenAI().start()
        os.environ.update(
            ROLETEAM_PROVIDER="openai",
            OPENAI_BASE_URL=fake.base_url,
            OPENAI_API_KEY="sk-test-not-a-secret",
            ROLETEAM_MODEL="fake-model",
        )
        for shape in (refused_while_retired, failed_model_call, retry_failed):
            if not shapes or shape.__name__ in shapes:
                await shape(env.client, f"tq-{uuid.uuid4()}", fake)
        fake.stop()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(set(sys.argv[1:])))
    hard_exit(0)
