"""Activity `load_role_brief`: read the role's policy fresh for every invocation.

Reading here, not in the workflow, is what lets a policy edit take effect at the next
invocation without a restart, while each run's history records exactly what was used.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.constants import ACTIVITY_LOAD_ROLE_BRIEF
from roleteam.errors import RoleteamError
from roleteam.models import RoleBrief, RoleBriefInput
from roleteam.registry import load_role_registry


@activity.defn(name=ACTIVITY_LOAD_ROLE_BRIEF)
async def load_role_brief(request: RoleBriefInput) -> RoleBrief:
    try:
        registry = load_role_registry()
        spec = registry.resolve(request.role)
    except RoleteamError as err:
        raise ApplicationError(str(err), type="PolicyError", non_retryable=True) from None
    return RoleBrief(
        role=spec.id,
        title=spec.title,
        system_prompt=spec.system_prompt(),
        allowed_modes=spec.execution_modes.allowed,
        model=spec.model,
        policy_version=registry.version,
        policy_sha256=registry.sha256,
    )
