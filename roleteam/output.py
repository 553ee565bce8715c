"""Printing for the CLI: JSON for scripts, compact human text otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from roleteam.timefmt import format_time

# Control characters a prompt, reply or error may carry that a terminal would act on (ESC
# sequences clear screens and retitle windows; bidi overrides reorder what is shown). Newlines
# and tabs stay; everything else is shown as a visible escape.
_NEUTRALISE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x00, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0x200E,
        0x200F,
        0x061C,
    )
    if code not in (0x09, 0x0A)
}


def neutralise(text: str) -> str:
    """`text` safe for a terminal: control characters become visible escapes like `\\x1b`."""
    return text.translate(_NEUTRALISE)


class SafeConsole(Console):
    """A rich Console whose printed strings never carry terminal control sequences (JSON output
    goes through `print_json`, which stays exact)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(neutralise(o) if isinstance(o, str) else o for o in objects), **kwargs)


# Piped output keeps whole lines (and wide tables) so scripts and logs can read them.
console = SafeConsole(
    highlight=False, markup=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200
)
err_console = SafeConsole(stderr=True, highlight=False, markup=False, soft_wrap=True)


def print_error(message: str) -> None:
    """One line on stderr, never wrapped: what went wrong and how to fix it."""
    print(f"error: {neutralise(' '.join(message.split()))}", file=sys.stderr, flush=True)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def print_json_line(value: Any) -> None:
    """One JSON object on one line, flushed: for streams a script reads line by line."""
    print(json.dumps(to_jsonable(value), ensure_ascii=False), flush=True)


def print_json(value: Any) -> None:
    print(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False), flush=True)


def artifact_text(artifact) -> str:
    head = (
        f"{artifact.role} · {artifact.invocation_id} · {artifact.status}"
        f" · turn {artifact.turn if artifact.turn is not None else '-'}"
        f" · gen {artifact.generation} · {artifact.duration_ms} ms"
    )
    if artifact.status == "completed":
        body = artifact.reply or ""
        extra = f"\n[{artifact.provider}/{artifact.model}, {artifact.usage.total_tokens} tokens]"
    elif artifact.status == "failed":
        body, extra = f"error: {artifact.error}", ""
    else:
        body, extra = f"refused: {artifact.reason}", ""
    if artifact.skills and artifact.status != "refused":  # a refused one loaded nothing for the model
        loaded = ", ".join(s.name for s in artifact.skills.loaded) or "none"
        missing = ", ".join(m.name for m in artifact.skills.missing)
        extra += f"\n[skills {artifact.skills.compliance}: loaded {loaded}"
        extra += f"; missing {missing}]" if missing else "]"
    return f"{head}\n{body}{extra}"


def status_table(
    plan_id: str,
    states: dict,
    titles: dict[str, str] | None = None,
    running: dict[str, str] | None = None,
) -> Table:
    """One row per role: who it is, its state, and what it does right now."""
    titles, running = titles or {}, running or {}
    table = Table(title=f"plan {plan_id}", title_justify="left")
    columns = ("role", "title", "status", "gen", "turns", "compliance", "tokens", "last activity", "now")
    for column in columns:
        table.add_column(column, justify="right" if column in ("gen", "turns", "tokens") else "left")
    for role, state in states.items():
        title = (state.title if state else None) or titles.get(role, "")
        if state is None:
            table.add_row(role, title, "not started", "", "", "", "", "", "")
            continue
        now = running.get(role) or ("idle" if not state.pending else "")
        if state.pending:
            queued = f"{state.pending} queued"
            now = f"{now}; {queued}" if now else queued
        last = "-"
        if state.last_activity_at:
            last = format_time(state.last_activity_at)
            if state.last_outcome:
                last += f" {state.last_outcome.split(':', 1)[0]}"
        cells = (
            role,
            title,
            state.status,
            str(state.generation),
            str(state.turns),
            state.compliance or "-",
            str(state.tokens),
            last,
            now,
        )
        table.add_row(*(neutralise(cell) for cell in cells))
    return table
