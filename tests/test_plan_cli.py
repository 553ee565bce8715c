"""`roleteam plan …`, `roleteam schedule …` and `roleteam demo` as a user runs them."""

from __future__ import annotations

import json

from tests.helpers import eventually
from tests.plan_helpers import BUG, finding_json


async def test_plan_commands_drive_the_findings_loop(cli, worker, plan_id):
    created = await cli("plan", "create", plan_id, "--team", "small", "--json")
    assert created.code == 0, created.err
    assert created.json()["team"] == "small"
    prompt = "Validate step 1.\n" + finding_json(BUG)
    assert (await cli("invoke", plan_id, "qa", prompt, "--id", "val-1")).code == 0

    async def listed():
        result = await cli("plan", "findings", plan_id, "--json")
        return result.json() if result.code == 0 and result.json() else None

    [finding] = await eventually(listed)
    assert (finding["id"], finding["status"], finding["review"]) == ("F-0001", "open", "pending")

    gate = await cli("plan", "gate", plan_id)
    assert gate.code == 3 and "finding      F-0001" in gate.out
    refused = await cli("plan", "complete", plan_id)
    assert refused.code == 3 and "cannot complete" in refused.out

    no_reason = await cli("plan", "review", plan_id, "F-0001", "accept", "--reason", " ")
    assert no_reason.code == 1 and no_reason.err_lines == [
        "error: --reason is empty: say why (it is kept in the finding's history)"
    ]
    bad = await cli("plan", "review", plan_id, "F-0001", "approve", "--reason", "ok")
    assert bad.code == 1 and "decision 'approve': use one of accept, reject, defer, clarify" in bad.err
    accepted = await cli(
        "plan", "review", plan_id, "F-0001", "accept", "--reason", "fix it", "--assign", "dev"
    )
    assert accepted.code == 0 and accepted.out.startswith("F-0001 accepted")
    dispatched = await cli("plan", "dispatch", plan_id, "F-0001", "--json")
    assert dispatched.json()["dispatched"] == "fix:F-0001:r1"
    again = await cli("plan", "dispatch", plan_id, "F-0001")
    assert again.code == 1 and again.err.startswith("error: F-0001 ") and "already dispatched" in again.err

    async def fixed():
        result = await cli("plan", "findings", plan_id, "F-0001", "--json")
        return result.json() if result.json()["status"] == "awaiting_revalidation" else None

    await eventually(fixed)
    closed = await cli("plan", "revalidate", plan_id, "F-0001", "resolved", "--by", "qa", "--reason", "ok")
    assert closed.code == 0, closed.err
    shown = await cli("plan", "findings", plan_id, "F-0001")
    assert "revalidated: resolved → resolved" in shown.out and "history:" in shown.out

    waived = await cli("plan", "waive", plan_id, "role", "lead", "--reason", "a person leads")
    assert waived.code == 0 and "role 'lead' waived" in waived.out
    status = await cli("plan", "status", plan_id)
    assert "team small" in status.out and "findings: 1 resolved" in status.out
    roles = await cli("status", plan_id)
    assert "findings: 1 resolved" in roles.out and "gate: open" in roles.out
    budget = await cli("plan", "budget", plan_id, "--role", "developer", "--tokens", "1000000", "--json")
    assert budget.code == 0 and "budget of developer set to 1000000 tokens" in budget.json()["message"]
    done = await cli("plan", "complete", plan_id, "--reason", "shipped")
    assert done.code == 0 and "plan completed" in done.out


async def test_plan_errors_are_one_line(cli, worker, plan_id):
    missing = await cli("plan", "status", plan_id)
    assert missing.code == 1 and missing.err_lines == [
        f"error: no plan '{plan_id}': it starts with its first role invocation, or create it with "
        f"'roleteam plan create {plan_id}'"
    ]
    unknown = await cli("plan", "create", plan_id, "--team", "huge")
    assert unknown.code == 1 and "unknown team 'huge'" in unknown.err
    bad_plan = await cli("plan", "status", "bad/plan")
    assert bad_plan.code == 1 and "invalid plan id 'bad/plan'" in bad_plan.err


async def test_schedule_commands(cli, worker, plan_id):
    lead = await cli("schedule", "create", plan_id, "lead", "daily", "Standup.", "--every", "1d")
    assert lead.code == 1 and "mode 'scheduled' is not allowed for role 'lead'" in lead.err
    bad = await cli("schedule", "create", plan_id, "qa", "smoke", "Check.", "--every", "soon")
    assert bad.code == 1 and "give a number and a unit" in bad.err
    created = await cli(
        "schedule", "create", plan_id, "qa", "smoke", "Check.", "--cron", "0 2 * * *", "--json"
    )
    assert created.code == 0, created.err
    [info] = created.json()
    assert info["schedule_id"] == f"sched:{plan_id}:validator:smoke" and info["spec"] == "cron 0 2 * * *"
    assert (await cli("schedule", "pause", plan_id, "qa", "smoke")).code == 0
    listed = await cli("schedule", "list", plan_id, "--json")
    assert [s["paused"] for s in listed.json()] == [True]
    assert (await cli("schedule", "delete", plan_id, "qa", "smoke")).code == 0
    assert (await cli("schedule", "list", plan_id)).out.strip() == "no schedules"


async def test_demo_runs_the_loop_end_to_end(cli, client, plan_id):
    address = client.service_client.config.target_host
    result = await cli("demo", "--plan", plan_id, "--address", address, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    plan = report["plan"]
    assert plan["status"] == "completed" and plan["gate"]["can_complete"]
    [finding] = plan["findings"]
    steps = [t["action"] for t in finding["history"]]
    assert steps == ["reported", "accepted", "dispatched", "fix delivered", "revalidated: resolved"]
    assert [w["name"] for w in plan["waivers"]] == ["release-manager"]
    assert {e["status"] for e in plan["roster"] if e["role"] != "release-manager"} == {"retired"}


async def test_out_of_bounds_values_and_unwritable_folders_are_one_line(cli, worker, plan_id):
    assert (await cli("plan", "create", plan_id)).code == 0
    long_id = await cli("plan", "review", plan_id, "F" * 500, "accept", "--reason", "r")
    assert long_id.code == 1 and long_id.err_lines == [
        "error: finding_id: String should have at most 64 characters"
    ]
    nowhere = await cli("plan", "export", plan_id, "/proc/no-such-folder")
    assert (
        nowhere.code == 1 and len(nowhere.err_lines) == 1 and "give a folder you can write to" in nowhere.err
    )
