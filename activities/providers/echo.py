"""The `echo` provider: deterministic and offline, for the demo and tests.

Its reply contains the prompt verbatim and says what context it was given, so a test can see that
history replay and compaction really reached the model.
"""

from __future__ import annotations

from roleteam.constants import estimate_tokens
from roleteam.models import ModelCallInput, SummarizeInput, TokenUsage

ECHO_MODEL = "echo-1"


def echo_reply(call: ModelCallInput, messages: list[dict[str, str]]) -> tuple[str, TokenUsage]:
    reply = (
        f"[{call.role} · turn {call.turn}] Received: {call.prompt}\n"
        f"(context: {len(call.recent_turns)} earlier turns verbatim, "
        f"summary of {len(call.summary)} chars)"
    )
    prompt_tokens = sum(estimate_tokens(m["content"]) for m in messages)
    completion = estimate_tokens(reply)
    return reply, TokenUsage(
        prompt_tokens=prompt_tokens, completion_tokens=completion, total_tokens=prompt_tokens + completion
    )


def echo_summary(request: SummarizeInput) -> str:
    lines = [request.previous_summary] if request.previous_summary else []
    for turn in request.turns:
        lines.append(
            f"- turn {turn.turn} ({turn.invocation_id}): asked {_gist(turn.prompt)}; "
            f"replied {_gist(turn.reply)}"
        )
    return "\n".join(lines)


def _gist(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
