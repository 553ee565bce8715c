"""Applying a role session's report to the plan: roster, lineage, budgets, findings, decisions.

Pure and deterministic (used by the Plan workflow; time is passed in). A reply's findings are
taken only from the template's reporting roles, its reviews and dispatches only from the Lead
role, its revalidations only from the finding's revalidators; whatever is not taken is noted in
the invocation's lineage entry with the reason.
"""

from __future__ import annotations

from datetime import datetime

from roleteam.plan_models import (
    DispatchInput,
    OutboxItem,
    PlanCarried,
    RevalidateInput,
    ReviewInput,
)
from roleteam.report_models import (
    LineageEntry,
    RoleEvent,
)
from roleteam.workflows import plan_findings as ledger
from roleteam.workflows import plan_team as team

MAX_NOTES = 20


def apply_role_event(
    state: PlanCarried, event: RoleEvent, roles: set[str], now: datetime, takes_batches: bool = False
) -> None:
    """Fold one `role_event` into the plan's state (`takes_batches`: see queue_directives)."""
    was_started = event.role in state.roster and state.roster[event.role].status != "not_started"
    team.apply_snapshot(state, event)
    if not was_started or event.kind != "artifact":
        _keep_role_in_line(state, event.role)
    if event.kind == "artifact" and event.entry is not None:
        if team.seen_before(state, event.role, event.entry.invocation_id):
            return
        _apply_artifact(state, event, roles, now)
    team.queue_directives(state, now, None if event.kind == "artifact" else [event.role], takes_batches)


def _keep_role_in_line(state: PlanCarried, role: str) -> None:
    """A role that reports active while the plan is halted or completed is retired again."""
    entry = state.roster[role]
    if entry.status != "active" or state.status == "active":
        return
    reason = "plan completed" if state.status == "completed" else f"plan halted: {state.status_reason}"
    if not any(o.role == role and o.kind == "retire" for o in state.outbox):
        state.outbox.append(OutboxItem(role=role, kind="retire", reason=reason))


def _apply_artifact(state: PlanCarried, event: RoleEvent, roles: set[str], now: datetime) -> None:
    line: LineageEntry = event.entry.model_copy(update={"finding_ids": [], "notes": []})
    roster = state.roster[event.role]
    roster.invocations += 1
    if line.status == "completed":
        roster.completed += 1
    roster.last_invocation_id = line.invocation_id
    roster.tokens_used += max(line.tokens, 0)
    team.add_usage(state, event.role, line.tokens)
    team.note_mode(state, line)
    notes: list[str] = []
    advanced = ledger.on_artifact(
        state, line.invocation_id, line.status, event.excerpt or line.reason or "", now
    )
    if advanced:
        notes.append(advanced)
    if event.reply is not None and line.status == "completed":
        notes += _apply_reply(state, event, line, roles, now)
    line.notes = [n[:300] for n in notes[:MAX_NOTES]]
    team.record_lineage(state, line)


def _apply_reply(
    state: PlanCarried, event: RoleEvent, line: LineageEntry, roles: set[str], now: datetime
) -> list[str]:
    reply = event.reply
    role = event.role
    notes: list[str] = []
    if reply.findings:
        if role in state.template.reporters:
            for submitted in reply.findings:
                finding_id, note = ledger.ingest(state, role, line.invocation_id, submitted, now)
                if finding_id:
                    line.finding_ids.append(finding_id)
                notes.append(note)
            line.findings_submitted = len(reply.findings)
        else:
            notes.append(
                f"{len(reply.findings)} findings not taken: role {role!r} does not report findings in team "
                f"{state.template.name!r} (reporters: {', '.join(state.template.reporters) or 'none'})"
            )
    if reply.reviews or reply.dispatch:
        if role != state.template.lead:
            notes.append(
                f"reviews and dispatches not taken: only the Lead ({state.template.lead}) decides findings"
            )
        elif state.status == "completed":
            notes.append("reviews and dispatches not taken: the plan is completed")
        else:
            for decision in reply.reviews:
                fields = decision.model_dump()
                fields["reason"] = fields["reason"] or "decided by the lead role (no reason given)"
                request = ReviewInput(**fields, by=role, source="lead-role")
                notes.append(_attempt(lambda r=request: _review(state, r, roles, now)))
            for finding_id in reply.dispatch:
                request = DispatchInput(finding_id=finding_id, by=role, source="lead-role")
                notes.append(
                    _attempt(
                        lambda r=request: (
                            ledger.dispatch(state, r.finding_id, f"{r.by} (lead-role)", now).id
                            + " dispatched"
                        )
                    )
                )
    for verdict in reply.revalidations:
        request = RevalidateInput(
            finding_id=verdict.finding_id, verdict=verdict.verdict, by=role, reason=verdict.reason
        )
        notes.append(_attempt(lambda r=request: f"{ledger.revalidate(state, r, now).id} {r.verdict}"))
    return notes


def _review(state: PlanCarried, request: ReviewInput, roles: set[str], now: datetime) -> str:
    finding = ledger.review(state, request, now, roles)
    if request.dispatch and finding.status == "accepted":
        finding = ledger.dispatch(state, finding.id, f"{request.by} (lead-role)", now)
        return f"{finding.id} accepted and dispatched as {finding.awaiting_invocation}"
    return f"{finding.id} {finding.status}"


def _attempt(action) -> str:
    """Apply one decision from a reply; a refused one becomes a note, never an error."""
    try:
        return action()
    except ledger.Refusal as refusal:
        return f"refused: {refusal}"
