"""Activity `load_role_brief`: read the role's policy and skills fresh for every invocation.

Reading here, not in the workflow, is what lets a policy or SKILL.md edit take effect at the next
invocation without a restart, while each run's history records exactly what was used (the
skills' sha256 in the evidence), so a running workflow never turns non-deterministic.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.constants import ACTIVITY_LOAD_ROLE_BRIEF, MAX_ACTIVITY_INPUT_BYTES, POLICY_ERROR
from roleteam.errors import RoleteamError
from roleteam.models import RoleBrief, RoleBriefInput
from roleteam.registry import load_role_registry
from roleteam.skills import SkillPolicy, SkillRequest, Waiver, load_skill_policy, resolve_skills, skill_roots


@activity.defn(name=ACTIVITY_LOAD_ROLE_BRIEF)
def load_role_brief(request: RoleBriefInput) -> RoleBrief:
    """Synchronous: file reads, YAML and regex matching run in the worker's thread pool, never
    on the event loop that serves every other role's workflows and activities."""
    try:
        registry = load_role_registry()
        spec = registry.resolve(request.role)
        if spec.id != request.role:
            # An alias in the workflow id would give one (plan, role) a second, separate memory.
            raise RoleteamError(
                f"session role {request.role!r} is not a canonical role id; start the session "
                f"as role {spec.id!r} with workflow id 'role:{request.plan_id}:{spec.id}'"
            )
        policy = with_plan_waivers(load_skill_policy(registry=registry), request)
    except RoleteamError as err:
        raise ApplicationError(str(err), type=POLICY_ERROR, non_retryable=True) from None
    resolved = resolve_skills(
        policy,
        spec.id,
        SkillRequest(
            prompt=request.prompt, domains=request.domains, files=request.files, plan_id=request.plan_id
        ),
        skill_roots(),
    )
    system_prompt = spec.system_prompt()
    if resolved.prompt_section:
        system_prompt += "\n\n" + resolved.prompt_section
    brief = RoleBrief(
        role=spec.id,
        title=spec.title,
        system_prompt=system_prompt,
        allowed_modes=spec.execution_modes.allowed,
        model=spec.model,
        policy_version=registry.version,
        policy_sha256=registry.sha256,
        skill_policy_version=policy.version,
        skill_policy_sha256=policy.sha256,
        skills=resolved.evidence,
    )
    size = len(brief.model_dump_json().encode())
    if size > MAX_ACTIVITY_INPUT_BYTES:
        raise ApplicationError(
            f"role brief for {spec.id!r} is {size} bytes, over the {MAX_ACTIVITY_INPUT_BYTES}-byte "
            "limit: shorten the role's system prompt or skills",
            type=POLICY_ERROR,
            non_retryable=True,
        )
    return brief


def with_plan_waivers(policy: SkillPolicy, request: RoleBriefInput) -> SkillPolicy:
    """The policy plus the skill waivers the plan's Lead granted, scoped to this plan.

    They show in the evidence like the policy file's own waivers (compliance `waived`).
    """
    granted = [
        Waiver.model_construct(
            role=request.role, skill=w.skill, reason=w.reason, approved_by="lead", plan=request.plan_id
        )
        for w in request.plan_waivers
        if w.role in (None, request.role)
    ]
    if not granted:
        return policy
    return policy.model_copy(update={"waivers": [*granted, *policy.waivers]})
