"""Every entry point ends the same way: one line naming the problem and the fix, a documented exit code.

roleteam.exit.run_main wraps the `roleteam` command and `python worker.py`; `roleteam mcp` words its
tool errors with the same roleteam.exit.error_message.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys

import pytest
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from roleteam.errors import CommandInterrupted, InvalidInputError, UsageError
from roleteam.exit import EXIT_CODES, error_message, exit_code_for
from roleteam.models import InvokeInput
from tests.fake_openai import Scripted
from tests.helpers import ROLETEAM, ROOT, clean_env, run

UNREACHABLE = "cannot reach Temporal at 127.0.0.1:1: start one with 'roleteam server' or set TEMPORAL_ADDRESS"


def test_readme_documents_exactly_the_exit_codes_in_use():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}

    assert documented == set(EXIT_CODES)


def test_known_failures_read_as_one_line_with_their_exit_code():
    with pytest.raises(ValidationError) as invalid:
        InvokeInput(invocation_id="inv-1", prompt=["not", "text"])
    unavailable = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    missing = FileNotFoundError(2, "No such file or directory", "/nowhere/roles.yaml")

    assert error_message(invalid.value) == "prompt: Input should be a valid string"
    assert error_message(unavailable) == (
        "lost the connection to Temporal (connection refused); check the server is up "
        "('roleteam server') and TEMPORAL_ADDRESS names it"
    )
    assert error_message(missing) == "/nowhere/roles.yaml: No such file or directory"
    assert [exit_code_for(e) for e in (InvalidInputError("x"), UsageError("x"), CommandInterrupted("x"))] == [
        1,
        2,
        130,
    ]
    assert exit_code_for(KeyboardInterrupt()) == 130 and exit_code_for(unavailable) == 1


@pytest.mark.parametrize(
    "argv",
    [
        [*ROLETEAM, "status", "p1"],
        [*ROLETEAM, "plan", "status", "p1"],
        [*ROLETEAM, "schedule", "list", "p1"],
        [*ROLETEAM, "worker"],
        [sys.executable, str(ROOT / "worker.py")],
    ],
    ids=["status", "plan-status", "schedule-list", "roleteam-worker", "python-worker.py"],
)
async def test_every_entry_point_says_an_unreachable_server_the_same_way(argv, tmp_path):
    result = await run(argv, clean_env(TEMPORAL_ADDRESS="127.0.0.1:1"), tmp_path)

    assert result.code == 1, (result.out, result.err)
    assert result.err_lines == [f"error: {UNREACHABLE}"]


async def test_a_usage_error_with_json_is_also_json_on_stdout_with_exit_2(cli, plan_id):
    result = await cli("retire", plan_id, "dev", "--json")

    assert result.code == 2
    assert result.err_lines == ["error: Missing option '--reason'; see 'roleteam retire --help'"]
    assert result.json() == {
        "error": "Missing option '--reason'; see 'roleteam retire --help'",
        "exit_code": 2,
    }


async def test_ctrl_c_while_waiting_exits_130_naming_how_to_wait_again(
    client, task_queue, worker, team, plan_id, fake_openai
):
    fake_openai.script = [Scripted(delay=3)]
    env = clean_env(TEMPORAL_ADDRESS=client.service_client.config.target_host, ROLETEAM_TASK_QUEUE=task_queue)
    proc = await asyncio.create_subprocess_exec(
        *ROLETEAM,
        "invoke",
        plan_id,
        "dev",
        "take your time",
        "--id",
        "slow-1",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    await asyncio.to_thread(fake_openai.request_arrived.wait, 60)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)

    assert proc.returncode == 130, (out, err)
    assert err.decode().strip().splitlines() == [
        "error: interrupted while waiting for invocation 'slow-1', which goes on in its session; run "
        "the same command with --id slow-1 to wait again (it never runs twice)"
    ]
    artifact = await team.invoke(plan_id, "dev", team.request("take your time", "slow-1"))
    assert artifact.status == "completed" and artifact.turn == 1
