"""Team templates: `policies/teams.yaml`, validated with pydantic against the role registry.

Errors name the file, the key and the fix, like the other policy files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roleteam.constants import DEFAULT_TEAM, ROLE_ID_PATTERN, SEVERITIES
from roleteam.errors import PolicyError
from roleteam.plan_models import TeamRole, TeamTemplate
from roleteam.policy_cache import load_cached
from roleteam.registry import (
    RoleRegistry,
    load_role_registry,
    parse_policy,
    policy_dir,
)

TEAM_NAME_PATTERN = ROLE_ID_PATTERN


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamRoleSpec(_Strict):
    mode: Literal["persistent", "delegated", "scheduled"] = "persistent"
    budget_tokens: int | None = Field(default=None, gt=0, le=10**12)


class TeamSpec(_Strict):
    """One template as written in teams.yaml."""

    description: str = ""
    lead: str = "lead"
    roles: dict[str, TeamRoleSpec] = Field(min_length=1)
    required: list[str] = []
    reporters: list[str] = []
    revalidators: list[str] = []
    default_assignee: str = "developer"
    blocking_severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    max_remediation_rounds: int = Field(default=3, ge=1, le=20)
    plan_budget_tokens: int | None = Field(default=None, gt=0, le=10**12)

    @model_validator(mode="after")
    def _roles_are_members(self) -> TeamSpec:
        members = set(self.roles)
        for key, names in (
            ("lead", [self.lead]),
            ("required", self.required),
            ("reporters", self.reporters),
            ("revalidators", self.revalidators),
            ("default_assignee", [self.default_assignee]),
        ):
            for name in names:
                if name not in members:
                    raise ValueError(
                        f"{key}: {name!r} is not one of this team's roles ({', '.join(sorted(members))}); "
                        "add it under 'roles' or remove it here"
                    )
        return self


class TeamPolicy(_Strict):
    version: str = Field(min_length=1)
    default: str = DEFAULT_TEAM
    teams: dict[str, TeamSpec] = Field(min_length=1)
    source: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _default_exists(self) -> TeamPolicy:
        for name in self.teams:
            if not TEAM_NAME_PATTERN.fullmatch(name):
                raise ValueError(f"teams.{name}: team names are lower-case letters, digits and '-'")
        if self.default not in self.teams:
            raise ValueError(
                f"default: {self.default!r} is not a team here; use one of {', '.join(self.teams)}"
            )
        return self

    def template(self, name: str | None) -> TeamTemplate:
        """The named template (None: the default) as a plan adopts it.

        Raises:
            PolicyError: the name is not a template here.
        """
        chosen = name or self.default
        spec = self.teams.get(chosen)
        if spec is None:
            raise PolicyError(f"unknown team {chosen!r}; teams in {self.source}: {', '.join(self.teams)}")
        return TeamTemplate(
            name=chosen,
            description=spec.description,
            lead=spec.lead,
            roles={r: TeamRole(mode=s.mode, budget_tokens=s.budget_tokens) for r, s in spec.roles.items()},
            required=list(spec.required),
            reporters=list(spec.reporters),
            revalidators=list(spec.revalidators),
            default_assignee=spec.default_assignee,
            blocking_severity=spec.blocking_severity,
            max_remediation_rounds=spec.max_remediation_rounds,
            plan_budget_tokens=spec.plan_budget_tokens,
            policy_version=self.version,
            policy_sha256=self.sha256,
        )


def load_team_policy(path: Path | None = None, registry: RoleRegistry | None = None) -> TeamPolicy:
    """Load and validate the team templates, checking every role against the registry.

    Parsed again only when the file's bytes (or the registry's) change.

    Raises:
        PolicyError: naming the file, the key and the fix.
    """
    path = path or policy_dir() / "teams.yaml"
    registry = registry or load_role_registry()
    depends = (registry.source, registry.sha256)
    return load_cached("teams", path, depends, lambda: _parse_team_policy(path, registry))


def _parse_team_policy(path: Path, registry: RoleRegistry) -> TeamPolicy:
    policy = parse_policy(TeamPolicy, path, "team templates", "'version', 'default' and 'teams'")
    problems = []
    for team_name, spec in policy.teams.items():
        for role_id, role in spec.roles.items():
            if role_id not in registry.roles:
                problems.append(
                    f"teams.{team_name}.roles.{role_id}: not a role in {registry.source}; "
                    f"use one of {', '.join(registry.roles)}"
                )
            elif role.mode not in registry.roles[role_id].execution_modes.allowed:
                allowed = ", ".join(registry.roles[role_id].execution_modes.allowed)
                problems.append(
                    f"teams.{team_name}.roles.{role_id}.mode: {role.mode!r} is not allowed for this role "
                    f"by {registry.source} (allowed: {allowed})"
                )
    if problems:
        raise PolicyError(f"{path}: " + "; ".join(problems))
    return policy


__all__ = ["SEVERITIES", "TeamPolicy", "TeamSpec", "load_team_policy"]
