"""The `roleteam` console command as a user runs it: a subprocess against the test server.

TEMPORAL_ADDRESS points at the session dev server and ROLETEAM_TASK_QUEUE at the test's own
queue, served by the in-process `worker` fixture; each command is awaited off the event loop so
that worker keeps running.
"""

from __future__ import annotations

import sys

import pytest

from roleteam.constants import MAX_PROMPT_BYTES, session_workflow_id
from roleteam.models import ExecutionArtifact, RoleState
from roleteam.registry import load_role_registry
from tests.helpers import ROLETEAM, ROOT, artifact_when_ready, clean_env, run

ROLE_IDS = list(load_role_registry().roles)
TRICKY_PROMPT = 'Ship "Ünïcode" notes — line 1\nline 2:\ttabs, quotes \' " and {braces} ✓'


# --- invoke ----------------------------------------------------------------------------------


async def test_invoke_json_prints_the_completed_artifact(cli, worker, plan_id):
    result = await cli("invoke", plan_id, "dev", TRICKY_PROMPT, "--by", "alice", "--json")

    assert result.code == 0, result.err
    artifact = result.json()
    assert set(artifact) == set(ExecutionArtifact.model_fields)
    assert artifact["status"] == "completed"
    assert artifact["role"] == "developer"  # the alias resolves to the canonical role
    assert artifact["workflow_id"] == session_workflow_id(plan_id, "developer")
    assert artifact["prompt"] == TRICKY_PROMPT and TRICKY_PROMPT in artifact["reply"]
    assert (artifact["turn"], artifact["requested_by"]) == (1, "alice")
    assert artifact["invocation_id"].startswith("inv-")


async def test_invoke_with_the_same_id_twice_returns_the_same_artifact(cli, worker, plan_id):
    first = await cli("invoke", plan_id, "planner", "Draft the plan.", "--id", "plan-step-1", "--json")
    again = await cli("invoke", plan_id, "planner", "Draft the plan.", "--id", "plan-step-1", "--json")
    status = await cli("status", plan_id, "--json")

    assert first.code == again.code == 0, first.err + again.err
    assert again.json() == first.json()
    assert first.json()["turn"] == 1 and first.json()["invocation_id"] == "plan-step-1"
    assert status.json()["roles"]["planner"]["turns"] == 1, "the repeated id ran again"


async def test_invoke_no_wait_queues_and_returns_the_invocation_id(cli, worker, team, plan_id):
    given = await cli("invoke", plan_id, "validator", "Check step 1.", "--id", "chk-1", "--no-wait", "--json")
    fresh = await cli("invoke", plan_id, "validator", "Check step 2.", "--no-wait", "--json")

    assert given.code == fresh.code == 0, given.err + fresh.err
    assert given.json() == {"invocation_id": "chk-1", "queued": True}
    generated = fresh.json()["invocation_id"]
    assert generated.startswith("inv-") and fresh.json()["queued"] is True
    one = await artifact_when_ready(team, plan_id, "validator", "chk-1")
    two = await artifact_when_ready(team, plan_id, "validator", generated)
    assert (one.status, one.turn, two.status, two.turn) == ("completed", 1, "completed", 2)
    assert "Check step 2." in two.reply


# --- status, history, roles --------------------------------------------------------------------


async def test_status_json_lists_every_role(cli, worker, plan_id):
    assert (await cli("invoke", plan_id, "developer", "Build step 1.", "--json")).code == 0
    result = await cli("status", plan_id, "--json")

    assert result.code == 0, result.err
    status = result.json()
    assert status["plan_id"] == plan_id
    assert list(status["roles"]) == ROLE_IDS
    developer = status["roles"]["developer"]
    assert set(developer) == set(RoleState.model_fields)
    assert (developer["status"], developer["turns"], developer["generation"]) == ("active", 1, 1)
    assert all(status["roles"][r] is None for r in ROLE_IDS if r != "developer")


async def test_history_json_lists_the_turns_verbatim(cli, worker, plan_id):
    prompts = [TRICKY_PROMPT, "Second:\n  indented line\n\nblank line above"]
    for n, prompt in enumerate(prompts):
        done = await cli("invoke", plan_id, "release", prompt, "--id", f"rel-{n}", "--json")
        assert done.code == 0, done.err
    result = await cli("history", plan_id, "release-manager", "--json")

    assert result.code == 0, result.err
    transcript = result.json()
    assert (transcript["runs"], transcript["earlier_runs_expired"]) == (1, False)
    turns = transcript["turns"]
    assert [(t["turn"], t["invocation_id"], t["status"]) for t in turns] == [
        (1, "rel-0", "completed"),
        (2, "rel-1", "completed"),
    ]
    assert [t["prompt"] for t in turns] == prompts
    assert all(p in t["reply"] for p, t in zip(prompts, turns, strict=True))
    assert len({t["run_id"] for t in turns}) == 1


async def test_roles_json_lists_the_registry(cli):
    result = await cli("roles", "--json")

    assert result.code == 0, result.err
    roles = result.json()
    assert [r["id"] for r in roles] == ROLE_IDS
    developer = next(r for r in roles if r["id"] == "developer")
    assert developer["title"] == "Developer" and "dev" in developer["aliases"]
    assert "persistent" in developer["execution_modes"]["allowed"]


# --- lifecycle -------------------------------------------------------------------------------


async def test_retire_refuses_invocations_and_reopen_resumes(cli, worker, plan_id):
    assert (await cli("invoke", plan_id, "qa", "Check step 1.", "--json")).code == 0
    retired = await cli("retire", plan_id, "qa", "--reason", "step 1 validated", "--by", "lead", "--json")
    refused = await cli("invoke", plan_id, "qa", "Check step 2?", "--json")
    reopened = await cli("reopen", plan_id, "validator", "--reason", "fix to revalidate", "--json")
    resumed = await cli("invoke", plan_id, "validator", "Recheck.", "--json")

    assert retired.code == 0, retired.err
    assert (retired.json()["status"], retired.json()["generation"]) == ("retired", 1)
    assert [(e["action"], e["reason"], e["requested_by"]) for e in retired.json()["lifecycle"]] == [
        ("retire", "step 1 validated", "lead")
    ]
    assert refused.code == 3, refused.err
    artifact = refused.json()
    assert artifact["status"] == "refused" and artifact["turn"] is None
    assert "retired" in artifact["reason"] and "step 1 validated" in artifact["reason"]
    assert reopened.code == 0, reopened.err
    assert (reopened.json()["status"], reopened.json()["generation"]) == ("active", 2)
    assert resumed.code == 0, resumed.err
    assert (resumed.json()["status"], resumed.json()["turn"], resumed.json()["generation"]) == (
        "completed",
        2,
        2,
    )


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "extra_env", "expected"),
    [
        (["invoke", "bad/plan", "dev", "hi"], {}, ["invalid plan id 'bad/plan'"]),
        (["invoke", "{plan}", "wizard", "hi"], {}, ["unknown role 'wizard'", *ROLE_IDS]),
        (
            ["invoke", "{plan}", "dev", "x" * (MAX_PROMPT_BYTES + 1)],
            {},
            [f"prompt is {MAX_PROMPT_BYTES + 1} bytes", f"limit is {MAX_PROMPT_BYTES} bytes"],
        ),
        (["invoke", "{plan}", "dev", "hi", "--mode", "bogus"], {}, ["--mode 'bogus'", "persistent"]),
        (["invoke", "{plan}", "dev", "hi", "--id", "bad id"], {}, ["invocation_id='bad id'"]),
        (["history", "{plan}", "dev"], {}, ["no session"]),
        (["retire", "{plan}", "dev", "--reason", "done"], {}, ["no session", "invoke it first"]),
        (
            ["invoke", "{plan}", "dev", "hi"],
            {"TEMPORAL_ADDRESS": "127.0.0.1:1"},
            ["cannot reach Temporal", "127.0.0.1:1"],
        ),
        (["status", "{plan}"], {"TEMPORAL_ADDRESS": "127.0.0.1:1"}, ["cannot reach Temporal"]),
    ],
    ids=[
        "bad-plan",
        "unknown-role",
        "oversized-prompt",
        "bad-mode",
        "bad-invocation-id",
        "history-no-session",
        "retire-no-session",
        "unreachable-invoke",
        "unreachable-status",
    ],
)
async def test_errors_exit_1_with_one_line_naming_the_problem(cli, plan_id, args, extra_env, expected):
    result = await cli(*[a.replace("{plan}", plan_id) for a in args], **extra_env)

    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    assert len(result.err_lines) == 1, result.err
    [line] = result.err_lines
    assert line.startswith("error: ")
    for fragment in expected:
        assert fragment in line


async def test_missing_reason_is_a_usage_error(cli, plan_id):
    result = await cli("retire", plan_id, "dev")

    assert result.code == 2
    assert "--reason" in result.err
    assert "Traceback" not in result.err + result.out


@pytest.mark.parametrize(
    "argv",
    [[sys.executable, str(ROOT / "worker.py")], [*ROLETEAM, "worker"]],
    ids=["python-worker.py", "roleteam-worker"],
)
async def test_worker_without_a_server_exits_with_one_line(argv, tmp_path, task_queue):
    env = clean_env(TEMPORAL_ADDRESS="127.0.0.1:1", ROLETEAM_TASK_QUEUE=task_queue)
    result = await run(argv, env, tmp_path)

    assert result.code != 0
    assert "Traceback" not in result.err + result.out
    assert len(result.err_lines) == 1, (result.out, result.err)
    assert "cannot reach Temporal at 127.0.0.1:1" in result.err_lines[0]


# --- policy check ------------------------------------------------------------------------------


async def test_default_policy_passes_policy_check(cli):
    result = await cli("policy", "check", "--json")

    assert result.code == 0, result.err
    report = result.json()
    assert report["ok"] and [r["role"] for r in report["roles"]] == ROLE_IDS
    assert all(r["required"] and not r["unavailable"] for r in report["roles"])
    table = await cli("policy", "check")
    assert table.code == 0 and "policy OK" in table.out and "test-first-development" in table.out


async def test_broken_policy_check_names_file_role_and_key(cli, tmp_path):
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "roles.yaml").write_text((ROOT / "policies" / "roles.yaml").read_text())
    skills = (ROOT / "policies" / "skills.yaml").read_text()
    (folder / "skills.yaml").write_text(skills.replace("regex: ['\\bv\\d+\\.\\d+']", "regex: ['v(']", 1))
    result = await cli("policy", "check", str(folder))

    assert result.code == 1 and "Traceback" not in result.err
    assert len(result.err_lines) == 1
    line = result.err_lines[0]
    assert str(folder / "skills.yaml") in line and "lead" in line and "regex" in line
