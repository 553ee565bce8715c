"""The role's conversational memory: recent turns verbatim, older ones folded into a summary.

Pure and deterministic, so the workflow can decide on every replay exactly as it did live.
"""

from __future__ import annotations

from roleteam.constants import estimate_tokens
from roleteam.models import Turn


def turn_tokens(turn: Turn) -> int:
    return estimate_tokens(turn.prompt) + estimate_tokens(turn.reply)


def context_tokens(summary: str, turns: list[Turn]) -> int:
    return estimate_tokens(summary) + sum(turn_tokens(t) for t in turns)


def turns_to_fold(turns: list[Turn], budget: int) -> int:
    """How many of the oldest turns to fold into the summary, or 0 while within budget.

    Once over budget, fold down to half of it so compaction runs now and then, not every turn.
    """
    total = sum(turn_tokens(t) for t in turns)
    if total <= budget:
        return 0
    target = budget // 2
    folded = 0
    for turn in turns:
        if total <= target:
            break
        total -= turn_tokens(turn)
        folded += 1
    return folded


def fallback_summary(previous: str, folded: list[Turn], max_tokens: int) -> str:
    """A mechanical summary used when the summarisation activity fails, so context stays bounded."""
    note = f"[turns {folded[0].turn}-{folded[-1].turn} omitted: summarisation failed]"
    return clip_tail(f"{previous}\n{note}".strip(), max_tokens)


def clip_tail(text: str, max_tokens: int) -> str:
    """Keep the newest part of a text within a token cap."""
    max_chars = max_tokens * 4
    return text if len(text) <= max_chars else "…" + text[-(max_chars - 1) :]
