"""How the CLI reads to a person: the status table, no-op lifecycle changes, live progress."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import socket
import subprocess
import time

from roleteam.registry import load_role_registry
from tests.fake_openai import Scripted
from tests.helpers import ROLETEAM, Result, artifact_when_ready, clean_env, run

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


async def test_status_prints_a_table_of_roles_with_titles_and_last_activity(cli, worker, plan_id):
    assert (await cli("invoke", plan_id, "dev", "build step 1")).code == 0
    assert (await cli("retire", plan_id, "lead", "--reason", "x")).code == 1  # no session yet
    assert (await cli("invoke", plan_id, "qa", "check step 1")).code == 0
    assert (await cli("retire", plan_id, "qa", "--reason", "validated")).code == 0

    result = await cli("status", plan_id)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = next(line for line in lines if "role" in line and "title" in line)
    for column in ("status", "gen", "turns", "compliance", "tokens", "last activity"):
        assert column in header
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert set(rows) == set(load_role_registry().roles)
    assert "Developer" in rows["developer"] and " active " in rows["developer"]
    assert " retired " in rows["validator"] and "Validator" in rows["validator"]
    assert "not started" in rows["lead"]
    assert TIMESTAMP.search(rows["developer"]) and "completed" in rows["developer"]
    assert "idle" in rows["developer"]


async def test_noop_retire_and_reopen_say_so_and_succeed(cli, worker, plan_id):
    assert (await cli("invoke", plan_id, "dev", "hello")).code == 0
    first = await cli("retire", plan_id, "dev", "--reason", "pause")
    again = await cli("retire", plan_id, "dev", "--reason", "pause again")
    reopened = await cli("reopen", plan_id, "dev", "--reason", "resume")
    reopen_again = await cli("reopen", plan_id, "dev", "--reason", "resume again")
    state = await cli("status", plan_id, "--json")

    assert first.code == 0 and "developer in plan" in first.out and "retired" in first.out
    assert again.code == 0, again.err
    assert "already retired since" in again.out and "nothing to do" in again.out
    assert TIMESTAMP.search(again.out)
    assert reopened.code == 0 and "generation 2" in reopened.out
    assert reopen_again.code == 0 and "already active" in reopen_again.out
    developer = state.json()["roles"]["developer"]
    assert [e["action"] for e in developer["lifecycle"]] == ["retire", "reopen"], "a no-op left a trail"
    assert developer["generation"] == 2


async def test_refused_artifact_prints_no_skill_lines(cli, worker, plan_id):
    refused = await cli("invoke", plan_id, "lead", "do it later", "--mode", "scheduled")

    assert refused.code == 3
    assert "refused: mode 'scheduled' is not allowed" in refused.out
    assert "[skills" not in refused.out


async def test_no_session_is_worded_the_same_by_every_command(cli, worker, plan_id):
    results = [
        await cli("history", plan_id, "dev"),
        await cli("retire", plan_id, "dev", "--reason", "x"),
        await cli("reopen", plan_id, "dev", "--reason", "x"),
    ]
    messages = {r.err.strip() for r in results}
    assert messages == {
        f"error: no session for role 'developer' in plan '{plan_id}'; invoke it first ('roleteam invoke')"
    }


def run_with_terminal_stderr(argv: list[str], env: dict[str, str], timeout: float) -> Result:
    """Run a command whose stderr is a terminal (a pseudo-terminal), as a person's shell would."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    seen = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command closed its end
            break
        if not chunk:
            break
        seen += chunk
    else:
        proc.kill()
    out = proc.stdout.read()
    proc.wait(timeout)
    os.close(leader)
    return Result(proc.returncode, out.decode(), seen.decode(errors="replace"))


async def test_invoke_on_a_terminal_shows_model_retries_live(
    client, task_queue, worker, plan_id, fake_openai, tmp_path
):
    fake_openai.script = [
        Scripted(status=429, headers={"retry-after": "2"}),
        Scripted(status=429, headers={"retry-after": "2"}),
    ]
    env = clean_env() | {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ROLETEAM_TASK_QUEUE": task_queue,
        "TERM": "xterm",
        "COLUMNS": "200",
    }
    result = await asyncio.to_thread(
        run_with_terminal_stderr,
        [*ROLETEAM, "invoke", plan_id, "dev", "wait for it", "--id", "inv-tty"],
        env,
        60,
    )

    assert result.code == 0, result.err
    assert "completed" in result.out
    assert "inv-tty: calling the model · attempt 2/6 after model endpoint answered HTTP 429" in result.err
    assert re.search(r"next retry in \d+s", result.err)


async def test_status_shows_a_running_invocation_and_its_retry_state(cli, team, worker, plan_id, fake_openai):
    fake_openai.script = [
        Scripted(status=429, headers={"retry-after": "3"}),
        Scripted(status=429, headers={"retry-after": "3"}),
    ]
    await team.send(plan_id, "developer", team.request("busy endpoint", "inv-retrying"))

    running = None
    for _ in range(30):
        result = await cli("status", plan_id, "--json")
        assert result.code == 0, result.err
        running = result.json()["running"].get("developer")
        if running and running["activities"] and running["activities"][0]["attempt"] >= 2:
            break
        await asyncio.sleep(0.2)
    table = await cli("status", plan_id)

    assert running["invocation_id"] == "inv-retrying" and running["phase"] == "running"
    activity = running["activities"][0]
    assert activity["activity"] == "run_turn" and activity["maximum_attempts"] == 6
    assert "HTTP 429" in activity["last_failure"]
    row = next(line for line in table.out.splitlines() if line.startswith("│ developer"))
    assert "calling the model · attempt" in row and "HTTP 429" in row, table.out
    await artifact_when_ready(team, plan_id, "developer", "inv-retrying")


async def test_demo_on_another_port_prints_a_ui_link_filtered_by_plan(tmp_path):
    with socket.socket() as probe, socket.socket() as ui_probe:  # two ports free at once
        probe.bind(("127.0.0.1", 0))
        ui_probe.bind(("127.0.0.1", 0))
        port, ui_port = probe.getsockname()[1], ui_probe.getsockname()[1]
    env = clean_env(HOME=str(tmp_path))  # the demo's server keeps its state under ~/.roleteam
    argv = [*ROLETEAM, "demo", "--port", str(port), "--ui-port", str(ui_port), "--plan", "demo-ui", "--json"]

    result = await run(argv, env, tmp_path, timeout=120)

    assert result.code == 0, result.err
    shown = result.json()
    assert shown["ui"] == (
        f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?query=PlanId%3D%22demo-ui%22"
    )
    assert shown["plan"]["status"] == "completed"
    assert (tmp_path / ".roleteam" / f"temporal-{port}.db").exists()
