"""The dev server `roleteam server` runs (SQLite file) restarts: roles keep their memory."""

from __future__ import annotations

import socket
import uuid

import pytest

from roleteam.client import RoleTeam, connect
from roleteam.devserver import DevServer
from roleteam.errors import RoleteamError
from roleteam.worker_runtime import build_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(server: DevServer) -> None:
    """Start, on fresh ports when another process took one of ours meanwhile (the test's
    `free_port` and the server's own random ports race other tests binding theirs)."""
    for attempt in range(3):
        try:
            server.start()
            return
        except RoleteamError as err:
            if "address already in use" not in str(err) or attempt == 2:
                raise
            server.port, server.ui_port = free_port(), free_port()


async def run_once(server: DevServer, queue: str, plan_id: str, prompt: str):
    start(server)
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


def test_a_dev_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = DevServer(db_file=tmp_path / "t.db", port=free_port(), ui_port=taken.getsockname()[1])
        with pytest.raises(RoleteamError) as err:
            server.start(wait_seconds=30)
    assert "exited with code 1" in str(err.value) and "address already in use" in str(err.value)
