"""Printing plans for people: roster, findings, gate and action results."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table

from roleteam.plan_models import Finding, Gate, PlanActionResult, PlanState
from roleteam.timefmt import format_time


def when(value) -> str:
    """Timestamps one way everywhere (roleteam.timefmt), or '-' when there is none."""
    return format_time(value) if value else "-"


def gate_text(gate: Gate) -> str:
    if gate.can_complete:
        return "gate: open — the plan can complete"
    lines = [f"gate: blocked ({len(gate.blockers)})"]
    lines += [f"  {b.kind:12} {b.subject:24} {b.reason}" for b in gate.blockers]
    return "\n".join(lines)


def findings_table(findings: list[Finding], title: str = "findings") -> Table:
    table = Table(title=title)
    for column in ("id", "severity", "status", "review", "raised by", "assignee", "rounds", "title"):
        table.add_column(column)
    for f in findings:
        table.add_row(
            f.id, f.severity, f.status, f.review, f.raised_by, f.assignee or "-", str(f.rounds), f.title[:70]
        )
    return table


def plan_text(state: PlanState) -> Group:
    roster = Table(title=f"plan {state.plan_id} · team {state.team} · {state.status}")
    for column in (
        "role",
        "required",
        "planned mode",
        "status",
        "gen",
        "turns",
        "compliance",
        "tokens",
        "last",
    ):
        roster.add_column(column)
    for entry in state.roster:
        roster.add_row(
            entry.role,
            "yes" if entry.required else "",
            entry.planned_mode or "-",
            entry.status.replace("_", " "),
            str(entry.generation or "-"),
            str(entry.turns),
            entry.compliance or "-",
            str(entry.tokens_used),
            when(entry.last_activity_at),
        )
    parts: list = [roster]
    if state.status_reason:
        parts.append(f"status: {state.status} — {state.status_reason}")
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(state.findings_by_status.items()))
    parts.append(f"findings: {counts or 'none'}")
    budgets = [
        f"{b.scope} {b.used}/{b.limit} ({b.state})"
        if b.limit is not None
        else f"{b.scope} {b.used} (no limit)"
        for b in state.budgets
        if b.limit is not None or b.used
    ]
    parts.append("budgets: " + ("; ".join(budgets) or "none set"))
    if state.waivers:
        parts.append(
            "waivers: "
            + "; ".join(
                f"{w.kind} {w.name}{' for ' + w.role if w.role else ''} ({w.reason})" for w in state.waivers
            )
        )
    if state.mode_mismatch_total:
        shown = ", ".join(
            f"{m.role} ran {m.actual} (planned {m.planned})" for m in state.mode_mismatches[-5:]
        )
        parts.append(f"mode mismatches: {state.mode_mismatch_total} — {shown}")
    parts.append(
        f"lineage: {state.lineage.total} invocations ("
        + ", ".join(f"{n} {s}" for s, n in sorted(state.lineage.by_status.items()))
        + ")"
    )
    parts.append(gate_text(state.gate))
    return Group(*parts)


def finding_text(finding: Finding) -> str:
    lines = [
        f"{finding.id} · {finding.severity} · {finding.status} (review {finding.review})",
        f"title: {finding.title}",
        f"raised by {finding.raised_by} in {finding.invocation_id}"
        + (f" (source id {finding.source_id})" if finding.source_id else ""),
        f"description: {finding.description}",
    ]
    if finding.evidence:
        lines.append(f"evidence: {finding.evidence}")
    if finding.files:
        lines.append("files: " + ", ".join(finding.files))
    if finding.assignee:
        lines.append(f"assignee: {finding.assignee}, rounds {finding.rounds}")
    lines.append("history:")
    for t in finding.history:
        reason = f" — {t.reason}" if t.reason else ""
        lines.append(f"  {when(t.at)} {t.by}: {t.action} → {t.to_status}{reason}")
    return "\n".join(lines)


def action_text(result: PlanActionResult) -> str:
    return f"{result.message}\n{gate_text(result.gate)}" if result.gate else result.message
