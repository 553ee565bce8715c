"""The dev server `roleteam server` runs (SQLite file) restarts: roles keep their memory."""

from __future__ import annotations

import socket
import uuid

from roleteam.client import RoleTeam, connect
from roleteam.devserver import DevServer
from roleteam.worker_runtime import build_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_once(server: DevServer, queue: str, plan_id: str, prompt: str):
    server.start()
    try:
        client = await connect(server.address)
        team = RoleTeam(client, task_queue=queue)
        async with build_worker(client, queue):
            artifact = await team.invoke(plan_id, "planner", team.request(prompt))
            state = await team.state(plan_id, "planner")
        return artifact, state
    finally:
        server.stop()


async def test_role_memory_survives_a_server_restart(tmp_path):
    port = free_port()
    server = DevServer(db_file=tmp_path / "temporal.db", port=port, ui_port=free_port())
    queue, plan_id = f"tq-{uuid.uuid4()}", "restart-plan"

    before, _ = await run_once(server, queue, plan_id, "Remember: the launch is on Friday.")
    after, state = await run_once(server, queue, plan_id, "When is the launch?")

    assert (before.turn, after.turn) == (1, 2)
    assert before.workflow_id == after.workflow_id and before.run_id == after.run_id
    assert after.context.prior_turns == 1  # the first exchange reached the model again
    assert state.turns == 2 and state.runs == 1
