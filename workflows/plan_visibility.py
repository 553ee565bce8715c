"""What an operator sees of a Plan in the Temporal Web UI: current details and search attributes.

Pure and deterministic (used by the Plan workflow).
"""

from __future__ import annotations

from datetime import datetime

from roleteam.plan_models import CLOSED_STATUSES, PlanCarried
from roleteam.workflows import plan_team as team

MAX_FINDINGS_SHOWN = 10


def open_findings(state: PlanCarried) -> int:
    """Findings not closed (resolved or rejected): the `OpenFindings` search attribute."""
    return sum(1 for f in state.findings if f.status not in CLOSED_STATUSES)


def plan_details_markdown(plan_id: str, state: PlanCarried, now: datetime) -> str:
    """Current details of the plan as markdown: team, roster, open findings, gate."""
    gate = team.gate(state, now)
    lines = [
        f"**Plan** `{plan_id}` · team `{state.template.name}` · **{state.status}**"
        + (f" — {state.status_reason}" if state.status_reason else ""),
        "",
        "| role | status | turns | compliance | tokens |",
        "|---|---|---|---|---|",
    ]
    for entry in state.roster.values():
        mark = " (required)" if entry.required else ""
        lines.append(
            f"| {entry.role}{mark} | {entry.status.replace('_', ' ')} | {entry.turns} | "
            f"{entry.compliance or '-'} | {entry.tokens_used} |"
        )
    still_open = [f for f in state.findings if f.status not in CLOSED_STATUSES]
    lines += ["", f"- **open findings:** {len(still_open)}"]
    for finding in still_open[:MAX_FINDINGS_SHOWN]:
        lines.append(f"  - `{finding.id}` {finding.severity} · {finding.status} · {finding.title[:80]}")
    if len(still_open) > MAX_FINDINGS_SHOWN:
        lines.append(f"  - … and {len(still_open) - MAX_FINDINGS_SHOWN} more")
    lines.append(f"- **lineage:** {state.lineage_total} invocations")
    if gate.can_complete:
        lines.append("- **gate:** open")
    else:
        lines.append(
            f"- **gate:** blocked by {len(gate.blockers)}: "
            + ", ".join(f"{b.kind} `{b.subject}`" for b in gate.blockers[:MAX_FINDINGS_SHOWN])
        )
    return "\n".join(lines)
