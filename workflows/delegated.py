"""DelegatedRun: a one-off run of a role, with its prompt and skills and no persistent memory.

Started as a child by the role's session for an invocation in mode `delegated`; the session
records its artifact (and so the plan's lineage) like any other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import roleteam.constants as c
    from roleteam.models import ModelCallInput, ModelReply, RoleBrief, RoleBriefInput
    from roleteam.plan_models import DelegatedInput, DelegatedResult
    from roleteam.workflows.carry import payload_bytes
    from roleteam.workflows.wire import parse_wire, root_cause


@workflow.defn(name=c.DELEGATED_WORKFLOW_TYPE)
class DelegatedRun:
    @workflow.run
    async def run(self, raw: Any) -> DelegatedResult:
        """Load the role's brief, check the mode is allowed, call the model once."""
        given = parse_wire(DelegatedInput, raw)
        if isinstance(given, str):
            raise ApplicationError(given, type=c.INVALID_DELEGATED_INPUT_ERROR, non_retryable=True)
        request = given.request
        try:
            brief = await workflow.execute_activity(
                c.ACTIVITY_LOAD_ROLE_BRIEF,
                RoleBriefInput(
                    plan_id=given.plan_id,
                    role=given.role,
                    invocation_id=request.invocation_id,
                    prompt=request.prompt,
                    domains=request.domains,
                    files=request.files,
                    plan_waivers=given.skill_waivers,
                ),
                result_type=RoleBrief,
                summary=f"{request.invocation_id} · {given.role} · delegated",
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=[c.POLICY_ERROR]),
            )
        except ActivityError as err:
            return DelegatedResult(
                status="refused", reason=f"role policy could not be loaded: {root_cause(err)}"
            )
        if "delegated" not in brief.allowed_modes:
            return DelegatedResult(
                status="refused",
                skills=brief.skills,
                reason=(
                    f"mode 'delegated' is not allowed for role {brief.role!r}; "
                    f"allowed: {', '.join(brief.allowed_modes)}"
                ),
            )
        call = ModelCallInput(
            plan_id=given.plan_id,
            role=given.role,
            invocation_id=request.invocation_id,
            turn=0,
            system_prompt=brief.system_prompt,
            prompt=request.prompt,
            model=brief.model,
        )
        if payload_bytes(call) > c.MAX_ACTIVITY_INPUT_BYTES:
            return DelegatedResult(
                status="failed", skills=brief.skills, error="model input over the payload limit"
            )
        options = given.options
        try:
            reply = await workflow.execute_activity(
                c.ACTIVITY_CALL_MODEL,
                call,
                result_type=ModelReply,
                summary=f"{request.invocation_id} · {given.role} · {brief.model or 'default model'}",
                start_to_close_timeout=timedelta(seconds=options.model_timeout_seconds),
                heartbeat_timeout=timedelta(seconds=options.model_heartbeat_timeout_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=60),
                    maximum_attempts=options.model_max_attempts,
                ),
            )
        except ActivityError as err:
            return DelegatedResult(
                status="failed", skills=brief.skills, error=root_cause(err)[: c.MAX_ERROR_CHARS]
            )
        return DelegatedResult(
            status="completed",
            reply=reply.reply,
            reply_truncated=reply.truncated,
            provider=reply.provider,
            model=reply.model,
            usage_prompt_tokens=reply.usage.prompt_tokens,
            usage_completion_tokens=reply.usage.completion_tokens,
            skills=brief.skills,
        )
