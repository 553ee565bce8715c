"""The role registry: `policies/roles.yaml`, validated with pydantic.

Lookup accepts a role's id, title or alias in any case; errors name the file, the key and the fix.
"""

from __future__ import annotations

import hashlib
import os
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from roleteam.constants import EXECUTION_MODES, PLAN_ID_PATTERN, ROLE_ID_PATTERN
from roleteam.errors import InvalidInputError, PolicyError, UnknownRoleError, format_validation_error
from roleteam.policy_cache import load_cached
from roleteam.safe_yaml import UntrustedYamlError, load_untrusted_yaml

PolicyModel = TypeVar("PolicyModel", bound=BaseModel)

ExecutionMode = Literal["persistent", "delegated", "scheduled"]

POLICY_DIR_ENV = "ROLETEAM_POLICY_DIR"
# The bundled data, installed inside the package (see pyproject.toml's package-dir): in a checkout
# these are the top-level policies/ and skills/ folders, in a wheel roleteam/policies and
# roleteam/bundled_skills.
BUNDLED_POLICY_PACKAGE = "roleteam.policies"
BUNDLED_SKILLS_PACKAGE = "roleteam.bundled_skills"


def bundled_dir(package: str) -> Path:
    """The directory of a bundled data package, found with `importlib.resources`."""
    # Installed from a wheel or a checkout the package is a plain directory, so this is a real
    # path: evidence records it, and the skill loader's containment checks resolve it.
    return Path(str(files(package))).resolve()


def bundled_policy_dir() -> Path:
    """The policies that ship with roleteam (roles.yaml, teams.yaml, skills.yaml)."""
    return bundled_dir(BUNDLED_POLICY_PACKAGE)


def bundled_skills_dir() -> Path:
    """The skill documents that ship with roleteam (`<name>/SKILL.md`)."""
    return bundled_dir(BUNDLED_SKILLS_PACKAGE)


def policy_dir() -> Path:
    """Where policy files live: `$ROLETEAM_POLICY_DIR`, else the bundled policies."""
    configured = os.environ.get(POLICY_DIR_ENV)
    return Path(configured).expanduser() if configured else bundled_policy_dir()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExecutionModes(_Strict):
    allowed: list[ExecutionMode] = Field(min_length=1)
    default: ExecutionMode

    @model_validator(mode="after")
    def _default_is_allowed(self) -> ExecutionModes:
        if self.default not in self.allowed:
            raise ValueError(
                f"default mode {self.default!r} is not in allowed {self.allowed}; "
                "add it to 'allowed' or pick one of them"
            )
        return self


class RoleSpec(_Strict):
    """One role as the policy defines it."""

    id: str
    title: str = Field(min_length=1)
    aliases: list[str] = []
    mission: str = Field(min_length=1)
    responsibilities: list[str] = Field(min_length=1)
    reports_to: str | None = None
    execution_modes: ExecutionModes
    model: str | None = None

    def system_prompt(self) -> str:
        """The role's standing instructions, sent first on every model call."""
        lines = [
            f"You are the {self.title} ({self.id}) of a persistent AI role team.",
            f"Mission: {self.mission}",
            "Responsibilities:",
        ]
        lines += [f"- {item}" for item in self.responsibilities]
        if self.reports_to:
            lines.append(f"You report to the {self.reports_to} role.")
        return "\n".join(lines)


class RoleRegistry(_Strict):
    """All roles of a policy, with the file they came from and its content hash."""

    version: str = Field(min_length=1)
    roles: dict[str, RoleSpec]
    source: str = ""
    sha256: str = ""

    @field_validator("roles", mode="before")
    @classmethod
    def _inject_ids(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {**v, "id": k} if isinstance(v, dict) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check_references(self) -> RoleRegistry:
        seen: dict[str, str] = {}
        for role_id, spec in self.roles.items():
            if not ROLE_ID_PATTERN.fullmatch(role_id):
                raise ValueError(
                    f"roles.{role_id}: role ids are lower-case letters, digits and '-' "
                    f"(pattern {ROLE_ID_PATTERN.pattern})"
                )
            if spec.reports_to is not None and spec.reports_to not in self.roles:
                raise ValueError(
                    f"roles.{role_id}.reports_to: {spec.reports_to!r} is not a role here; "
                    f"use one of {sorted(self.roles)} or null"
                )
            for name in (role_id, spec.title, *spec.aliases):
                key = name.casefold()
                if key in seen and seen[key] != role_id:
                    raise ValueError(
                        f"roles.{role_id}: name {name!r} is already used by role "
                        f"{seen[key]!r}; each id, title and alias must be unique"
                    )
                seen[key] = role_id
        return self

    def resolve(self, name: str) -> RoleSpec:
        """Find a role by id, title or alias, ignoring case.

        Raises:
            UnknownRoleError: naming the valid roles.
        """
        key = name.strip().casefold()
        for spec in self.roles.values():
            if key in {n.casefold() for n in (spec.id, spec.title, *spec.aliases)}:
                return spec
        valid = ", ".join(f"{s.id} ({s.title})" for s in self.roles.values())
        raise UnknownRoleError(f"unknown role {name!r}; valid roles: {valid}")


def load_role_registry(path: Path | None = None) -> RoleRegistry:
    """Load and validate the role registry (parsed again only when the file's bytes change).

    Raises:
        PolicyError: the file is missing, not YAML, or breaks the schema (naming file and key).
    """
    path = path or policy_dir() / "roles.yaml"
    return load_cached("roles", path, (), lambda: _parse_role_registry(path))


def _parse_role_registry(path: Path) -> RoleRegistry:
    return parse_policy(RoleRegistry, path, "role registry", "'version' and 'roles'")


def parse_policy(
    model: type[PolicyModel], path: Path, what: str, keys: str, context: Any = None
) -> PolicyModel:
    """Read policy file `path` into `model`, recording its `source` path and the `sha256` of its bytes.

    `what` and `keys` name the file's kind and top-level keys in messages; `context` goes to the
    model's validators.

    Raises:
        PolicyError: unreadable, not YAML, or breaking the schema; naming the file and the key.
    """
    raw, data = read_policy_yaml(path, what, keys)
    try:
        return model.model_validate(
            {**data, "source": str(path), "sha256": hashlib.sha256(raw).hexdigest()}, context=context
        )
    except ValidationError as err:
        raise PolicyError(f"{path}: {format_validation_error(err)}") from err


def read_policy_yaml(path: Path, what: str, keys: str) -> tuple[bytes, dict]:
    """Read a policy file: its exact bytes (for the sha256 evidence) and its YAML mapping.

    Raises:
        PolicyError: unreadable, not YAML, or not a mapping; naming the file and the fix.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PolicyError(
            f"{path}: cannot read {what} ({err.strerror}); set {POLICY_DIR_ENV} to the folder "
            f"holding {path.name}"
        ) from err
    try:
        data = load_untrusted_yaml(raw)
    except UntrustedYamlError as err:
        raise PolicyError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping with keys {keys}")
    return raw, data


def validate_plan_id(plan_id: str) -> str:
    """Return the plan id unchanged, or raise: ids are never slugified into collisions."""
    if not PLAN_ID_PATTERN.fullmatch(plan_id):
        raise InvalidInputError(
            f"invalid plan id {plan_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return plan_id


__all__ = [
    "EXECUTION_MODES",
    "ExecutionMode",
    "RoleRegistry",
    "RoleSpec",
    "format_validation_error",
    "load_role_registry",
    "parse_policy",
    "bundled_policy_dir",
    "bundled_skills_dir",
    "policy_dir",
    "validate_plan_id",
]
