"""What the Temporal Web UI shows of a role session: details markdown and activity summaries.

Pure functions of the session state (deterministic, no I/O), so the workflow can call them on
every state change.
"""

from __future__ import annotations

from roleteam.models import CarriedState
from roleteam.timefmt import format_time

# The UI shows a summary on one line; details stay a short page.
MAX_SUMMARY_CHARS = 200
MAX_QUEUE_SHOWN = 5
MAX_OUTCOME_CHARS = 200


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def activity_summary(*parts: object) -> str:
    """`inv-42 · turn 17 · gpt-4o-mini`: one line, bounded.

    The Web UI shows it after the activity type (`call_model • inv-42 · turn 17 · gpt-4o-mini`),
    so the type is not repeated here.
    """
    return clip(" · ".join(str(p) for p in parts if p not in (None, "")), MAX_SUMMARY_CHARS)


def outcome(status: str, detail: str | None) -> str:
    """The last invocation's outcome in a few words: `completed`, `refused: queue is full …`."""
    return clip(f"{status}: {detail}" if detail else status, MAX_OUTCOME_CHARS)


def details_markdown(
    plan_id: str,
    role: str,
    state: CarriedState,
    running: str | None,
    phase: str | None,
) -> str:
    """Current details of the session as markdown: what an operator checks first."""
    title = state.title or role
    lines = [
        f"**{title}** (`{role}`) · plan `{plan_id}`",
        "",
        f"- **status:** {state.status} · generation {state.generation}",
        f"- **turns:** {state.turns} · runs {state.runs} · tokens {state.tokens}",
        f"- **skill compliance:** {state.compliance or '-'}",
    ]
    if running:
        lines.append(f"- **running:** `{running}` ({phase or 'starting'})")
    else:
        lines.append("- **running:** nothing")
    pending = state.pending
    if pending:
        shown = ", ".join(f"`{p.invocation_id}`" for p in pending[:MAX_QUEUE_SHOWN])
        more = f" and {len(pending) - MAX_QUEUE_SHOWN} more" if len(pending) > MAX_QUEUE_SHOWN else ""
        lines.append(f"- **queue:** {len(pending)} waiting: {shown}{more}")
    else:
        lines.append("- **queue:** empty")
    if state.last_invocation_id:
        lines.append(
            f"- **last invocation:** `{state.last_invocation_id}` {state.last_outcome or ''}"
            f" at {format_time(state.last_activity_at)}"
        )
    if state.lifecycle:
        last = state.lifecycle[-1]
        lines.append(f"- **last {last.action}:** {format_time(last.at)}: {clip(last.reason, 120)}")
    return "\n".join(lines)
