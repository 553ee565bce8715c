"""`roleteam mcp` as an MCP client sees it: the server is spawned over stdio with the official
`mcp` client, TEMPORAL_ADDRESS pointing at the test dev server and ROLETEAM_TASK_QUEUE at the
test's own queue (served by the in-process `worker` fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from roleteam.constants import session_workflow_id
from roleteam.models import ExecutionArtifact, RoleState
from tests.helpers import ROLETEAM, clean_env, eventually, run
from tests.plan_helpers import BUG, finding_json

TOOLS = {"invoke_role", "role_status", "plan_status", "role_history", "retire_role", "reopen_role"}
PLAN_TOOLS = {
    "list_findings",
    "review_finding",
    "dispatch_finding",
    "revalidate_finding",
    "waive",
    "plan_gate",
    "complete_plan",
}


@pytest.fixture
def server_env(client, task_queue) -> dict[str, str]:
    return clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host, ROLETEAM_TASK_QUEUE=task_queue
    )


@pytest.fixture
def mcp_session(server_env, tmp_path):
    """`async with mcp_session(**env) as session:` an MCP client on a spawned `roleteam mcp`."""

    @contextlib.asynccontextmanager
    async def open_session(**extra_env: str):
        command, *args = ROLETEAM
        params = StdioServerParameters(
            command=command, args=[*args, "mcp"], env={**server_env, **extra_env}, cwd=str(tmp_path)
        )
        with open(tmp_path / "mcp-stderr.log", "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as session:
                yield session

    return open_session


async def call(session: Client, tool: str, **arguments):
    """The tool's JSON result; fails the test when the tool returned an error."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content if result.structured_content is not None else {}


async def call_error(session: Client, tool: str, **arguments) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    [content] = result.content
    return content.text


async def test_lists_the_role_tools_with_json_schemas(mcp_session):
    async with mcp_session() as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}

    assert TOOLS | PLAN_TOOLS <= set(tools)
    invoke = tools["invoke_role"]
    assert set(invoke.input_schema["required"]) == {"plan", "role", "prompt"}
    properties = invoke.input_schema["properties"]
    assert {"invocation_id", "mode", "wait"} <= set(properties)
    assert properties["mode"]["enum"] == ["persistent", "delegated", "scheduled"]
    assert "developer" in properties["role"]["description"]  # the registry's roles are named
    assert tools["role_status"].annotations.read_only_hint
    history = tools["role_history"].input_schema["properties"]
    assert history["limit"]["maximum"] <= 50 and "offset" in history
    assert all(tools[name].description for name in TOOLS | PLAN_TOOLS)
    review = tools["review_finding"]
    assert set(review.input_schema["required"]) == {"plan", "finding_id", "decision", "reason"}
    assert review.input_schema["properties"]["decision"]["enum"] == ["accept", "reject", "defer", "clarify"]
    assert "wait for the Lead" in review.description and "dispatch" in review.description
    verdict = tools["revalidate_finding"].input_schema["properties"]["verdict"]
    assert verdict["enum"] == ["resolved", "not_resolved"]
    assert tools["list_findings"].input_schema["properties"]["limit"]["maximum"] <= 100
    assert tools["plan_gate"].annotations.read_only_hint


async def test_invoke_role_runs_once_per_id_and_history_pages_the_turns(mcp_session, worker, plan_id):
    long_prompt = "Implement step 1. " + "detail " * 400
    async with mcp_session() as session:
        first = await call(session, "invoke_role", plan=plan_id, role="dev", prompt=long_prompt)
        step2 = {"prompt": "Now step 2.", "invocation_id": "s2", "domains": ["database"]}
        second = await call(session, "invoke_role", plan=plan_id, role="developer", **step2)
        again = await call(session, "invoke_role", plan=plan_id, role="developer", **step2)
        newest = await call(session, "role_history", plan=plan_id, role="dev", limit=1)
        oldest = await call(
            session, "role_history", plan=plan_id, role="dev", offset=0, limit=1, max_chars=200
        )

    artifact = ExecutionArtifact.model_validate(first)
    assert (artifact.status, artifact.role, artifact.turn) == ("completed", "developer", 1)
    assert artifact.workflow_id == session_workflow_id(plan_id, "developer")
    assert second["status"] == "completed" and second["turn"] == 2
    assert again == second  # the repeated id returned the recorded artifact; it did not run again
    # the declared domain reached the skill policy, which triggers its skill
    assert "database-migration" in {skill["name"] for skill in second["skills"]["loaded"]}
    assert "database-migration" not in {skill["name"] for skill in first["skills"]["loaded"]}

    assert (newest["total_turns"], newest["offset"], newest["next_offset"]) == (2, 1, None)
    [turn] = newest["turns"]
    assert (turn["invocation_id"], turn["prompt"]) == ("s2", "Now step 2.")
    assert turn["reply"] == second["reply"]

    assert (oldest["offset"], oldest["next_offset"]) == (0, 1)
    [turn] = oldest["turns"]
    assert turn["prompt"].startswith(long_prompt[:200])
    assert f"200 of {len(long_prompt)} characters shown" in turn["prompt"]
    assert len(turn["prompt"]) < 400


async def test_no_wait_queues_and_the_same_id_waits_for_the_artifact(mcp_session, worker, plan_id):
    async with mcp_session() as session:
        queued = await call(
            session,
            "invoke_role",
            plan=plan_id,
            role="qa",
            prompt="Validate.",
            invocation_id="v1",
            wait=False,
        )
        artifact = await call(
            session, "invoke_role", plan=plan_id, role="qa", prompt="Validate.", invocation_id="v1"
        )

    assert queued == {"invocation_id": "v1", "queued": True}
    assert (artifact["invocation_id"], artifact["status"], artifact["turn"]) == ("v1", "completed", 1)


async def test_retire_refuses_invocations_and_reopen_resumes_the_same_history(mcp_session, worker, plan_id):
    async with mcp_session() as session:
        await call(session, "invoke_role", plan=plan_id, role="dev", prompt="Step 1.")
        retired = await call(
            session, "retire_role", plan=plan_id, role="dev", reason="step 1 done", requested_by="lead"
        )
        refused = await call(session, "invoke_role", plan=plan_id, role="dev", prompt="Step 2.")
        reopened = await call(session, "reopen_role", plan=plan_id, role="dev", reason="fix findings")
        resumed = await call(session, "invoke_role", plan=plan_id, role="dev", prompt="Step 2.")
        status = await call(session, "role_status", plan=plan_id, role="dev")
        plan = await call(session, "plan_status", plan=plan_id)

    assert retired["signalled"] == "retire" and retired["state"]["status"] == "retired"
    assert refused["status"] == "refused" and "step 1 done" in refused["reason"]
    assert reopened["state"]["status"] == "active" and reopened["state"]["generation"] == 2
    assert (resumed["status"], resumed["turn"], resumed["generation"]) == ("completed", 2, 2)
    state = RoleState.model_validate(status)
    assert (state.status, state.turns, [e.action for e in state.lifecycle]) == (
        "active",
        2,
        ["retire", "reopen"],
    )
    assert plan["plan_id"] == plan_id
    assert plan["roles"]["developer"]["turns"] == 2
    assert plan["roles"]["validator"] is None  # never invoked


@pytest.mark.parametrize(
    ("tool", "arguments", "cli_args"),
    [
        (
            "invoke_role",
            {"plan": "bad/plan", "role": "dev", "prompt": "hi"},
            ["invoke", "bad/plan", "dev", "hi"],
        ),
        ("invoke_role", {"role": "wizard", "prompt": "hi"}, ["invoke", "{plan}", "wizard", "hi"]),
        (
            "invoke_role",
            {"role": "dev", "prompt": "hi", "invocation_id": "bad id"},
            ["invoke", "{plan}", "dev", "hi", "--id", "bad id"],
        ),
        ("invoke_role", {"role": "dev", "prompt": "   "}, ["invoke", "{plan}", "dev", "   "]),
        ("role_history", {"role": "dev"}, ["history", "{plan}", "dev"]),
        ("retire_role", {"role": "dev", "reason": "done"}, ["retire", "{plan}", "dev", "--reason", "done"]),
        ("reopen_role", {"role": "dev", "reason": " "}, ["reopen", "{plan}", "dev", "--reason", " "]),
        ("list_findings", {}, ["plan", "findings", "{plan}"]),
        (
            "review_finding",
            {"finding_id": "F-0001", "decision": "accept", "reason": "ok", "assign": "wizard"},
            ["plan", "review", "{plan}", "F-0001", "accept", "--reason", "ok", "--assign", "wizard"],
        ),
    ],
    ids=[
        "bad-plan",
        "unknown-role",
        "bad-invocation-id",
        "empty-prompt",
        "history-no-session",
        "retire-no-session",
        "empty-reason",
        "findings-no-plan",
        "assign-unknown-role",
    ],
)
async def test_errors_are_tool_errors_worded_as_the_cli_prints_them(
    mcp_session, server_env, tmp_path, plan_id, tool, arguments, cli_args
):
    arguments = {"plan": plan_id, **arguments}
    async with mcp_session() as session:
        message = await call_error(session, tool, **arguments)
    cli = await run([*ROLETEAM, *[a.replace("{plan}", plan_id) for a in cli_args]], server_env, tmp_path)

    assert cli.code == 1 and len(cli.err_lines) == 1, cli.err
    assert f"error: {message}" == cli.err_lines[0]
    assert "\n" not in message and "Traceback" not in message


async def test_unreachable_temporal_is_a_tool_error_and_the_server_keeps_serving(mcp_session, plan_id):
    async with mcp_session(TEMPORAL_ADDRESS="127.0.0.1:1") as session:
        message = await call_error(session, "role_status", plan=plan_id, role="dev")
        tools = await session.list_tools()

    assert (
        message
        == "cannot reach Temporal at 127.0.0.1:1: start one with 'roleteam server' or set TEMPORAL_ADDRESS"
    )
    assert TOOLS <= {tool.name for tool in tools.tools}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_http_transport_serves_the_same_tools(server_env, worker, plan_id, tmp_path):
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        *ROLETEAM, "mcp", "--http", f"127.0.0.1:{port}",
        env=server_env, cwd=tmp_path, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):  # until it listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                assert proc.returncode is None, "roleteam mcp --http exited"
                await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as session:
            artifact = await call(session, "invoke_role", plan=plan_id, role="pm", prompt="Plan the launch.")
    finally:
        proc.terminate()
        await proc.wait()

    assert (artifact["role"], artifact["status"]) == ("lead", "completed")


async def test_bad_http_address_is_a_one_line_usage_error(server_env, tmp_path):
    result = await run([*ROLETEAM, "mcp", "--http", "localhost"], server_env, tmp_path)

    assert result.code == 1
    assert result.err_lines == [
        "error: --http 'localhost': give HOST:PORT with a port 1-65535, e.g. 127.0.0.1:8765"
    ]
    assert result.out == ""


async def with_findings(listing):
    """The page a `list_findings` call returns once it lists something (a role's report reaches
    its plan a moment after the invocation returns), else None: "not yet" for `eventually`."""
    page = await listing
    return page if page["findings"] else None


async def test_a_finding_waits_for_the_lead_and_is_fixed_only_after_review_and_dispatch(
    mcp_session, server_env, worker, plan_id, tmp_path
):
    async def findings(session, **filters):
        return await call(session, "list_findings", plan=plan_id, **filters)

    async def awaiting_revalidation(session):
        page = await findings(session, finding_id="F-0001")
        return page if page["findings"][0]["status"] == "awaiting_revalidation" else None

    async with mcp_session() as session:
        reported = await call(
            session, "invoke_role", plan=plan_id, role="qa", prompt="Validate step 1.\n" + finding_json(BUG)
        )
        listed = await eventually(lambda: with_findings(findings(session, status="open")))
        blocked = await call(session, "plan_gate", plan=plan_id)
        waiting = await call(session, "plan_status", plan=plan_id)
        accepted = await call(
            session,
            "review_finding",
            plan=plan_id,
            finding_id="F-0001",
            decision="accept",
            reason="Reject empty URLs with 422.",
            dispatch=True,
        )
        fixed = await eventually(lambda: awaiting_revalidation(session))
        developer = await call(session, "role_history", plan=plan_id, role="developer")
        closed = await call(
            session,
            "revalidate_finding",
            plan=plan_id,
            finding_id="F-0001",
            verdict="resolved",
            by="qa",
            reason="422 now",
        )
        refused = await call_error(
            session, "review_finding", plan=plan_id, finding_id="F-0001", decision="accept", reason="again?"
        )
        cli = await run(  # the CLI's words for the same refusal
            [*ROLETEAM, "plan", "review", plan_id, "F-0001", "accept", "--reason", "again?"],
            server_env,
            tmp_path,
        )
        incomplete = await call_error(session, "complete_plan", plan=plan_id, reason="shipped")
        for role in ("pm", "planner", "release-manager"):  # "pm" is the lead's alias
            waived = await call(session, "waive", plan=plan_id, kind="role", name=role, reason="not needed")
        skill = await call(
            session,
            "waive",
            plan=plan_id,
            kind="skill",
            name="database-migration",
            role="dev",
            reason="no schema change",
        )
        completed = await call(session, "complete_plan", plan=plan_id, reason="shipped")
        done = await call(session, "plan_status", plan=plan_id)

    assert reported["findings"]["submitted"] == ["high: POST /shorten accepts an empty URL"]
    [row] = listed["findings"]
    assert (row["id"], row["review"], row["raised_by"], row["severity"]) == (
        "F-0001",
        "pending",
        "validator",
        "high",
    )
    assert row["title"] == BUG["title"] and row["history"] is None
    assert listed["findings_by_status"] == {"open": 1}
    assert blocked["can_complete"] is False
    assert {"kind": "finding", "subject": "F-0001"} in [
        {"kind": b["kind"], "subject": b["subject"]} for b in blocked["blockers"]
    ]
    missing = {b["subject"] for b in blocked["blockers"] if b["kind"] == "missing_role"}
    assert missing == {"lead", "planner", "developer", "release-manager"}
    overview = waiting["plan"]
    assert (overview["team"], overview["status"], overview["awaiting_lead"]) == (
        "standard",
        "active",
        ["F-0001"],
    )
    assert overview["gate"]["can_complete"] is False
    assert {e["role"] for e in overview["roster"]} >= {"validator", "developer"}
    assert waiting["roles"]["validator"]["turns"] == 1

    assert accepted["dispatched"] == "fix:F-0001:r1"
    assert accepted["finding"]["assignee"] == "developer"
    [fix] = fixed["findings"]
    assert fix["rounds"] == 1 and [t["action"] for t in fix["history"]] == [
        "reported",
        "accepted",
        "dispatched",
        "fix delivered",
    ]
    [turn] = developer["turns"]  # the developer's only turn is the dispatched fix
    assert turn["invocation_id"] == "fix:F-0001:r1" and "Reject empty URLs with 422." in turn["prompt"]

    assert closed["finding"]["status"] == "resolved"
    assert refused.startswith("cannot accept F-0001: it is resolved")
    assert cli.code == 1 and cli.err_lines == [f"error: {refused}"]
    # the developer's fix completed an invocation, so three required roles are missing now
    assert incomplete.startswith("plan cannot complete, 3 blockers: missing_role lead: ")
    assert waived["gate"] == {"can_complete": True, "blockers": []}
    assert skill["message"] == "skill 'database-migration' waived for developer: no schema change"
    assert "plan completed" in completed["message"]
    assert done["plan"]["waivers"] == 4
    assert done["plan"]["status"] == "completed"
    assert done["plan"]["findings_by_status"] == {"resolved": 1} and done["plan"]["awaiting_lead"] == []


async def test_plan_status_before_the_plan_exists_shows_no_plan(mcp_session, worker, plan_id):
    async with mcp_session() as session:
        status = await call(session, "plan_status", plan=plan_id)

    assert status["plan"] is None
    assert set(status["roles"].values()) == {None}


async def test_accepting_alone_invokes_nobody_and_a_fix_is_dispatched_once(mcp_session, worker, plan_id):
    async with mcp_session() as session:
        await call(session, "invoke_role", plan=plan_id, role="dev", prompt="Implement step 1.")
        long_bug = {**BUG, "description": " ".join(["An empty url field returns 201."] * 40)}
        await call(
            session, "invoke_role", plan=plan_id, role="qa", prompt="Validate.\n" + finding_json(long_bug)
        )
        listed = await eventually(
            lambda: with_findings(call(session, "list_findings", plan=plan_id, status="open", max_chars=200))
        )
        accepted = await call(
            session, "review_finding", plan=plan_id, finding_id="F-0001", decision="accept", reason="Fix it."
        )
        before = await call(session, "role_status", plan=plan_id, role="dev")
        dispatched = await call(session, "dispatch_finding", plan=plan_id, finding_id="F-0001")
        again = await call_error(session, "dispatch_finding", plan=plan_id, finding_id="F-0001")
        unknown = await call_error(session, "dispatch_finding", plan=plan_id, finding_id="F-0999")

        async def fixed():
            page = await call(session, "list_findings", plan=plan_id, status="awaiting_revalidation")
            return page["findings"]

        await eventually(fixed)
        after = await call(session, "role_status", plan=plan_id, role="dev")

    description = listed["findings"][0]["description"]
    assert description.startswith(long_bug["description"][:200])
    assert f"200 of {len(long_bug['description'])} characters shown" in description
    assert (accepted["finding"]["status"], accepted["dispatched"]) == ("accepted", None)
    assert before["turns"] == 1, "accepting alone must not invoke the developer"
    assert dispatched["dispatched"] == "fix:F-0001:r1"
    # refused whether the fix is still running ("already dispatched") or delivered already
    delivered = "F-0001 was already dispatched as fix:F-0001:r1 and its fix awaits revalidation"
    assert again.startswith(("F-0001 is already dispatched", delivered))
    assert after["turns"] == 2, "the fix ran once"
    assert "F-0999" in unknown and "\n" not in unknown


async def test_plan_updates_fail_at_once_when_no_worker_polls(mcp_session, task_queue, plan_id):
    async with mcp_session() as session:
        message = await call_error(
            session, "review_finding", plan=plan_id, finding_id="F-0001", decision="reject", reason="noise"
        )

    assert message == (
        f"no worker polls task queue {task_queue!r}, so the plan cannot answer; "
        "start one with 'roleteam worker'"
    )


def test_a_page_stops_at_its_character_budget_but_is_never_empty():
    from roleteam.mcp_server import fill_page

    assert fill_page(["aaa", "bb", "cccc", "d"], 6, len) == ["aaa", "bb"]
    assert fill_page(["x" * 50, "y"], 6, len) == ["x" * 50]  # one oversized item still comes back
    assert fill_page([], 6, len) == []
