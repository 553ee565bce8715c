"""The chaos suite at CI size (bench/chaos.py): worker SIGKILLs, a dev server restart and a
misbehaving model endpoint, then every invocation accounted for from Temporal alone."""

from __future__ import annotations

import asyncio
import os
import uuid

from bench.chaos import Config, Worker, free_port, run_chaos
from roleteam.client import RoleTeam, connect
from roleteam.devserver import DevServer


async def test_no_invocation_is_lost_or_run_twice_under_faults(tmp_path):
    config = Config(
        plans=1, roles_per_plan=3, invocations=24, concurrency=6, fault_rate=0.25, seed=3, worker_kills=1
    )
    figures = await run_chaos(config, tmp_path, log=lambda _: None)
    print(figures.table())

    assert (figures.worker_kills, figures.server_restarts) == (1, 1)
    assert sum(figures.faults.values()) > figures.faults["401 (one role)"] > 0
    assert figures.lost == []
    assert figures.ran_twice == []
    assert figures.not_in_transcript == []
    assert figures.stuck == []
    assert figures.workflow_task_failures == 0
    assert sum(figures.statuses.values()) == config.invocations
    # Every call of the second session answers 401: each of its invocations failed saying so.
    unauthorised = [i for i in figures.failures if i.startswith("s1/")]
    assert len(unauthorised) == config.invocations // 3
    assert all("HTTP 401" in figures.failures[i] for i in unauthorised)


async def test_a_worker_started_while_the_server_is_down_is_started_again_until_it_serves(tmp_path):
    # The race the chaos run can hit: havoc starts a new worker just before it restarts the dev
    # server. `roleteam worker` exits when it cannot reach Temporal; the harness, like a service
    # manager, starts it again, so a worker is serving once the server is back.
    server = DevServer(db_file=tmp_path / "temporal.db", port=free_port(), ui_port=free_port())
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "ROLETEAM_", "OPENAI_"))}
    env |= {"TEMPORAL_ADDRESS": server.address, "ROLETEAM_TASK_QUEUE": queue, "ROLETEAM_PROVIDER": "echo"}
    worker = Worker(env, tmp_path / "worker.log")
    await worker.start()  # no server yet: it exits, and is started again
    try:
        for _ in range(200):
            if worker.restarts >= 1:
                break
            await asyncio.sleep(0.05)
        assert worker.restarts >= 1, (tmp_path / "worker.log").read_text()[-2000:]
        await asyncio.to_thread(server.start, 60.0, tmp_path / "server.log")
        client = await connect(server.address)
        team = RoleTeam(client, task_queue=queue)
        artifact = await asyncio.wait_for(
            team.invoke("chaos-plan", "developer", team.request("hello", "after-restart-1")), 60
        )
        assert artifact.status == "completed"
    finally:
        await worker.stop()
        await asyncio.to_thread(server.stop)
