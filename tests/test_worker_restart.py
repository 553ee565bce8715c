"""A worker process killed in the middle of a model call: the invocation still completes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from roleteam.models import InvokeInput
from tests.fake_openai import Scripted
from tests.helpers import ROOT


async def test_worker_killed_mid_invocation_is_replaced(client, team, task_queue, plan_id, fake_openai):
    from roleteam.worker_runtime import build_worker

    fake_openai.script = [Scripted(delay=120)]  # the first call hangs until its worker dies
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ROLETEAM_TASK_QUEUE": task_queue,
    }
    doomed = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await team.send(
            plan_id, "developer", InvokeInput(invocation_id="inv-crash", prompt="survive a crash")
        )
        arrived = await asyncio.to_thread(fake_openai.request_arrived.wait, 60)
        assert arrived, "the first worker never called the model"
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()

    async with build_worker(client, task_queue):
        artifact = await team.invoke(
            plan_id, "developer", InvokeInput(invocation_id="inv-crash", prompt="survive a crash")
        )
        state = await team.state(plan_id, "developer")

    assert artifact.status == "completed" and artifact.turn == 1
    assert len(fake_openai.requests) == 2  # the hung attempt, then the retry on the new worker
    assert state.turns == 1 and state.pending == 0
