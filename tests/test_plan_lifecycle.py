"""A plan's findings loop on the real dev server: report, review, dispatch, fix, revalidate."""

from __future__ import annotations

import json

import pytest

from roleteam.errors import RoleteamError
from roleteam.plan_client import PlanTeam
from tests.helpers import ask, eventually
from tests.plan_helpers import BUG, finding_json


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


async def finding_state(plans, plan_id, finding_id, status):
    async def check():
        state = await plans.state(plan_id)
        found = [f for f in state.findings if f.id == finding_id]
        return found[0] if found and found[0].status == status else None

    return await eventually(check)


async def test_finding_waits_for_the_lead_and_only_a_dispatch_invokes_the_developer(
    team, plans, worker, plan_id
):
    await ask(team, plan_id, "developer", "Implement step 1.", "dev-1")
    reported = await ask(team, plan_id, "validator", "Validate step 1.\n" + finding_json(BUG), "val-1")

    assert reported.findings.submitted == ["high: POST /shorten accepts an empty URL"]
    finding = await finding_state(plans, plan_id, "F-0001", "open")
    assert (finding.review, finding.raised_by, finding.source_id) == ("pending", "validator", "val-1")
    assert (await plans.state(plan_id)).gate.can_complete is False

    accepted = await plans.review(plan_id, "F-0001", "accept", "Reject empty URLs with 422.")
    assert accepted.finding.status == "accepted" and accepted.finding.assignee == "developer"
    developer = await team.state(plan_id, "developer")
    assert developer.turns == 1, "accepting alone must not invoke anyone"

    dispatched = await plans.dispatch(plan_id, "F-0001")
    assert dispatched.dispatched == "fix:F-0001:r1"
    with pytest.raises(RoleteamError, match="already dispatched"):
        await plans.dispatch(plan_id, "F-0001")
    fixed = await finding_state(plans, plan_id, "F-0001", "awaiting_revalidation")
    assert fixed.rounds == 1
    fix = await team.artifact(plan_id, "developer", "fix:F-0001:r1")
    assert "Reject empty URLs with 422." in fix.prompt and fix.requested_by == "plan:lead (person)"
    assert (await team.state(plan_id, "developer")).turns == 2

    with pytest.raises(RoleteamError, match="only validator may"):
        await plans.revalidate(plan_id, "F-0001", "resolved", by="developer")
    closed = await plans.revalidate(plan_id, "F-0001", "resolved", by="validator", reason="422 now")
    assert closed.finding.status == "resolved"
    actions = [t.action for t in closed.finding.history]
    assert actions == ["reported", "accepted", "dispatched", "fix delivered", "revalidated: resolved"]
    with pytest.raises(RoleteamError, match="cannot accept F-0001: it is resolved"):
        await plans.review(plan_id, "F-0001", "accept", "again?")


async def test_lead_role_reply_decides_and_dispatches(team, plans, worker, plan_id):
    await ask(team, plan_id, "validator", "Validate.\n" + finding_json(BUG), "val-1")
    await finding_state(plans, plan_id, "F-0001", "open")
    decision = {
        "reviews": [{"finding": "F-0001", "decision": "accept", "reason": "fix it", "dispatch": True}]
    }
    lead = await ask(team, plan_id, "lead", "Review.\n```json\n" + json.dumps(decision) + "\n```", "lead-1")
    assert lead.findings.reviews == 1
    await finding_state(plans, plan_id, "F-0001", "awaiting_revalidation")
    assert (await team.artifact(plan_id, "developer", "fix:F-0001:r1")).status == "completed"


async def test_not_resolved_goes_back_to_the_lead_then_escalates(team, plans, worker, plan_id):
    await plans.open(plan_id, team="small")  # two rounds at most; revalidated by the validator
    await ask(team, plan_id, "validator", "Validate.\n" + finding_json(BUG), "val-1")
    await finding_state(plans, plan_id, "F-0001", "open")
    for round_ in (1, 2):
        await plans.review(plan_id, "F-0001", "accept", f"round {round_}", dispatch=True)
        await finding_state(plans, plan_id, "F-0001", "awaiting_revalidation")
        result = await plans.revalidate(plan_id, "F-0001", "not_resolved", by="validator", reason="still 201")
    assert result.finding.status == "escalated"
    verdicts = [t.to_status for t in result.finding.history if t.action == "revalidated: not resolved"]
    assert verdicts == ["open", "escalated"]
    developer = await team.state(plan_id, "developer")
    assert developer.turns == 2, "a not-resolved verdict never goes straight back to the developer"
