"""Governed skills: which SKILL.md documents each role loads, and evidence of what it loaded.

Typical use (in an activity, since it reads files)::

    policy = load_skill_policy()
    resolved = resolve_skills(policy, "developer", SkillRequest(prompt=...), skill_roots(ws))
    system_prompt += resolved.prompt_section
    record(resolved.evidence)
"""

from __future__ import annotations

from roleteam.skills.loader import (
    MAX_SKILL_BYTES,
    MAX_TOTAL_SKILL_BYTES,
    SKILL_NAME_PATTERN,
    SKILL_ROOTS_ENV,
    SkillDocument,
    SkillProblem,
    read_skill,
    skill_roots,
)
from roleteam.skills.policy import (
    RoleSkills,
    SkillDecl,
    SkillPolicy,
    TriggeredSpec,
    TriggerRule,
    Waiver,
    load_skill_policy,
    policy_summary_rows,
)
from roleteam.skills.resolve import (
    AppliedWaiver,
    LoadedSkill,
    MissingSkill,
    ResolvedSkills,
    SkillEvidence,
    SkillRequest,
    TriggeredSkill,
    match_rule,
    resolve_skills,
)

__all__ = [
    "MAX_SKILL_BYTES",
    "MAX_TOTAL_SKILL_BYTES",
    "SKILL_NAME_PATTERN",
    "SKILL_ROOTS_ENV",
    "AppliedWaiver",
    "LoadedSkill",
    "MissingSkill",
    "ResolvedSkills",
    "RoleSkills",
    "SkillDecl",
    "SkillDocument",
    "SkillEvidence",
    "SkillPolicy",
    "SkillProblem",
    "SkillRequest",
    "TriggerRule",
    "TriggeredSkill",
    "TriggeredSpec",
    "Waiver",
    "load_skill_policy",
    "match_rule",
    "policy_summary_rows",
    "read_skill",
    "resolve_skills",
    "skill_roots",
]
