"""Skill-compliance evidence: what an invocation was to load and did load (docs/skills.md).

Wire models recorded in workflow history, so they depend on pydantic only: importing a workflow
never loads the skill loader, YAML or the file system. Models only ever gain optional fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

LoadReason = Literal["required", "recommended", "triggered"]
Compliance = Literal["verified", "partial", "waived", "not_required"]


class _Evidence(BaseModel):
    # Evidence is stored in workflow history and read back by later code versions; ignoring
    # unknown fields keeps old histories readable if a field is ever retired.
    model_config = ConfigDict(extra="ignore", frozen=True)


class LoadedSkill(_Evidence):
    """A skill that was loaded, and exactly which bytes."""

    name: str
    root: str
    path: str
    sha256: str
    bytes: int
    reason: LoadReason


class MissingSkill(_Evidence):
    """A skill the policy asked for that could not be loaded."""

    name: str
    reason: str
    required: bool


class TriggeredSkill(_Evidence):
    """A triggered skill whose rule fired, with the matcher that fired it."""

    name: str
    when: str
    rule: str


class AppliedWaiver(_Evidence):
    """A waiver that excused a missing required skill for this invocation."""

    skill: str
    reason: str
    approved_by: str
    plan: str | None


class SkillEvidence(_Evidence):
    """Machine-readable record of what an invocation was supposed to load and did load."""

    compliance: Compliance
    required: list[str]
    recommended: list[str]
    triggered: list[TriggeredSkill]
    loaded: list[LoadedSkill]
    missing: list[MissingSkill]
    waivers: list[AppliedWaiver]
    policy_version: str
    policy_sha256: str
    policy_source: str
