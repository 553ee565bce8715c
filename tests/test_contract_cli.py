"""The wire contract (docs/contract.md) driven with the real `temporal` CLI, as automation would.

Every call goes through the `temporal` binary against the session dev server; the in-process
`worker` fixture serves the test's own task queue. The CLI runs as a subprocess awaited with
asyncio, so the worker in this event loop keeps running meanwhile.
"""

from __future__ import annotations

import base64
import json
import logging

from roleteam.constants import MAX_PROMPT_BYTES, session_workflow_id
from roleteam.models import ExecutionArtifact, RoleState
from tests.helpers import Result, eventually, temporal

TRICKY_PROMPT = 'Plan "Ünïcode" release — step 1:\n\tkeep quotes \' " and braces {x} verbatim ✓'


def start_args(task_queue: str, plan_id: str, role: str, options: dict | None = None) -> list[str]:
    """`temporal workflow start` arguments for ROLE's session in PLAN (`options`: SessionOptions)."""
    start = {"plan_id": plan_id, "role": role} | ({"options": options} if options else {})
    return [
        "--type",
        "RoleSession",
        "--task-queue",
        task_queue,
        "--workflow-id",
        session_workflow_id(plan_id, role),
        "--input",
        json.dumps(start),
    ]


async def signal_with_start(client, task_queue, plan_id, role, request: dict) -> Result:
    result = await temporal(
        client,
        "workflow",
        "signal-with-start",
        *start_args(task_queue, plan_id, role),
        "--signal-name",
        "invoke",
        "--signal-input",
        json.dumps(request),
    )
    assert result.code == 0, result.err
    return result


async def update_with_start(client, task_queue, plan_id, role, request: dict) -> Result:
    return await temporal(
        client,
        "workflow",
        "execute-update-with-start",
        *start_args(task_queue, plan_id, role),
        "--id-conflict-policy",
        "UseExisting",
        "--update-name",
        "invoke_and_wait",
        "--update-input",
        json.dumps(request),
    )


async def update(client, plan_id, role, *input_args: str) -> Result:
    return await temporal(
        client,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        session_workflow_id(plan_id, role),
        "--name",
        "invoke_and_wait",
        *input_args,
    )


async def query(client, plan_id, role, name, request: dict | None = None):
    """The query's result payload decoded exactly; None for a null result (`binary/null`).

    Raw payloads, because the CLI's JSON shorthand prints empty lists in query results as null.
    """
    args = ["--input", json.dumps(request)] if request is not None else []
    result = await temporal(
        client,
        "workflow",
        "query",
        "--workflow-id",
        session_workflow_id(plan_id, role),
        "--name",
        name,
        *args,
        "--no-json-shorthand-payloads",
    )
    assert result.code == 0, result.err
    [payload] = result.json()["queryResult"]["payloads"]
    encoding = base64.b64decode(payload["metadata"]["encoding"]).decode()
    if encoding == "binary/null":
        return None
    assert encoding == "json/plain", encoding
    return json.loads(base64.b64decode(payload["data"]))


async def signal(client, plan_id, role, name, request: dict) -> None:
    result = await temporal(
        client,
        "workflow",
        "signal",
        "--workflow-id",
        session_workflow_id(plan_id, role),
        "--name",
        name,
        "--input",
        json.dumps(request),
    )
    assert result.code == 0, result.err


async def wait_for_artifact(client, plan_id, role, invocation_id, timeout=30.0) -> dict:
    """The artifact as the `artifact` query returns it through the CLI, once there is one."""
    return await eventually(
        lambda: query(client, plan_id, role, "artifact", {"invocation_id": invocation_id}),
        timeout,
        interval=0.2,
        retry_on=(),
        what=lambda: f"no artifact for {invocation_id}",
    )


# --- tests ---------------------------------------------------------------------------------


async def test_signal_with_start_creates_the_session_and_runs_the_invocation(
    client, worker, task_queue, plan_id
):
    started = await signal_with_start(
        client, task_queue, plan_id, "developer", {"invocation_id": "inv-1", "prompt": TRICKY_PROMPT}
    )
    artifact = await wait_for_artifact(client, plan_id, "developer", "inv-1")

    assert started.json()["workflowId"] == f"role:{plan_id}:developer"
    assert artifact["status"] == "completed"
    assert artifact["prompt"] == TRICKY_PROMPT
    assert TRICKY_PROMPT in artifact["reply"]
    assert (artifact["turn"], artifact["generation"], artifact["mode"]) == (1, 1, "persistent")
    assert artifact["workflow_id"] == f"role:{plan_id}:developer"
    assert artifact["run_id"] == started.json()["runId"]
    assert (artifact["plan_id"], artifact["role"]) == (plan_id, "developer")
    assert set(artifact) == set(ExecutionArtifact.model_fields)
    assert await query(client, plan_id, "developer", "artifact", {"invocation_id": "never-sent"}) is None
    shorthand = await temporal(  # what a person typing the documented command sees
        client,
        "workflow",
        "query",
        "--workflow-id",
        f"role:{plan_id}:developer",
        "--name",
        "artifact",
        "--input",
        '{"invocation_id": "inv-1"}',
    )
    assert shorthand.code == 0 and shorthand.json()["queryResult"][0]["reply"] == artifact["reply"]


async def test_second_signal_with_start_resumes_the_same_workflow(client, worker, task_queue, plan_id):
    first = await signal_with_start(
        client, task_queue, plan_id, "planner", {"invocation_id": "inv-a", "prompt": "Remember PELICAN."}
    )
    one = await wait_for_artifact(client, plan_id, "planner", "inv-a")
    second = await signal_with_start(
        client, task_queue, plan_id, "planner", {"invocation_id": "inv-b", "prompt": "What was it?"}
    )
    two = await wait_for_artifact(client, plan_id, "planner", "inv-b")

    assert first.json()["runId"] == second.json()["runId"], "signal-with-start started a second run"
    assert (one["turn"], two["turn"]) == (1, 2)
    assert one["run_id"] == two["run_id"] == first.json()["runId"]
    assert two["context"]["prior_turns"] == 1  # the first turn reached the model again
    state = await query(client, plan_id, "planner", "state")
    assert (state["turns"], state["runs"], state["last_invocation_id"]) == (2, 1, "inv-b")


async def test_state_query_returns_the_documented_fields(client, worker, task_queue, plan_id):
    await signal_with_start(
        client, task_queue, plan_id, "validator", {"invocation_id": "inv-s", "prompt": "Check step 1."}
    )
    await wait_for_artifact(client, plan_id, "validator", "inv-s")
    state = await query(client, plan_id, "validator", "state")

    assert set(state) == set(RoleState.model_fields)
    assert (state["plan_id"], state["role"], state["status"]) == (plan_id, "validator", "active")
    assert (state["generation"], state["turns"], state["pending"], state["runs"]) == (1, 1, 0, 1)
    assert state["last_invocation_id"] == "inv-s"
    assert state["recent_turns"] == 1 and state["context_tokens"] > 0
    assert state["history_events"] > 0 and state["history_bytes"] > 0
    assert state["lifecycle"] == []


async def test_update_returns_the_artifact_and_is_idempotent(client, worker, task_queue, plan_id):
    created = await update_with_start(
        client, task_queue, plan_id, "lead", {"invocation_id": "inv-u1", "prompt": TRICKY_PROMPT}
    )
    assert created.code == 0, created.err
    first = created.json()["updateResult"]
    request = {"invocation_id": "inv-u2", "prompt": "Second decision.", "requested_by": "ci"}
    second = await update(client, plan_id, "lead", "--input", json.dumps(request))
    again = await update(
        client, plan_id, "lead", "--input", json.dumps({**request, "prompt": "ignored: id already done"})
    )

    assert second.code == 0 and again.code == 0, second.err + again.err
    assert first["status"] == "completed" and TRICKY_PROMPT in first["reply"]
    assert set(first) == set(ExecutionArtifact.model_fields)
    artifact = second.json()["result"]
    assert (artifact["status"], artifact["turn"], artifact["requested_by"]) == ("completed", 2, "ci")
    assert "Second decision." in artifact["reply"]
    assert again.json()["result"] == artifact, "a repeated invocation id must return the same artifact"
    assert await query(client, plan_id, "lead", "artifact", {"invocation_id": "inv-u2"}) == artifact
    assert (await query(client, plan_id, "lead", "state"))["turns"] == 2


async def test_invalid_updates_are_rejected_and_the_session_keeps_working(
    client, worker, task_queue, plan_id, tmp_path
):
    created = await update_with_start(
        client, task_queue, plan_id, "developer", {"invocation_id": "inv-ok1", "prompt": "Step one."}
    )
    assert created.code == 0, created.err
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"invocation_id": "inv-big", "prompt": "x" * (MAX_PROMPT_BYTES + 1)}))

    oversized = await update(client, plan_id, "developer", "--input-file", str(big))
    bad_id = await update(
        client, plan_id, "developer", "--input", json.dumps({"invocation_id": "bad id!", "prompt": "hi"})
    )
    not_the_schema = await update(
        client, plan_id, "developer", "--input", json.dumps({"invocation_id": "inv-noprompt"})
    )
    after = await update(
        client,
        plan_id,
        "developer",
        "--input",
        json.dumps({"invocation_id": "inv-ok2", "prompt": "Step two."}),
    )

    assert oversized.code != 0 and f"the limit is {MAX_PROMPT_BYTES} bytes" in oversized.err
    assert bad_id.code != 0 and "invocation_id='bad id!'" in bad_id.err
    assert not_the_schema.code != 0 and "prompt" in not_the_schema.err
    assert after.code == 0, after.err
    assert (after.json()["result"]["status"], after.json()["result"]["turn"]) == ("completed", 2)
    for rejected in ("inv-big", "bad id!", "inv-noprompt"):
        assert await query(client, plan_id, "developer", "artifact", {"invocation_id": rejected}) is None
    state = await query(client, plan_id, "developer", "state")
    assert (state["turns"], state["pending"], state["last_invocation_id"]) == (2, 0, "inv-ok2")


async def test_bad_signals_are_dropped_or_refused_without_harming_the_session(
    client, worker, task_queue, plan_id, caplog
):
    caplog.set_level(logging.WARNING)
    await signal_with_start(
        client, task_queue, plan_id, "developer", {"invocation_id": "inv-1", "prompt": "Step one."}
    )
    await signal(client, plan_id, "developer", "invoke", {"invocation_id": "inv-noprompt"})  # schema
    await signal(client, plan_id, "developer", "invoke", {"invocation_id": "bad id", "prompt": "hi"})
    await signal(client, plan_id, "developer", "invoke", {"invocation_id": "inv-empty", "prompt": "  "})
    await signal(client, plan_id, "developer", "invoke", {"invocation_id": "inv-2", "prompt": "Step two."})

    second = await wait_for_artifact(client, plan_id, "developer", "inv-2")
    empty = await wait_for_artifact(client, plan_id, "developer", "inv-empty")
    assert second["status"] == "completed" and second["turn"] == 2
    assert empty["status"] == "refused" and empty["turn"] is None and "prompt is empty" in empty["reason"]
    # Off the schema but with a usable id: refused under that id, naming the field (issue 11).
    schema = await wait_for_artifact(client, plan_id, "developer", "inv-noprompt")
    assert schema["status"] == "refused" and "prompt" in schema["reason"] and "decoded" in schema["reason"]
    assert await query(client, plan_id, "developer", "artifact", {"invocation_id": "bad id"}) is None
    assert "dropping invoke signal" in caplog.text
    assert (await query(client, plan_id, "developer", "state"))["turns"] == 2


async def test_retire_and_reopen_signals_change_state(client, worker, task_queue, plan_id):
    created = await update_with_start(
        client, task_queue, plan_id, "validator", {"invocation_id": "inv-1", "prompt": "Check step 1."}
    )
    assert created.code == 0, created.err

    await signal(
        client, plan_id, "validator", "retire", {"reason": "step 1 validated", "requested_by": "lead"}
    )
    retired = await query(client, plan_id, "validator", "state")
    refused = await update(
        client, plan_id, "validator", "--input", json.dumps({"invocation_id": "inv-2", "prompt": "Check 2?"})
    )
    await signal(client, plan_id, "validator", "reopen", {"reason": "fix to revalidate"})
    reopened = await query(client, plan_id, "validator", "state")
    resumed = await update(
        client, plan_id, "validator", "--input", json.dumps({"invocation_id": "inv-3", "prompt": "Recheck."})
    )

    assert (retired["status"], retired["generation"]) == ("retired", 1)
    assert [(e["action"], e["reason"], e["requested_by"]) for e in retired["lifecycle"]] == [
        ("retire", "step 1 validated", "lead")
    ]
    assert refused.code == 0, refused.err  # a refusal is an artifact, not an update failure
    artifact = refused.json()["result"]
    assert artifact["status"] == "refused" and artifact["turn"] is None
    assert "retired" in artifact["reason"] and "step 1 validated" in artifact["reason"]
    assert (reopened["status"], reopened["generation"]) == ("active", 2)
    assert [e["action"] for e in reopened["lifecycle"]] == ["retire", "reopen"]
    assert resumed.code == 0, resumed.err
    done = resumed.json()["result"]
    assert (done["status"], done["turn"], done["generation"]) == ("completed", 2, 2)
    assert done["context"]["prior_turns"] == 1  # history from before retirement is kept
