"""The findings ledger of a plan: ingestion, Lead review, dispatch, revalidation, escalation.

Pure and deterministic (used by the Plan workflow; time is passed in). Every transition is kept
in the finding's history. Nothing here invokes a role by itself: a finding reaches a role only
through `dispatch` of an accepted finding (the Lead's decision) or a `clarify` question, both of
which put an `OutboxItem` in the plan's outbox for the workflow to deliver.

A request that makes no sense raises `Refusal` with a message naming the finding and what can
be done instead; the workflow turns it into a rejected update.
"""

from __future__ import annotations

from datetime import datetime

import roleteam.constants as c
from roleteam.models import InvokeInput
from roleteam.plan_models import (
    CLOSED_STATUSES,
    Finding,
    FindingTransition,
    OutboxItem,
    PlanCarried,
    RemediationPacket,
    RevalidateInput,
    ReviewInput,
)
from roleteam.report_models import (
    SubmittedFinding,
)
from roleteam.workflows.carry import payload_bytes

ACCEPTABLE_FROM = ("open", "clarifying", "deferred", "escalated")
REJECTABLE_FROM = ("open", "clarifying", "deferred", "escalated", "accepted")
DEFERRABLE_FROM = ("open", "clarifying", "accepted", "escalated")
CLARIFIABLE_FROM = ("open", "deferred")


class Refusal(Exception):
    """A request the ledger refuses; the message says why and what to do instead."""


def severity_rank(severity: str) -> int:
    """0 for critical … 4 for info."""
    return c.SEVERITIES.index(severity)


def find(state: PlanCarried, finding_id: str) -> Finding:
    for finding in state.findings:
        if finding.id == finding_id:
            return finding
    evicted = (
        f" ({state.evicted_findings} closed findings have left the live ledger)"
        if state.evicted_findings
        else ""
    )
    raise Refusal(f"no finding {finding_id!r} in this plan{evicted}; list them with 'roleteam plan findings'")


def _move(
    finding: Finding, now: datetime, by: str, action: str, to: str, reason: str = "", invocation_id=None
) -> None:
    finding.history.append(
        FindingTransition(
            at=now,
            by=by[: c.MAX_REQUESTED_BY_CHARS],
            action=action,
            from_status=finding.status,
            to_status=to,
            reason=reason[: c.MAX_REASON_CHARS],
            invocation_id=invocation_id,
        )
    )
    del finding.history[: -c.MAX_FINDING_HISTORY]
    finding.status = to
    finding.updated_at = now


# --- ingestion --------------------------------------------------------------------------------


def ingest(
    state: PlanCarried, role: str, invocation_id: str, submitted: SubmittedFinding, now: datetime
) -> tuple[str | None, str]:
    """Record one submitted finding; returns (finding id or None, note for the lineage)."""
    key = f"{role}:{submitted.source_id}" if submitted.source_id else None
    if key and key in state.source_index:
        existing_id = state.source_index[key]
        existing = next((f for f in state.findings if f.id == existing_id), None)
        if existing is not None:
            existing.repeats += 1
            _move(existing, now, role, "reported again", existing.status, invocation_id=invocation_id)
        return existing_id, f"{existing_id} reported again (source id {submitted.source_id!r})"
    finding = Finding(
        id=f"F-{state.next_finding:04d}",
        source_id=submitted.source_id,
        title=submitted.title,
        description=submitted.description,
        severity=submitted.severity,
        evidence=submitted.evidence,
        files=submitted.files,
        raised_by=role,
        invocation_id=invocation_id,
        created_at=now,
        updated_at=now,
    )
    finding.history.append(
        FindingTransition(at=now, by=role, action="reported", to_status="open", invocation_id=invocation_id)
    )
    size = payload_bytes(finding)
    if not _make_room(state, size):
        return None, (
            f"finding {submitted.title[:60]!r} not recorded: the plan's ledger is full "
            f"({len(state.findings)} open findings); decide or close findings first"
        )
    state.next_finding += 1
    state.findings.append(finding)
    if key:
        state.source_index[key] = finding.id
        while len(state.source_index) > c.PLAN_SOURCE_INDEX:
            del state.source_index[next(iter(state.source_index))]
    return finding.id, f"{finding.id} recorded ({finding.severity})"


def _make_room(state: PlanCarried, size: int) -> bool:
    """Evict closed findings, oldest first, until `size` more bytes fit the ledger."""
    total = sum(payload_bytes(f) for f in state.findings)
    while total + size > c.MAX_FINDINGS_LEDGER_BYTES:
        closed = next((f for f in state.findings if f.status in CLOSED_STATUSES), None)
        if closed is None:
            return False
        total -= payload_bytes(closed)
        state.findings.remove(closed)
        state.evicted_findings += 1
    return True


# --- Lead review -----------------------------------------------------------------------------


def review(state: PlanCarried, request: ReviewInput, now: datetime, roles: set[str]) -> Finding:
    """Apply a Lead decision; refuses a transition that makes no sense."""
    finding = find(state, request.finding_id)
    reason = request.reason.strip()
    if not reason:
        raise Refusal(f"review of {finding.id}: give a reason (it is kept in the finding's history)")
    if finding.status == "escalated" and request.source != "person":
        raise Refusal(
            f"{finding.id} is escalated after {finding.rounds} remediation rounds and waits for a "
            "person's decision ('roleteam plan review'), not the lead role's"
        )
    allowed = {
        "accept": ACCEPTABLE_FROM,
        "reject": REJECTABLE_FROM,
        "defer": DEFERRABLE_FROM,
        "clarify": CLARIFIABLE_FROM,
    }[request.decision]
    if finding.status not in allowed:
        raise Refusal(
            f"cannot {request.decision} {finding.id}: it is {finding.status}; "
            f"{request.decision} applies to findings that are {', '.join(allowed)}"
        )
    by = f"{request.by} ({request.source})"
    if request.decision == "accept":
        assignee = request.assign or finding.assignee or state.template.default_assignee
        if assignee not in roles:
            raise Refusal(
                f"accept {finding.id}: cannot assign to {assignee!r}; use one of {', '.join(sorted(roles))}"
            )
        finding.assignee = assignee
        finding.review = "accepted"
        finding.packet = RemediationPacket(assignee=assignee, instructions=reason, round=finding.rounds)
        _move(finding, now, by, "accepted", "accepted", f"assigned to {assignee}: {reason}")
    elif request.decision == "reject":
        finding.review = "rejected"
        _move(finding, now, by, "rejected", "rejected", reason)
    elif request.decision == "defer":
        finding.review = "deferred"
        _move(finding, now, by, "deferred", "deferred", reason)
    else:
        finding.review = "clarify"
        finding.clarifications += 1
        invocation_id = c.clarify_invocation_id(finding.id, finding.clarifications)
        finding.awaiting_invocation = invocation_id
        _move(finding, now, by, "clarification asked", "clarifying", reason, invocation_id)
        _queue_invoke(state, finding.raised_by, invocation_id, clarify_prompt(finding, reason), request.by)
    return finding


def dispatch(state: PlanCarried, finding_id: str, by: str, now: datetime) -> Finding:
    """Send an accepted finding's remediation packet to its assignee, under a derived id."""
    finding = find(state, finding_id)
    if finding.status == "in_remediation":
        raise Refusal(
            f"{finding.id} is already dispatched (invocation {finding.awaiting_invocation}); "
            "it never runs twice"
        )
    if finding.status == "awaiting_revalidation":
        raise Refusal(
            f"{finding.id} was already dispatched as {finding.packet.invocation_id} and its fix awaits "
            "revalidation; it never runs twice"
        )
    if finding.status != "accepted" or finding.packet is None:
        raise Refusal(f"cannot dispatch {finding.id}: it is {finding.status}; the Lead must accept it first")
    finding.rounds += 1
    invocation_id = c.fix_invocation_id(finding.id, finding.rounds)
    finding.packet.round = finding.rounds
    finding.packet.invocation_id = invocation_id
    finding.awaiting_invocation = invocation_id
    _move(
        finding,
        now,
        by,
        "dispatched",
        "in_remediation",
        f"round {finding.rounds} to {finding.assignee}",
        invocation_id,
    )
    _queue_invoke(state, finding.packet.assignee, invocation_id, remediation_prompt(state, finding), by)
    return finding


def revalidators(state: PlanCarried, finding: Finding) -> list[str]:
    return list(state.template.revalidators) or [finding.raised_by]


def revalidate(state: PlanCarried, request: RevalidateInput, now: datetime) -> Finding:
    """Close a remediated finding or send it back to the Lead; only its revalidators may."""
    finding = find(state, request.finding_id)
    allowed = revalidators(state, finding)
    if request.by not in allowed:
        raise Refusal(
            f"{request.by!r} cannot revalidate {finding.id}: only {', '.join(allowed)} may "
            "(the template's revalidators, or the role that raised it)"
        )
    if finding.status != "awaiting_revalidation":
        raise Refusal(f"cannot revalidate {finding.id}: it is {finding.status}, not awaiting_revalidation")
    if request.verdict == "resolved":
        _move(finding, now, request.by, "revalidated: resolved", "resolved", request.reason)
    elif finding.rounds >= state.template.max_remediation_rounds:
        _move(
            finding,
            now,
            request.by,
            "revalidated: not resolved",
            "escalated",
            f"{request.reason} (after {finding.rounds} of {state.template.max_remediation_rounds} "
            "rounds: a person must decide)".strip(),
        )
        finding.review = "pending"
    else:
        finding.review = "pending"
        _move(finding, now, request.by, "revalidated: not resolved", "open", request.reason)
    finding.awaiting_invocation = None
    return finding


def on_artifact(
    state: PlanCarried, invocation_id: str, status: str, reply_gist: str, now: datetime
) -> str | None:
    """Advance the finding that was waiting for this invocation, if any; returns a lineage note."""
    finding = next((f for f in state.findings if f.awaiting_invocation == invocation_id), None)
    if finding is None:
        return None
    if finding.status == "in_remediation":
        if status == "completed":
            _move(finding, now, "plan", "fix delivered", "awaiting_revalidation", "", invocation_id)
            return f"{finding.id} awaits revalidation by {', '.join(revalidators(state, finding))}"
        finding.awaiting_invocation = None
        _move(
            finding,
            now,
            "plan",
            "fix not delivered",
            "accepted",
            f"the fix invocation was {status}: {reply_gist}",
            invocation_id,
        )
        return f"{finding.id} back to accepted: fix invocation {status}"
    if finding.status == "clarifying":
        finding.awaiting_invocation = None
        finding.review = "pending"
        _move(finding, now, finding.raised_by, "clarified", "open", reply_gist, invocation_id)
        return f"{finding.id} clarified; back to the Lead"
    return None


# --- what roles are sent ---------------------------------------------------------------------


def _queue_invoke(state: PlanCarried, role: str, invocation_id: str, prompt: str, by: str) -> None:
    state.outbox.append(
        OutboxItem(
            role=role,
            kind="invoke",
            invoke=InvokeInput(invocation_id=invocation_id, prompt=prompt, requested_by=f"plan:{by}"[:200]),
        )
    )


def remediation_prompt(state: PlanCarried, finding: Finding) -> str:
    """The remediation packet as the assignee reads it: the finding, its evidence, the Lead's words."""
    lines = [
        f"Remediate finding {finding.id} ({finding.severity}), accepted by the Lead "
        f"(round {finding.rounds} of {state.template.max_remediation_rounds}).",
        f"Title: {finding.title}",
        f"Reported by: {finding.raised_by} (invocation {finding.invocation_id})",
        "",
        "Description:",
        finding.description,
    ]
    if finding.evidence:
        lines += ["", "Evidence:", finding.evidence]
    if finding.files:
        lines += ["", "Files: " + ", ".join(finding.files)]
    if finding.packet and finding.packet.instructions:
        lines += ["", "Lead's instructions:", finding.packet.instructions]
    lines += [
        "",
        f"Fix only this finding, then report what changed and how it was checked. "
        f"{', '.join(revalidators(state, finding))} will revalidate it.",
    ]
    return "\n".join(lines)


def clarify_prompt(finding: Finding, question: str) -> str:
    return "\n".join(
        [
            f"The Lead asks for clarification of finding {finding.id} you reported: {finding.title}",
            "",
            f"Question: {question}",
            "",
            "Answer the question; do not remediate the finding.",
        ]
    )
