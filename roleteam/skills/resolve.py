"""Deciding which skills apply to one invocation, loading them, and recording the evidence.

`resolve_skills` reads the file system, so inside Temporal it belongs in an activity; its
result (evidence and prompt section) is what the workflow records.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from roleteam.evidence import (  # noqa: F401  (re-exported: the evidence used to live here)
    AppliedWaiver,
    Compliance,
    LoadedSkill,
    LoadReason,
    MissingSkill,
    SkillEvidence,
    TriggeredSkill,
    _Evidence,
)
from roleteam.skills.linear_regex import compile_linear
from roleteam.skills.loader import MAX_TOTAL_SKILL_BYTES, SkillDocument, SkillProblem, read_skill
from roleteam.skills.policy import RoleSkills, SkillPolicy, TriggerRule, file_matches


class SkillRequest(BaseModel):
    """What an invocation says about itself, which triggered skills are matched against.

    Attributes:
        prompt: The invocation's prompt (keywords and regexes are matched on it).
        domains: Domains the invocation declares, e.g. `["security"]`.
        files: File paths the invocation names, matched against file globs.
        plan_id: The plan, for plan-scoped waivers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    domains: list[str] = []
    files: list[str] = []
    plan_id: str | None = None


class ResolvedSkills(_Evidence):
    """The evidence plus the markdown to append to the role's system prompt ("" if none)."""

    evidence: SkillEvidence
    prompt_section: str


def match_rule(rule: TriggerRule, request: SkillRequest) -> str | None:
    """Say which matcher of `rule` fires for `request`, or None if none does.

    Matchers are tried in the order keywords, regex, domains, files; the first hit is reported,
    e.g. `keyword 'release'` or `file 'db/m/1.sql' matches '**/*.sql'`.
    """
    for keyword in rule.keywords:
        # Whole-word: 'ship' must not fire on 'relationship'.
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", request.prompt, re.IGNORECASE):
            return f"keyword '{keyword}'"
    for pattern in rule.regex:
        if compile_linear(pattern).search(request.prompt):
            return f"regex '{pattern}'"
    declared = {d.strip().casefold() for d in request.domains}
    for domain in rule.domains:
        if domain.casefold() in declared:
            return f"domain '{domain}'"
    for glob in rule.files:
        for path in request.files:
            if file_matches(glob, path):
                return f"file '{path}' matches '{glob}'"
    return None


def resolve_skills(
    policy: SkillPolicy, role: str, request: SkillRequest, roots: list[Path]
) -> ResolvedSkills:
    """Decide, load and record the skills `role` uses for one invocation.

    Skills load in the order required, recommended, triggered (so the total cap squeezes out
    optional skills first); a skill needed for two reasons loads once, under the first.

    Args:
        policy: The validated skill policy.
        role: The canonical role id; a role the policy does not list loads nothing.
        request: The invocation's prompt, domains, files and plan.
        roots: Skill roots in precedence order (see `skill_roots`).

    Returns:
        Evidence (compliance, loaded, missing, waivers, policy identity) and the prompt section.
        Never raises for a missing or bad skill file; those are reported in `missing`.
    """
    spec = policy.roles.get(role, RoleSkills())
    fired = [
        TriggeredSkill(name=t.skill, when=t.when, rule=hit)
        for t in spec.triggered
        if (hit := match_rule(t.rule, request)) is not None
    ]
    wanted: dict[str, LoadReason] = {}
    for name in spec.required:
        wanted.setdefault(name, "required")
    for name in spec.recommended:
        wanted.setdefault(name, "recommended")
    for trigger in fired:
        wanted.setdefault(trigger.name, "triggered")

    loaded: list[LoadedSkill] = []
    documents: list[tuple[SkillDocument, LoadReason]] = []
    missing: list[MissingSkill] = []
    total = 0
    for name, reason in wanted.items():
        found = read_skill(name, roots)
        if isinstance(found, SkillProblem):
            missing.append(MissingSkill(name=name, reason=found.reason, required=reason == "required"))
            continue
        if total + found.bytes > MAX_TOTAL_SKILL_BYTES:
            missing.append(
                MissingSkill(
                    name=name,
                    required=reason == "required",
                    reason=(
                        f"refused: its {found.bytes} bytes would bring this invocation's skills "
                        f"to {total + found.bytes} bytes, over the {MAX_TOTAL_SKILL_BYTES}-byte "
                        "total cap; shorten the skills or drop a recommended one"
                    ),
                )
            )
            continue
        total += found.bytes
        documents.append((found, reason))
        loaded.append(
            LoadedSkill(
                name=name,
                root=found.root,
                path=found.path,
                sha256=found.sha256,
                bytes=found.bytes,
                reason=reason,
            )
        )

    compliance, waivers = _compliance(policy, role, spec, missing, request.plan_id)
    evidence = SkillEvidence(
        compliance=compliance,
        required=list(spec.required),
        recommended=list(spec.recommended),
        triggered=fired,
        loaded=loaded,
        missing=missing,
        waivers=waivers,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        policy_source=policy.source,
    )
    return ResolvedSkills(evidence=evidence, prompt_section=render_prompt_section(documents))


def _compliance(
    policy: SkillPolicy, role: str, spec: RoleSkills, missing: list[MissingSkill], plan_id: str | None
) -> tuple[Compliance, list[AppliedWaiver]]:
    if not spec.required:
        return "not_required", []
    absent = [m.name for m in missing if m.required]
    applied: list[AppliedWaiver] = []
    for skill in absent:
        # A plan-scoped waiver is the more specific decision, so it is the one recorded.
        matches = sorted(
            (w for w in policy.waivers if w.covers(role, skill, plan_id)), key=lambda w: w.plan is None
        )
        if matches:
            w = matches[0]
            applied.append(
                AppliedWaiver(skill=skill, reason=w.reason, approved_by=w.approved_by, plan=w.plan)
            )
    if not absent:
        return "verified", []
    if len(applied) == len(absent):
        return "waived", applied
    return "partial", applied


def render_prompt_section(documents: list[tuple[SkillDocument, LoadReason]]) -> str:
    """The markdown appended to the system prompt: each skill's name, description and body."""
    if not documents:
        return ""
    parts = ["## Skills for this invocation", "Follow these skills as part of your instructions."]
    for doc, reason in documents:
        parts.append(f"### Skill: {doc.name} ({reason})\n{doc.description}\n\n{doc.body}".rstrip())
    return "\n\n".join(parts) + "\n"


__all__ = [
    "AppliedWaiver",
    "LoadedSkill",
    "MissingSkill",
    "ResolvedSkills",
    "SkillEvidence",
    "SkillRequest",
    "TriggeredSkill",
    "match_rule",
    "render_prompt_section",
    "resolve_skills",
]
