"""What role sessions report to their plan, and what the plan tells them: shared wire models.

Imported by the RoleSession models and the Plan models alike; depends on pydantic only.
Models only ever gain optional fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Severity = Literal["critical", "high", "medium", "low", "info"]
Decision = Literal["accept", "reject", "defer", "clarify"]
Verdict = Literal["resolved", "not_resolved"]


# --- what a role reply submits to the plan (parsed in RoleSession, applied by Plan) -----------


class SubmittedFinding(BaseModel):
    """A finding as a reporting role's reply stated it, validated and bounded."""

    title: str
    description: str
    severity: Severity
    evidence: str = ""
    files: list[str] = []
    source_id: str | None = None


class SkippedItem(BaseModel):
    """An item of a reply that was not taken, and why."""

    index: int
    kind: str = "finding"
    reason: str


class ReviewDecision(BaseModel):
    """A Lead decision on one finding (from the `review` update or the lead role's reply)."""

    finding_id: str
    decision: Decision
    reason: str = ""
    assign: str | None = None
    dispatch: bool = False


class RevalidationVerdict(BaseModel):
    """A revalidating role's verdict on a remediated finding."""

    finding_id: str
    verdict: Verdict
    reason: str = ""


class ReplyFindings(BaseModel):
    """Everything a reply carried for the plan, and what was skipped. Always bounded."""

    findings: list[SubmittedFinding] = []
    reviews: list[ReviewDecision] = []
    dispatch: list[str] = []
    revalidations: list[RevalidationVerdict] = []
    skipped: list[SkippedItem] = []
    scanned_chars: int = 0

    @property
    def empty(self) -> bool:
        return not (self.findings or self.reviews or self.dispatch or self.revalidations or self.skipped)


# --- RoleSession -> Plan ----------------------------------------------------------------------


class LineageEntry(BaseModel):
    """One invocation of one role, as the plan's lineage keeps it."""

    invocation_id: str
    role: str
    requested_by: str | None = None
    status: str
    turn: int | None = None
    mode: str = "persistent"
    tokens: int = 0
    started_at: datetime
    finished_at: datetime
    reason: str | None = None
    findings_submitted: int = 0
    finding_ids: list[str] = []
    notes: list[str] = []


class RoleSnapshot(BaseModel):
    """A role session's state as it reports it."""

    status: Literal["active", "retired"] = "active"
    generation: int = 1
    turns: int = 0
    compliance: str | None = None
    missing_required_skills: list[str] = []


class RoleEvent(BaseModel):
    """Signal `role_event`: a role session reports an artifact or a lifecycle change.

    Sent by RoleSession (internal); `seq` grows per session so a late duplicate never rolls the
    roster back.
    """

    plan_id: str
    role: str
    seq: int
    kind: Literal["artifact", "lifecycle", "joined"]
    snapshot: RoleSnapshot
    entry: LineageEntry | None = None
    reply: ReplyFindings | None = None
    excerpt: str = ""  # the reply's opening, for answers the plan waits for (clarifications)
    at: datetime


class PlanSkillWaiver(BaseModel):
    """A skill the Lead waived for this plan (for one role, or every role when `role` is null)."""

    skill: str
    role: str | None = None
    reason: str
    approved_by: str


class PlanDirective(BaseModel):
    """Signal `plan_directive`: what the plan requires of one of its role sessions now."""

    skill_waivers: list[PlanSkillWaiver] = []
    budget_warning: str | None = None
    budget_refusal: str | None = None
    version: int = 0


class FindingsEvidence(BaseModel):
    """What an artifact's reply submitted to the plan, and what was skipped and why."""

    submitted: list[str] = []  # "severity: title" of each finding taken
    skipped: list[SkippedItem] = []
    reviews: int = 0
    dispatch: int = 0
    revalidations: int = 0
