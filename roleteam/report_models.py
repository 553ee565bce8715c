"""What role sessions report to their plan, and what the plan tells them: shared wire models.

Imported by the RoleSession models and the Plan models alike; depends on pydantic and
roleteam.constants only.
Models only ever gain optional fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from roleteam.constants import MAX_REPORTS_PER_BATCH

Severity = Literal["critical", "high", "medium", "low", "info"]
Decision = Literal["accept", "reject", "defer", "clarify"]
Verdict = Literal["resolved", "not_resolved"]

# Every string and list that crosses the wire has a bound, so no payload nears Temporal's limit
# whoever sends it (these models arrive from any client that knows the signal names).
Name = Annotated[str, Field(max_length=64)]
Id = Annotated[str, Field(max_length=128)]
Short = Annotated[str, Field(max_length=300)]
Reason = Annotated[str, Field(max_length=1_000)]
Text = Annotated[str, Field(max_length=4_000)]


# --- what a role reply submits to the plan (parsed in RoleSession, applied by Plan) -----------


class SubmittedFinding(BaseModel):
    """A finding as a reporting role's reply stated it, validated and bounded."""

    title: Short
    description: Text
    severity: Severity
    evidence: Text = ""
    files: Annotated[list[Short], Field(max_length=20)] = []
    source_id: Name | None = None


class SkippedItem(BaseModel):
    """An item of a reply that was not taken, and why."""

    index: int
    kind: Name = "finding"
    reason: Short


class ReviewDecision(BaseModel):
    """A Lead decision on one finding (from the `review` update or the lead role's reply)."""

    finding_id: Name
    decision: Decision
    reason: Reason = ""
    assign: Name | None = None
    dispatch: bool = False


class RevalidationVerdict(BaseModel):
    """A revalidating role's verdict on a remediated finding."""

    finding_id: Name
    verdict: Verdict
    reason: Reason = ""


class ReplyFindings(BaseModel):
    """Everything a reply carried for the plan, and what was skipped. Always bounded."""

    findings: Annotated[list[SubmittedFinding], Field(max_length=50)] = []
    reviews: Annotated[list[ReviewDecision], Field(max_length=50)] = []
    dispatch: Annotated[list[Name], Field(max_length=50)] = []
    revalidations: Annotated[list[RevalidationVerdict], Field(max_length=50)] = []
    skipped: Annotated[list[SkippedItem], Field(max_length=50)] = []
    scanned_chars: int = 0

    @property
    def empty(self) -> bool:
        return not (self.findings or self.reviews or self.dispatch or self.revalidations or self.skipped)


# --- RoleSession -> Plan ----------------------------------------------------------------------


class LineageEntry(BaseModel):
    """One invocation of one role, as the plan's lineage keeps it."""

    invocation_id: Id
    role: Name
    requested_by: Short | None = None
    status: Name
    turn: int | None = None
    mode: Name = "persistent"
    tokens: int = 0
    started_at: datetime
    finished_at: datetime
    reason: Short | None = None
    findings_submitted: int = 0
    finding_ids: Annotated[list[Name], Field(max_length=50)] = []
    notes: Annotated[list[Short], Field(max_length=20)] = []


class RoleSnapshot(BaseModel):
    """A role session's state as it reports it."""

    status: Literal["active", "retired"] = "active"
    generation: int = 1
    turns: int = 0
    compliance: Name | None = None
    missing_required_skills: Annotated[list[Name], Field(max_length=20)] = []
    queued: int = 0  # invocations waiting in the session as it reported (sessions since session-v2)


class RoleEvent(BaseModel):
    """Signal `role_event`: a role session reports an artifact or a lifecycle change.

    Sent by RoleSession (internal); `seq` grows per session so a late duplicate never rolls the
    roster back.
    """

    plan_id: Name
    role: Name
    seq: int
    kind: Literal["artifact", "lifecycle", "joined"]
    snapshot: RoleSnapshot
    entry: LineageEntry | None = None
    reply: ReplyFindings | None = None
    excerpt: Reason = ""  # the reply's opening, for answers the plan waits for (clarifications)
    at: datetime


class RoleEventBatch(BaseModel):
    """Signal `role_events`: a role session's reports, oldest first, in one signal.

    Sent by RoleSession (internal) since patch `session-v2`, to plans whose directive says
    `takes_role_events`; each item is handled exactly as a `role_event` signal would be.
    """

    events: Annotated[list[RoleEvent], Field(max_length=MAX_REPORTS_PER_BATCH)] = []


class PlanSkillWaiver(BaseModel):
    """A skill the Lead waived for this plan (for one role, or every role when `role` is null)."""

    skill: Name
    role: Name | None = None
    reason: Reason
    approved_by: Short


class PlanDirective(BaseModel):
    """Signal `plan_directive`: what the plan requires of one of its role sessions now."""

    skill_waivers: Annotated[list[PlanSkillWaiver], Field(max_length=100)] = []
    budget_warning: Short | None = None
    budget_refusal: Short | None = None
    version: int = 0
    # The plan takes several reports in one `role_events` signal (plans since patch
    # `plan-v2`); sessions send older plans one `role_event` per report.
    takes_role_events: bool = False


class FindingsEvidence(BaseModel):
    """What an artifact's reply submitted to the plan, and what was skipped and why."""

    submitted: Annotated[list[Short], Field(max_length=50)] = []  # "severity: title" of each finding taken
    skipped: Annotated[list[SkippedItem], Field(max_length=50)] = []
    reviews: int = 0
    dispatch: int = 0
    revalidations: int = 0
