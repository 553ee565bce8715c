"""Typed messages of the Plan wire contract (docs/contract.md, "Plan wire contract").

A plan's `Plan` workflow keeps the team's roster, findings, waivers, budgets and lineage. Role
sessions report to it (`role_event`); people and automation act on it with updates. Models only
ever gain optional fields: running workflows and automation depend on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from roleteam.models import InvokeInput, SessionOptions, SkillEvidence
from roleteam.report_models import (
    Decision,
    LineageEntry,
    Name,
    PlanDirective,
    PlanSkillWaiver,
    Reason,
    Severity,
    Short,
    Verdict,
)

FindingStatus = Literal[
    "open",
    "clarifying",
    "accepted",
    "in_remediation",
    "awaiting_revalidation",
    "resolved",
    "rejected",
    "deferred",
    "escalated",
]
ReviewState = Literal["pending", "accepted", "rejected", "deferred", "clarify"]
PlanStatus = Literal["active", "halted", "completed"]
DecisionSource = Literal["person", "lead-role"]
BudgetState = Literal["ok", "warning", "exhausted"]
CLOSED_STATUSES = ("resolved", "rejected")


# --- team templates (policies/teams.yaml, carried in the plan's state) -------------------------


class TeamRole(BaseModel):
    """One role of a team template: the mode planned for it and its token budget."""

    mode: Literal["persistent", "delegated", "scheduled"] = "persistent"
    budget_tokens: int | None = None


class TeamTemplate(BaseModel):
    """A team template as the plan adopted it at creation."""

    name: str
    description: str = ""
    lead: str = "lead"
    roles: dict[str, TeamRole] = {}
    required: list[str] = []
    reporters: list[str] = []
    revalidators: list[str] = []  # empty: the role that raised the finding
    default_assignee: str = "developer"
    blocking_severity: Severity = "high"
    max_remediation_rounds: int = 3
    plan_budget_tokens: int | None = None
    policy_version: str = ""
    policy_sha256: str = ""


# --- the plan's ledger -----------------------------------------------------------------------


class FindingTransition(BaseModel):
    """One step in a finding's life: who did what, when and why."""

    at: datetime
    by: str
    action: str
    from_status: str | None = None
    to_status: str
    reason: str = ""
    invocation_id: str | None = None


class RemediationPacket(BaseModel):
    """What the assignee is sent when the Lead dispatches an accepted finding."""

    assignee: str
    instructions: str = ""
    round: int = 0
    invocation_id: str | None = None


class Finding(BaseModel):
    """A finding in the plan's ledger."""

    id: str
    source_id: str | None = None
    title: str
    description: str
    severity: Severity
    evidence: str = ""
    files: list[str] = []
    raised_by: str
    invocation_id: str
    status: FindingStatus = "open"
    review: ReviewState = "pending"
    assignee: str | None = None
    packet: RemediationPacket | None = None
    rounds: int = 0
    clarifications: int = 0
    awaiting_invocation: str | None = None
    repeats: int = 0
    created_at: datetime
    updated_at: datetime
    history: list[FindingTransition] = []


class Waiver(BaseModel):
    """A Lead's waiver of a required role or a required skill for this plan."""

    kind: Literal["role", "skill"]
    name: str
    role: str | None = None  # skill waivers: the role it covers, or null for every role
    reason: str
    approved_by: str
    at: datetime
    expires_at: datetime | None = None


class RosterEntry(BaseModel):
    """One role of the plan as the Plan workflow sees it."""

    role: str
    required: bool = False
    planned_mode: str | None = None
    status: Literal["active", "retired", "not_started"] = "not_started"
    generation: int = 0
    turns: int = 0
    invocations: int = 0
    completed: int = 0
    compliance: str | None = None
    missing_required_skills: list[str] = []
    tokens_used: int = 0
    last_invocation_id: str | None = None
    last_activity_at: datetime | None = None
    seq: int = 0
    queued: int = 0  # invocations waiting in the session at its latest report (0 from older sessions)


class BudgetView(BaseModel):
    """A token budget and how much of it is used."""

    scope: str  # "plan" or a role id
    limit: int | None
    used: int
    state: BudgetState


class ModeMismatch(BaseModel):
    """A role run in a mode other than the one the template planned for it."""

    role: str
    invocation_id: str
    planned: str
    actual: str
    at: datetime


class GateBlocker(BaseModel):
    """One thing that keeps the plan from completing."""

    kind: Literal["finding", "missing_role", "skill", "halted", "budget"]
    subject: str
    reason: str


class Gate(BaseModel):
    """The completion gate: open only when nothing blocks."""

    can_complete: bool
    blockers: list[GateBlocker] = []


class LineageView(BaseModel):
    """The newest lineage entries, with totals over the plan's whole life."""

    entries: list[LineageEntry] = []
    total: int = 0
    by_status: dict[str, int] = {}
    retained: int = 0


class PlanState(BaseModel):
    """Query `state`: the whole picture of a plan."""

    plan_id: str
    team: str
    status: PlanStatus
    status_reason: str | None = None
    roster: list[RosterEntry]
    findings: list[Finding]
    findings_by_status: dict[str, int] = {}
    waivers: list[Waiver]
    lineage: LineageView
    missing_required_roles: list[str]
    mode_mismatches: list[ModeMismatch]
    mode_mismatch_total: int = 0
    budgets: list[BudgetView]
    halted: bool
    gate: Gate
    template: TeamTemplate
    runs: int
    history_events: int
    history_bytes: int
    outbox: int = 0
    recovered_from_run: str | None = None  # set when this plan took up a terminated run's state


# --- update inputs ----------------------------------------------------------------------------


class PlanInput(BaseModel):
    """Start input of `Plan`. Only `plan_id` is needed; `team` defaults to the policy's default."""

    plan_id: Name
    team: Name | None = None
    carried: PlanCarried | None = None


class PlanOpenInput(BaseModel):
    """Update `open`: make sure the plan exists (with this team) and return its state."""

    team: Name | None = None


class ReviewInput(BaseModel):
    """Update `review`: a Lead decision on a finding."""

    finding_id: Name
    decision: Decision
    reason: Reason
    assign: Name | None = None
    dispatch: bool = False
    by: Short = "lead"
    source: DecisionSource = "person"


class DispatchInput(BaseModel):
    """Update `dispatch`: send an accepted finding's remediation packet to its assignee."""

    finding_id: Name
    by: Short = "lead"
    source: DecisionSource = "person"


class RevalidateInput(BaseModel):
    """Update `revalidate`: a revalidating role's verdict on a remediated finding."""

    finding_id: Name
    verdict: Verdict
    by: Name
    reason: Reason = ""


class WaiveInput(BaseModel):
    """Update `waive`: the Lead waives a required role or a required skill for the plan."""

    kind: Literal["role", "skill"]
    name: Name
    reason: Reason
    role: Name | None = None
    by: Short = "lead"
    expires_at: datetime | None = None


class BudgetInput(BaseModel):
    """Update `set_budget`: the Lead sets the plan's (or one role's) token budget."""

    tokens: int | None
    role: Name | None = None
    by: Short = "lead"


class PlanLifecycleInput(BaseModel):
    """Updates `halt`, `resume` and `complete`."""

    reason: Reason = ""
    by: Short = "lead"


class PlanActionResult(BaseModel):
    """What an update did, in one line, with the finding it touched and the gate after it."""

    ok: bool = True
    message: str
    finding: Finding | None = None
    gate: Gate | None = None
    dispatched: str | None = None


# --- the plan's outbox: messages it must deliver to role sessions ----------------------------


class OutboxItem(BaseModel):
    """A message the plan delivers to one role session, in order, from its main loop."""

    role: str
    kind: Literal["invoke", "retire", "reopen", "directive"]
    invoke: InvokeInput | None = None
    reason: str = ""
    directive: PlanDirective | None = None


class PlanCarried(BaseModel):
    """Everything a plan hands to its next run at continue-as-new. Always bounded."""

    template: TeamTemplate
    status: PlanStatus = "active"
    status_reason: str | None = None
    runs: int = 1
    next_finding: int = 1
    findings: list[Finding] = []
    evicted_findings: int = 0
    source_index: dict[str, str] = {}
    waivers: list[Waiver] = []
    roster: dict[str, RosterEntry] = {}
    lineage: list[LineageEntry] = []
    lineage_total: int = 0
    lineage_by_status: dict[str, int] = {}
    seen: list[str] = []
    mode_mismatches: list[ModeMismatch] = []
    mode_mismatch_total: int = 0
    budget_limits: dict[str, int | None] = {}
    budget_used: dict[str, int] = {}
    directives: dict[str, str] = {}
    directive_version: int = 0
    outbox: list[OutboxItem] = []
    recovered_from_run: str | None = None


class PlanBundleInput(BaseModel):
    """Local activity `write_plan_bundle`: the plan's state to write as files."""

    plan_id: str
    state: PlanState


class RecoveredPlan(BaseModel):
    """Activity `recover_plan_state`: the state of the plan's latest closed run, if any."""

    carried: PlanCarried | None = None
    from_run_id: str | None = None


# --- delegated and scheduled runs -------------------------------------------------------------


class DelegatedInput(BaseModel):
    """Start input of `DelegatedRun`: a one-off run of a role with no persistent memory."""

    plan_id: str
    role: str
    request: InvokeInput
    skill_waivers: list[PlanSkillWaiver] = []
    options: SessionOptions = SessionOptions()


class ScheduledFiring(BaseModel):
    """Start input of `ScheduledInvocation`: what a schedule asks of a role at each firing."""

    plan_id: Name
    role: Name
    schedule: Name
    prompt: str
    requested_by: Short | None = None


class TeamRequest(BaseModel):
    """Activity `load_team_template`: which template (None: the policy's default)."""

    name: str | None = None


class DelegatedResult(BaseModel):
    """What a `DelegatedRun` returns to its role session."""

    status: Literal["completed", "failed", "refused"]
    reply: str | None = None
    reply_truncated: bool = False
    provider: str | None = None
    model: str | None = None
    usage_prompt_tokens: int = 0
    usage_completion_tokens: int = 0
    error: str | None = None
    reason: str | None = None
    skills: SkillEvidence | None = None
    compliance: str | None = None


class DeliveryInput(BaseModel):
    """Activity `deliver_invocation`: queue an invocation on a role session, starting it if needed."""

    plan_id: str
    role: str
    request: InvokeInput


PlanInput.model_rebuild()
