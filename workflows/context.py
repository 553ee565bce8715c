"""The role's conversational memory: recent turns verbatim, older ones folded into a summary.

Pure and deterministic, so the workflow can decide on every replay exactly as it did live.
Two bounds hold together: the token budget (what the model should see) and a byte budget on the
JSON the memory takes up in payloads, since JSON escaping can make a text six times larger.
"""

from __future__ import annotations

from json.encoder import encode_basestring

from roleteam.constants import estimate_tokens
from roleteam.models import Turn


def json_bytes(text: str) -> int:
    """Size of a text inside a JSON payload.

    `encode_basestring` is what `json.dumps(text, ensure_ascii=False)` returns for a string,
    without building an encoder on every call (this runs for every recent turn, every turn)."""
    return len(encode_basestring(text).encode())


def turn_tokens(turn: Turn) -> int:
    return estimate_tokens(turn.prompt) + estimate_tokens(turn.reply)


def turn_bytes(turn: Turn) -> int:
    return json_bytes(turn.prompt) + json_bytes(turn.reply) + 100


def context_tokens(summary: str, turns: list[Turn]) -> int:
    return estimate_tokens(summary) + sum(turn_tokens(t) for t in turns)


def turns_to_fold(turns: list[Turn], budget: int, max_bytes: int) -> int:
    """How many of the oldest turns to fold into the summary, or 0 while within both budgets.

    Once over, fold down to half of each so compaction runs now and then, not every turn.
    """
    tokens = sum(turn_tokens(t) for t in turns)
    size = sum(turn_bytes(t) for t in turns)
    if tokens <= budget and size <= max_bytes:
        return 0
    folded = 0
    for turn in turns:
        if tokens <= budget // 2 and size <= max_bytes // 2:
            break
        tokens -= turn_tokens(turn)
        size -= turn_bytes(turn)
        folded += 1
    return folded


def for_summary(turn: Turn, max_chars: int) -> Turn:
    """A turn as the summariser sees it: the gist is enough, so very long texts are cut."""
    return turn.model_copy(
        update={"prompt": clip_head(turn.prompt, max_chars), "reply": clip_head(turn.reply, max_chars)}
    )


def fallback_summary(previous: str, folded: list[Turn], max_tokens: int, max_bytes: int) -> str:
    """A mechanical summary used when the summarisation activity fails, so context stays bounded."""
    note = f"[turns {folded[0].turn}-{folded[-1].turn} omitted: summarisation failed]"
    return clip_tail(f"{previous}\n{note}".strip(), max_tokens, max_bytes)


def clip_head(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def clip_tail(text: str, max_tokens: int, max_bytes: int) -> str:
    """Keep the newest part of a text within a token cap and a JSON byte cap."""
    max_chars = max_tokens * 4
    if len(text) > max_chars:
        text = "…" + text[-(max_chars - 1) :]
    while json_bytes(text) > max_bytes:
        text = "…" + text[-(len(text) // 2) :]
    return text
