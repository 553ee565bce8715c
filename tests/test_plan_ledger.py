"""The plan's ledger logic on its own (pure functions): transitions, eviction, gate, budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleteam import constants as c
from roleteam.plan_models import PlanCarried, RevalidateInput, ReviewInput, TeamRole, TeamTemplate, Waiver
from roleteam.report_models import SubmittedFinding
from roleteam.workflows import plan_findings as ledger
from roleteam.workflows import plan_team as team
from roleteam.workflows.carry import payload_bytes
from roleteam.workflows.outbox import drop_delivered

NOW = datetime(2026, 11, 25, tzinfo=UTC)
ROLES = {"lead", "developer", "validator"}


def plan(**template) -> PlanCarried:
    fields = {
        "name": "t",
        "roles": {r: TeamRole() for r in ROLES},
        "required": ["lead", "developer", "validator"],
        "reporters": ["validator"],
        "max_remediation_rounds": 2,
        **template,
    }
    state = PlanCarried(template=TeamTemplate(**fields))
    for role in ROLES:
        team.roster_entry(state, role)
    return state


def report(state, title="bug", severity="high", source_id=None, invocation="v-1") -> str:
    finding_id, _ = ledger.ingest(
        state,
        "validator",
        invocation,
        SubmittedFinding(title=title, description="d", severity=severity, source_id=source_id),
        NOW,
    )
    return finding_id


def review(state, finding_id, decision, source="person", **fields):
    request = ReviewInput(finding_id=finding_id, decision=decision, reason="because", source=source, **fields)
    return ledger.review(state, request, NOW, ROLES)


def test_every_refused_transition_says_what_applies():
    state = plan()
    fid = report(state)
    with pytest.raises(ledger.Refusal, match="the Lead must accept it first"):
        ledger.dispatch(state, fid, "lead", NOW)
    with pytest.raises(ledger.Refusal, match="not awaiting_revalidation"):
        ledger.revalidate(state, RevalidateInput(finding_id=fid, verdict="resolved", by="validator"), NOW)
    review(state, fid, "reject")
    for decision in ("accept", "reject", "defer", "clarify"):
        with pytest.raises(ledger.Refusal, match=f"cannot {decision} {fid}: it is rejected"):
            review(state, fid, decision)
    with pytest.raises(ledger.Refusal, match="cannot assign to 'nobody'"):
        review(state, report(state, "other"), "accept", assign="nobody")
    assert state.outbox == [], "no decision so far sends anything to a role"


def test_ids_are_never_reused_and_repeats_are_reported_not_duplicated():
    state = plan()
    first = report(state, source_id="v-7")
    again = report(state, source_id="v-7", invocation="v-2")
    other = report(state)
    assert (first, again, other) == ("F-0001", "F-0001", "F-0002")
    assert state.findings[0].repeats == 1 and state.findings[0].history[-1].action == "reported again"


def test_closed_findings_leave_a_full_ledger_first(monkeypatch):
    state = plan()
    ids = [report(state, f"bug {n}") for n in range(3)]
    monkeypatch.setattr(c, "MAX_FINDINGS_LEDGER_BYTES", sum(payload_bytes(f) for f in state.findings) + 100)
    review(state, ids[0], "reject")
    assert report(state, "later") == "F-0004"
    assert ids[0] not in [f.id for f in state.findings] and state.evicted_findings == 1
    finding_id, note = ledger.ingest(
        state, "validator", "v-9", SubmittedFinding(title="more", description="d", severity="low"), NOW
    )
    assert finding_id is None and "ledger is full" in note, "with only open findings left, none is evicted"
    with pytest.raises(ledger.Refusal, match="closed findings have left the live ledger"):
        ledger.find(state, ids[0])


def test_escalation_after_the_last_round_needs_a_person():
    state = plan()
    fid = report(state)
    for _ in range(2):
        review(state, fid, "accept")
        ledger.dispatch(state, fid, "lead", NOW)
        ledger.on_artifact(state, state.findings[0].awaiting_invocation, "completed", "", NOW)
        ledger.revalidate(state, RevalidateInput(finding_id=fid, verdict="not_resolved", by="validator"), NOW)
    assert state.findings[0].status == "escalated"
    with pytest.raises(ledger.Refusal, match="waits for a person's decision"):
        review(state, fid, "accept", source="lead-role")
    assert review(state, fid, "reject").status == "rejected"
    fix_ids = [o.invoke.invocation_id for o in state.outbox]
    assert fix_ids == [f"fix:{fid}:r1", f"fix:{fid}:r2"]


def test_a_failed_fix_returns_the_finding_to_accepted():
    state = plan()
    fid = report(state)
    review(state, fid, "accept")
    ledger.dispatch(state, fid, "lead", NOW)
    note = ledger.on_artifact(state, f"fix:{fid}:r1", "refused", "budget used up", NOW)
    assert state.findings[0].status == "accepted" and "back to accepted" in note


def test_gate_waivers_expire_and_severity_threshold_applies():
    state = plan(blocking_severity="medium")
    report(state, severity="low")
    report(state, severity="medium")
    state.roster["developer"].completed = 1
    state.roster["validator"].completed = 1
    state.roster["validator"].missing_required_skills = ["finding-reports"]
    blockers = {(b.kind, b.subject) for b in team.gate(state, NOW).blockers}
    assert blockers == {
        ("finding", "F-0002"),
        ("missing_role", "lead"),
        ("skill", "validator:finding-reports"),
    }
    soon = NOW + timedelta(hours=1)
    team.waive(
        state,
        Waiver(kind="role", name="lead", reason="person", approved_by="lead", at=NOW, expires_at=soon),
        ROLES,
        NOW,
    )
    assert ("missing_role", "lead") not in {(b.kind, b.subject) for b in team.gate(state, NOW).blockers}
    assert ("missing_role", "lead") in {(b.kind, b.subject) for b in team.gate(state, soon).blockers}


def test_budgets_warn_refuse_and_directives_are_sent_only_on_change():
    state = plan(
        roles={"developer": TeamRole(budget_tokens=100), "lead": TeamRole(), "validator": TeamRole()}
    )
    state.roster["developer"].status = "active"
    team.add_usage(state, "developer", 85)
    team.queue_directives(state, NOW)
    [warning] = state.outbox
    assert warning.directive.budget_warning.startswith("the developer role's token budget is 85% used")
    team.queue_directives(state, NOW)
    assert len(state.outbox) == 1, "an unchanged directive is not sent again"
    team.add_usage(state, "developer", 20)
    team.queue_directives(state, NOW)
    assert len(state.outbox) == 1 and "used up (105 of 100)" in state.outbox[0].directive.budget_refusal
    assert team.budget_view(state, "developer").state == "exhausted"
    team.set_budget(state, "developer", 1000)
    assert team.budget_view(state, "developer").state == "ok"


def test_a_directive_queued_while_an_older_one_is_delivered_is_not_lost():
    # The refusal that arrives while the warning is on its way must reach the role (CI once lost
    # it: the delivered warning left the queue by position and took the refusal with it).
    state = plan(
        roles={"developer": TeamRole(budget_tokens=100), "lead": TeamRole(), "validator": TeamRole()}
    )
    state.roster["developer"].status = "active"
    team.add_usage(state, "developer", 85)
    team.queue_directives(state, NOW)
    in_flight = state.outbox[0]
    team.add_usage(state, "developer", 20)  # a report handled while the warning is being delivered
    team.queue_directives(state, NOW)
    drop_delivered(state.outbox, in_flight, lambda: True)
    [pending] = state.outbox
    assert "used up (105 of 100)" in pending.directive.budget_refusal
    assert pending.directive.version > in_flight.directive.version


def test_a_delivered_message_leaves_its_outbox_by_identity():
    first, second, third = object(), object(), object()
    queue = [first, second]
    drop_delivered(queue, first, lambda: True)
    assert queue == [second]
    queue = [third]  # the head was replaced while `second` was delivered
    drop_delivered(queue, second, lambda: True)
    assert queue == [third]
    drop_delivered(queue, second, lambda: False)  # histories recorded before the patch replay as before
    assert queue == []


def test_a_one_off_role_gets_no_directive_until_it_has_something_to_be_told():
    state = plan(
        roles={"developer": TeamRole(budget_tokens=100), "lead": TeamRole(), "validator": TeamRole()}
    )
    for role in ("developer", "lead"):
        state.roster[role].status = "active"
        state.roster[role].invocations = 1
    team.queue_directives(state, NOW, takes_batches=True)
    assert state.outbox == [], "only 'the plan takes batches' to say: no signal to a one-off role"
    team.add_usage(state, "developer", 85)  # a budget warning is worth a signal at once
    team.queue_directives(state, NOW, takes_batches=True)
    [warning] = state.outbox
    assert warning.role == "developer" and warning.directive.takes_role_events
    state.roster["lead"].invocations = 2  # from its second invocation on, the lead is told
    team.queue_directives(state, NOW, takes_batches=True)
    assert [o.role for o in state.outbox] == ["developer", "lead"]
    assert state.outbox[1].directive.takes_role_events and not state.outbox[1].directive.budget_warning
    state.roster["validator"].status = "active"
    state.roster["validator"].invocations, state.roster["validator"].queued = 1, 30  # work waiting
    team.queue_directives(state, NOW, takes_batches=True)
    assert [o.role for o in state.outbox] == ["developer", "lead", "validator"]
