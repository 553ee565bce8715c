"""The CLI facing hostile content and mistakes: neutralised output, one clear line per problem."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from roleteam import constants as c
from roleteam.models import ExecutionArtifact
from tests.helpers import ROLETEAM, clean_env, run

ESCAPES = "look \x1b[2J\x1b]0;owned\x07 here \x9b31m"


async def test_human_output_neutralises_control_characters_and_json_stays_exact(cli, worker, plan_id):
    human = await cli("invoke", plan_id, "dev", ESCAPES, "--id", "esc-1")
    as_json = await cli("invoke", plan_id, "dev", ESCAPES, "--id", "esc-1", "--json")
    history = await cli("history", plan_id, "dev")

    for result in (human, history):
        assert result.code == 0, result.err
        assert not any(ch in result.out for ch in "\x1b\x07\x9b"), repr(result.out)
        assert "\\x1b[2J" in result.out and "\\x07" in result.out
    assert as_json.json()["prompt"] == ESCAPES and ESCAPES in as_json.json()["reply"]


async def test_a_role_id_held_by_another_workflow_is_named(client, cli, worker, plan_id):
    await client.start_workflow("NotARoleSession", id=f"role:{plan_id}:developer", task_queue="elsewhere")

    results = [
        await cli("invoke", plan_id, "dev", "hello", "--timeout", "5"),
        await cli("status", plan_id),
        await cli("history", plan_id, "dev"),
    ]

    for result in results:
        assert result.code == 1, result.out
        [line] = result.err.strip().splitlines()
        assert "held by a running 'NotARoleSession' workflow on task queue 'elsewhere'" in line
        assert "terminate" in line


async def test_unclear_inputs_get_one_line_naming_the_fix(client, cli, task_queue, plan_id):
    env = clean_env(TEMPORAL_ADDRESS=client.service_client.config.target_host, ROLETEAM_TASK_QUEUE=task_queue)
    binary = await run([*ROLETEAM, "invoke", plan_id, "dev", "-"], env, stdin=b"\xff\xfe\x00bin")
    cases = {
        "stdin is not UTF-8": binary,
        "--timeout nan": await cli("invoke", plan_id, "dev", "hi", "--timeout", "nan"),
        "ROLETEAM_CONTEXT_TOKEN_BUDGET='²'": await cli(
            "invoke", plan_id, "dev", "hi", ROLETEAM_CONTEXT_TOKEN_BUDGET="²"
        ),
        "'not a host' is not host:port": await cli("status", plan_id, "--address", "not a host"),
        "Missing option '--reason'; see 'roleteam retire --help'": await cli("retire", plan_id, "dev"),
    }
    as_json = await cli("status", plan_id, "--address", "not a host", "--json")

    for fragment, result in cases.items():
        assert result.code in (1, 2) and "Traceback" not in result.err, result.err
        [line] = result.err.strip().splitlines()
        assert line.startswith("error: ") and fragment in line, line
    assert as_json.code == 1 and "is not host:port" in as_json.json()["error"]


async def test_no_wait_on_a_retired_role_says_refused(cli, team, worker, plan_id):
    await team.invoke(plan_id, "dev", team.request("hello", "nw-0"))
    await team.retire(plan_id, "dev", "done for now")

    result = await cli("invoke", plan_id, "dev", "more?", "--no-wait", "--id", "nw-1", "--json")

    assert result.code == 3
    assert result.json()["status"] == "refused" and "retired" in result.json()["reason"]
    assert "queued" not in result.json()


async def test_a_request_refused_by_validation_is_not_retryable(team, worker, plan_id):
    await team.invoke(plan_id, "dev", team.request("hello", "v-0"))
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await team.handle(plan_id, "dev").execute_update(
            c.UPDATE_INVOKE_AND_WAIT, {"invocation_id": "v-1", "prompt": " "}, result_type=ExecutionArtifact
        )

    cause = rejected.value.cause
    assert cause.type == c.INVALID_REQUEST_ERROR and cause.non_retryable and "prompt is empty" in str(cause)
