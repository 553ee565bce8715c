"""Activity `run_turn`: the role's brief and the model call in one round trip.

One activity per invocation instead of `load_role_brief` then `call_model`: a workflow task and
a worker round trip fewer per turn, and the system prompt with its skill text never enters the
workflow's history (only the evidence does: skill names, paths, sha256, compliance). The older
two activities stay registered so histories that scheduled them still replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.activities.brief import load_role_brief
from roleteam.activities.model import call_model
from roleteam.activities.settings import ProviderSettings
from roleteam.constants import ACTIVITY_RUN_TURN, MAX_ACTIVITY_INPUT_BYTES, MODEL_INPUT_TOO_LARGE_ERROR
from roleteam.models import ModelCallInput, RoleBrief, TurnInput, TurnResult


class TurnActivities:
    """Built once per worker; `run_turn` is registered as a bound method.

    `settings` is read at each call (a worker's environment may be set after it is built, as in
    tests); the HTTP client is the worker's one long-lived `AsyncOpenAI` per event loop and
    endpoint (`providers/openai_compat.openai_client`), reused by every call.
    """

    def __init__(self, settings: Callable[[], ProviderSettings] = ProviderSettings.from_env) -> None:
        self._settings = settings

    @activity.defn(name=ACTIVITY_RUN_TURN)
    async def run_turn(self, request: TurnInput) -> TurnResult:
        # File reads, YAML and regex matching run off the event loop that serves every role.
        brief, call = await asyncio.to_thread(_prepare, request)
        result = TurnResult(
            role=brief.role,
            title=brief.title,
            allowed_modes=brief.allowed_modes,
            model=brief.model,
            policy_version=brief.policy_version,
            policy_sha256=brief.policy_sha256,
            skill_policy_version=brief.skill_policy_version,
            skill_policy_sha256=brief.skill_policy_sha256,
            skills=brief.skills,
        )
        if call is None:
            result.refused = (
                f"mode {request.mode!r} is not allowed for role {brief.role!r}; "
                f"allowed: {', '.join(brief.allowed_modes)}"
            )
            return result
        try:
            result.reply = await call_model(call)  # heartbeats, tracing span, reply bound
        except ApplicationError as err:
            # The same failure, with what was loaded as its details, so the session's failed
            # artifact still carries the skill evidence.
            raise ApplicationError(
                err.message,
                result,
                type=err.type,
                non_retryable=err.non_retryable,
                next_retry_delay=err.next_retry_delay,
            ) from None
        return result


def _prepare(request: TurnInput) -> tuple[RoleBrief, ModelCallInput | None]:
    """The brief (PolicyError when the policy cannot be used) and the model input, or None when
    the mode is not allowed."""
    brief = load_role_brief(request.brief)
    if request.mode not in brief.allowed_modes:
        return brief, None
    call = ModelCallInput(
        plan_id=request.brief.plan_id,
        role=request.brief.role,
        invocation_id=request.brief.invocation_id,
        turn=request.turn,
        system_prompt=brief.system_prompt,
        summary=request.summary,
        recent_turns=request.recent_turns,
        prompt=request.brief.prompt,
        model=brief.model,
    )
    size = len(call.model_dump_json().encode())
    if size > MAX_ACTIVITY_INPUT_BYTES:
        raise ApplicationError(
            f"model input would be {size} bytes, over the {MAX_ACTIVITY_INPUT_BYTES}-byte limit: "
            "shorten the prompt or the role's skills",
            type=MODEL_INPUT_TOO_LARGE_ERROR,
            non_retryable=True,
        )
    return brief, call
