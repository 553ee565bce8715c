"""Turn a bounded model-call input into chat messages, the same way for every provider."""

from __future__ import annotations

from roleteam.models import ModelCallInput, SummarizeInput


def chat_messages(call: ModelCallInput) -> list[dict[str, str]]:
    system = call.system_prompt
    if call.summary:
        system += f"\n\nSummary of your earlier turns on this plan:\n{call.summary}"
    messages = [{"role": "system", "content": system}]
    for turn in call.recent_turns:
        messages.append({"role": "user", "content": turn.prompt})
        messages.append({"role": "assistant", "content": turn.reply})
    messages.append({"role": "user", "content": call.prompt})
    return messages


def summary_messages(request: SummarizeInput) -> list[dict[str, str]]:
    transcript = "\n\n".join(
        f"Turn {t.turn} ({t.invocation_id})\nRequest: {t.prompt}\nReply: {t.reply}" for t in request.turns
    )
    return [
        {
            "role": "system",
            "content": (
                f"You keep the working memory of the {request.role} role. Merge the earlier summary "
                "and the turns below into one summary of decisions, facts, open questions and "
                f"commitments. At most {request.max_tokens * 3 // 4} words."
            ),
        },
        {
            "role": "user",
            "content": (f"Earlier summary:\n{request.previous_summary or '(none)'}\n\nTurns:\n{transcript}"),
        },
    ]
