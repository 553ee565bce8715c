"""Activity `load_team_template`: read the plan's team template once, when the plan is created."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.constants import ACTIVITY_LOAD_TEAM_TEMPLATE, POLICY_ERROR
from roleteam.errors import RoleteamError
from roleteam.plan_models import TeamRequest, TeamTemplate
from roleteam.teams import load_team_policy


@activity.defn(name=ACTIVITY_LOAD_TEAM_TEMPLATE)
def load_team_template(request: TeamRequest) -> TeamTemplate:
    """The named template (or the policy's default), validated against the role registry."""
    try:
        return load_team_policy().template(request.name)
    except RoleteamError as err:
        raise ApplicationError(str(err), type=POLICY_ERROR, non_retryable=True) from None
