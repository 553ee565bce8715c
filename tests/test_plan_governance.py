"""Roster, gate, waivers, modes, budgets and halt of a plan, on the real dev server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from roleteam.errors import RoleteamError
from roleteam.plan_client import PlanTeam
from roleteam.registry import bundled_skills_dir
from tests.helpers import ask, eventually
from tests.plan_helpers import BUG, finding_json


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


async def wait_state(plans, plan_id, ready):
    async def check():
        state = await plans.state(plan_id)
        return state if ready(state) else None

    return await eventually(check)


async def test_any_role_session_brings_its_plan_into_being_with_roster_and_lineage(
    team, plans, worker, plan_id
):
    await team.send(plan_id, "planner", team.request("Plan it.", "p-1", requested_by="ci"))
    state = await wait_state(plans, plan_id, lambda s: s.lineage.total == 1)
    planner = next(e for e in state.roster if e.role == "planner")
    assert (planner.status, planner.turns, planner.compliance, planner.required) == (
        "active",
        1,
        "verified",
        True,
    )
    assert planner.tokens_used > 0
    [entry] = state.lineage.entries
    assert (entry.invocation_id, entry.role, entry.requested_by, entry.status, entry.turn, entry.mode) == (
        "p-1",
        "planner",
        "ci",
        "completed",
        1,
        "persistent",
    )
    assert entry.tokens == planner.tokens_used
    assert set(state.missing_required_roles) == {"lead", "developer", "validator", "release-manager"}
    assert state.team == "standard" and state.status == "active"


async def test_gate_blocked_by_each_kind_and_opened_by_decisions_and_waivers(
    team, plans, worker, plan_id, tmp_path, monkeypatch
):
    await plans.open(plan_id, team="small")
    # The validator runs without one of its required skills: a skill blocker.
    roots = tmp_path / "skills"
    roots.mkdir()
    shutil.copytree(bundled_skills_dir() / "finding-reports", roots / "finding-reports")
    monkeypatch.setenv("ROLETEAM_SKILL_ROOTS", str(roots))
    reported = await ask(team, plan_id, "validator", "Validate.\n" + finding_json(BUG), "val-1")
    assert reported.skills.compliance == "partial"
    await plans.halt(plan_id, "budget review")
    state = await wait_state(plans, plan_id, lambda s: s.findings)
    kinds = {(b.kind, b.subject) for b in state.gate.blockers}
    assert kinds == {
        ("halted", "plan"),
        ("finding", "F-0001"),
        ("missing_role", "lead"),
        ("missing_role", "developer"),
        ("skill", "validator:independent-verification"),
    }
    with pytest.raises(RoleteamError, match="cannot complete, 5 blockers"):
        await plans.complete(plan_id)

    await plans.resume(plan_id, "budget fine")
    await plans.review(plan_id, "F-0001", "defer", "next release")
    await plans.waive(plan_id, "role", "lead", "the Lead is a person here")
    await plans.waive(plan_id, "role", "developer", "no code in this plan")
    waived = await plans.waive(
        plan_id, "skill", "independent-verification", "tool not installed", role="validator"
    )
    assert waived.gate.can_complete, waived.gate
    await wait_state(plans, plan_id, lambda s: s.outbox == 0)  # the waiver has reached the role
    again = await ask(team, plan_id, "validator", "Validate again.", "val-2")
    assert again.skills.compliance == "waived"
    assert again.skills.waivers[0].skill == "independent-verification"
    assert again.skills.waivers[0].plan == plan_id

    done = await plans.complete(plan_id, "shipped")
    assert "plan completed" in done.message
    state = await wait_state(
        plans, plan_id, lambda s: next(e for e in s.roster if e.role == "validator").status == "retired"
    )
    assert state.status == "completed"
    refused = await ask(team, plan_id, "validator", "One more?", "val-3")
    assert refused.status == "refused" and "plan completed" in refused.reason


async def test_waivers_and_reviews_need_a_reason_and_must_make_sense(plans, worker, plan_id):
    await plans.open(plan_id)
    with pytest.raises(RoleteamError, match="not required by team 'standard'"):
        await plans.waive(plan_id, "role", "nobody", "why not")
    with pytest.raises(RoleteamError, match="no finding 'F-0042'"):
        await plans.review(plan_id, "F-0042", "accept", "ok")
    with pytest.raises(RoleteamError, match="already uses team 'standard'"):
        await plans.open(plan_id, team="small")


async def test_modes_really_run_and_a_mismatch_shows(team, plans, worker, plan_id):
    await plans.open(plan_id, team="small")  # planner planned as delegated
    delegated = await ask(team, plan_id, "planner", "Plan step 1.", "plan-d1", mode="delegated")
    assert delegated.status == "completed" and delegated.turn is None
    assert delegated.delegated_workflow_id == f"delegated:{plan_id}:planner:plan-d1"
    assert delegated.skills.compliance == "verified"
    assert (await team.state(plan_id, "planner")).turns == 0, "a delegated run has no persistent memory"
    persistent = await ask(team, plan_id, "planner", "Plan step 2.", "plan-p1")
    assert persistent.turn == 1
    refused = await ask(team, plan_id, "lead", "Lead, delegated?", "lead-d1", mode="delegated")
    assert refused.status == "refused" and "not allowed for role 'lead'" in refused.reason
    state = await wait_state(plans, plan_id, lambda s: s.lineage.total == 3)
    assert [(m.role, m.invocation_id, m.planned, m.actual) for m in state.mode_mismatches] == [
        ("planner", "plan-p1", "delegated", "persistent")
    ]
    modes = {e.invocation_id: (e.mode, e.status) for e in state.lineage.entries}
    assert modes["plan-d1"] == ("delegated", "completed")


async def test_budgets_warn_then_refuse_until_raised(team, plans, worker, plan_id):
    await plans.open(plan_id)
    first = await ask(team, plan_id, "developer", "Step 1.", "d-1")
    used = first.usage.total_tokens
    await wait_state(plans, plan_id, lambda s: s.lineage.total == 1)  # the report is a signal: async
    await plans.set_budget(plan_id, int(used * 1.1), role="developer")
    await wait_state(plans, plan_id, lambda s: s.outbox == 0)
    warned = await ask(team, plan_id, "developer", "Step 2.", "d-2")
    assert warned.status == "completed"
    assert warned.budget_warning.startswith("the developer role's token budget is")
    state = await wait_state(plans, plan_id, lambda s: s.lineage.total == 2 and s.outbox == 0)
    assert next(b for b in state.budgets if b.scope == "developer").state == "exhausted"
    await eventually(lambda: _role_refuses(team, plan_id, "developer"))  # the plan's word has arrived
    refused = await ask(team, plan_id, "developer", "Step 3.", "d-3")
    assert refused.status == "refused" and "budget is used up" in refused.reason
    await plans.set_budget(plan_id, used * 10, role="developer")
    await wait_state(plans, plan_id, lambda s: s.outbox == 0)
    again = await ask(team, plan_id, "developer", "Step 3.", "d-3")
    assert again.status == "completed", "a refused id is not used up: it runs once the budget is raised"


async def test_halt_refuses_and_resume_reopens(team, plans, worker, plan_id):
    await ask(team, plan_id, "developer", "Step 1.", "d-1")
    halted = await plans.halt(plan_id, "security incident")
    assert "retiring developer" in halted.message
    await eventually(lambda: _status_is(team, plan_id, "developer", "retired"))
    refused = await ask(team, plan_id, "developer", "Step 2.", "d-2")
    assert refused.status == "refused" and "plan halted: security incident" in refused.reason
    with pytest.raises(RoleteamError, match="only an active plan can be halted"):
        await plans.halt(plan_id, "again")
    await plans.resume(plan_id, "incident closed")
    await eventually(lambda: _status_is(team, plan_id, "developer", "active"))
    resumed = await ask(team, plan_id, "developer", "Step 2.", "d-2")
    assert resumed.status == "completed"
    state = await team.state(plan_id, "developer")
    assert [e.reason for e in state.lifecycle] == [
        "plan halted: security incident",
        "plan resumed: incident closed",
    ]


async def _role_refuses(team, plan_id, role):
    return (await team.state(plan_id, role)).budget_refusal


async def _status_is(team, plan_id, role, status):
    return (await team.state(plan_id, role)).status == status


def test_team_templates_are_validated_naming_file_key_and_fix(tmp_path: Path, monkeypatch):
    from roleteam.errors import PolicyError
    from roleteam.teams import load_team_policy

    bad = tmp_path / "teams.yaml"
    bad.write_text(
        "version: '1'\ndefault: t\nteams:\n  t:\n    roles: {lead: {mode: delegated}, ghost: {}}\n"
        "    reporters: [validator]\n"
    )
    with pytest.raises(PolicyError) as err:
        load_team_policy(bad)
    assert "teams.t: reporters: 'validator' is not one of this team's roles (ghost, lead)" in str(err.value)
    bad.write_text(
        "version: '1'\ndefault: t\nteams:\n  t:\n    roles: {lead: {mode: delegated}, ghost: {}}\n"
        "    default_assignee: lead\n"
    )
    with pytest.raises(PolicyError) as err:
        load_team_policy(bad)
    message = str(err.value)
    assert "teams.t.roles.ghost: not a role in" in message
    assert "teams.t.roles.lead.mode: 'delegated' is not allowed for this role" in message
