"""The skill policy: `policies/skills.yaml`, validated with pydantic.

The policy says which skills each role must (`required`), should (`recommended`) or, when a
rule matches the invocation, will (`triggered`) load, and which missing required skills the
Lead has waived. Errors name the file, the key and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from roleteam.constants import MAX_REASON_CHARS, PLAN_ID_PATTERN
from roleteam.errors import UnknownRoleError
from roleteam.policy_cache import load_cached
from roleteam.registry import (
    RoleRegistry,
    load_role_registry,
    parse_policy,
    policy_dir,
)
from roleteam.skills.linear_regex import compile_linear, re2_problem
from roleteam.skills.loader import SKILL_NAME_PATTERN, is_valid_skill_name

WAIVER_APPROVER = "lead"


def _check_skill_name(name: str) -> str:
    if not is_valid_skill_name(name):
        raise ValueError(
            f"invalid skill name {name!r}; use 1-64 lower-case letters, digits or "
            f"'-', starting with a letter or digit (pattern {SKILL_NAME_PATTERN.pattern})"
        )
    return name


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


SkillName = Annotated[str, AfterValidator(_check_skill_name)]
Matcher = Annotated[str, AfterValidator(_non_blank)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillDecl(_Strict):
    """One catalog entry: a skill a role may reference."""

    description: str = Field(min_length=1)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """`glob_regex_text(pattern)` compiled with `re`, for checking a glob when a policy loads.

    Raises:
        re.error: a character class that does not compile (e.g. `[z-a]`).
    """
    return re.compile(glob_regex_text(pattern) + r"\Z")


def glob_regex_text(pattern: str) -> str:
    """A path glob as regex text: `*`/`?` stay within one path segment, `**` spans segments.

    `**/` also matches no directory at all, so `**/*.sql` matches `x.sql` and `db/x.sql`.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (close := _class_end(pattern, i)) != -1:
            body = pattern[i + 1 : close].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    j = start + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ']' is a literal member, as in fnmatch
    return pattern.find("]", j)


def file_matches(glob: str, path: str) -> bool:
    """True when `path` matches `glob`; a glob without '/' also matches any basename."""
    path = path.replace("\\", "/").removeprefix("./")
    # Matched with RE2: a glob of many stars must not backtrack for minutes on a long path.
    regex = compile_linear(glob_regex_text(glob) + r"\z")
    if regex.match(path):
        return True
    # As in .gitignore, a bare '*.sql' means "any .sql file", not only one at the top level.
    return "/" not in glob and regex.match(path.rsplit("/", 1)[-1]) is not None


class TriggerRule(_Strict):
    """The machine rule of a triggered skill; it fires if ANY non-empty matcher matches."""

    keywords: list[Matcher] = []
    regex: list[Matcher] = []
    domains: list[Matcher] = []
    files: list[Matcher] = []

    @field_validator("regex")
    @classmethod
    def _regexes_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            problem = re2_problem(pattern)
            if problem:
                raise ValueError(
                    f"pattern {pattern[:200]!r} does not compile on RE2, the linear-time engine "
                    f"policy regexes run on ({problem}); fix it (no lookaround or "
                    "backreferences) or remove it"
                )
        return patterns

    @field_validator("files")
    @classmethod
    def _globs_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                glob_to_regex(pattern)
                compile_linear(glob_regex_text(pattern) + r"\z")
            except (re.error, re2.error) as err:
                raise ValueError(
                    f"glob {pattern!r} is not valid ({err}); fix its [...] character class"
                ) from None
        return patterns

    @model_validator(mode="after")
    def _has_a_matcher(self) -> TriggerRule:
        if not (self.keywords or self.regex or self.domains or self.files):
            raise ValueError("a rule needs at least one non-empty matcher: keywords, regex, domains or files")
        return self


class TriggeredSpec(_Strict):
    """A skill loaded only when its rule matches the invocation."""

    skill: SkillName
    when: Annotated[str, AfterValidator(_non_blank)] = Field(
        description="Human-readable condition, shown in evidence."
    )
    rule: TriggerRule


class RoleSkills(_Strict):
    """The skills one role loads."""

    required: list[SkillName] = []
    recommended: list[SkillName] = []
    triggered: list[TriggeredSpec] = []

    @model_validator(mode="after")
    def _no_duplicates(self) -> RoleSkills:
        # A triggered skill may also be required or recommended (the trigger still shows in
        # evidence and the skill loads once); anything else listed twice is a policy mistake.
        seen: dict[str, str] = {}
        entries = [(n, "required") for n in self.required]
        entries += [(n, "recommended") for n in self.recommended]
        for name, where in entries:
            if name in seen:
                raise ValueError(
                    f"skill {name!r} is listed more than once ({seen[name]} and "
                    f"{where}); list each skill once"
                )
            seen[name] = where
        fired: set[str] = set()
        for spec in self.triggered:
            if spec.skill in fired:
                raise ValueError(
                    f"skill {spec.skill!r} is triggered twice; merge the two entries' rules into one"
                )
            fired.add(spec.skill)
        return self

    def all_names(self) -> list[str]:
        """Every skill this role references, without repeats, in policy order."""
        names = [*self.required, *self.recommended, *(t.skill for t in self.triggered)]
        return list(dict.fromkeys(names))


class Waiver(_Strict):
    """The Lead's permission for a role to run without one of its required skills."""

    role: str
    skill: SkillName
    reason: Annotated[str, AfterValidator(_non_blank)] = Field(max_length=MAX_REASON_CHARS)
    approved_by: str
    plan: str | None = None

    @field_validator("approved_by")
    @classmethod
    def _lead_approves(cls, value: str) -> str:
        if value != WAIVER_APPROVER:
            raise ValueError(
                f"waivers are approved by the Lead; set approved_by: {WAIVER_APPROVER} (got {value!r})"
            )
        return value

    @field_validator("plan")
    @classmethod
    def _plan_id(cls, value: str | None) -> str | None:
        if value is not None and not PLAN_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"invalid plan id {value!r}; use 1-64 letters, digits, '.', '_' "
                "or '-', or null for every plan"
            )
        return value

    def covers(self, role: str, skill: str, plan_id: str | None) -> bool:
        """True when this waiver excuses `skill` for `role` on `plan_id`."""
        return self.role == role and self.skill == skill and self.plan in (None, plan_id)


class SkillPolicy(_Strict):
    """The whole skill policy, with the file it came from and its content hash.

    Validate with `model_validate(data, context={"role_registry": registry})` to also check
    role ids; `load_skill_policy` does that.
    """

    version: str = Field(min_length=1)
    skills: dict[SkillName, SkillDecl]
    roles: dict[str, RoleSkills] = {}
    waivers: list[Waiver] = []
    source: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _check_references(self, info: ValidationInfo) -> SkillPolicy:
        registry = (info.context or {}).get("role_registry")
        problems = [*_role_problems(self, registry), *_waiver_problems(self, registry)]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _role_problems(policy: SkillPolicy, registry: RoleRegistry | None) -> list[str]:
    problems = []
    for role_id, spec in policy.roles.items():
        if registry is not None and role_id not in registry.roles:
            problems.append(f"roles.{role_id}: {_unknown_role(role_id, registry)}")
        lists = [("required", n) for n in spec.required]
        lists += [("recommended", n) for n in spec.recommended]
        lists += [(f"triggered.{i}.skill", t.skill) for i, t in enumerate(spec.triggered)]
        for key, name in lists:
            if name not in policy.skills:
                problems.append(
                    f"roles.{role_id}.{key}: skill {name!r} is not declared under "
                    "'skills'; declare it there or fix the name"
                )
    return problems


def _waiver_problems(policy: SkillPolicy, registry: RoleRegistry | None) -> list[str]:
    problems = []
    seen: set[tuple[str, str, str | None]] = set()
    for i, waiver in enumerate(policy.waivers):
        where = f"waivers.{i}"
        if registry is not None and waiver.role not in registry.roles:
            problems.append(f"{where}.role: {_unknown_role(waiver.role, registry)}")
            continue
        if waiver.skill not in policy.skills:
            problems.append(
                f"{where}.skill: skill {waiver.skill!r} is not declared under "
                "'skills'; fix the name or remove the waiver"
            )
            continue
        spec = policy.roles.get(waiver.role)
        if spec is None or waiver.skill not in spec.required:
            problems.append(
                f"{where}.skill: {waiver.skill!r} is not a required skill of role "
                f"{waiver.role!r}; only missing required skills can be waived, so "
                "remove the waiver"
            )
        key = (waiver.role, waiver.skill, waiver.plan)
        if key in seen:
            problems.append(
                f"{where}: duplicate waiver for role {waiver.role!r}, skill "
                f"{waiver.skill!r} and the same plan; keep one"
            )
        seen.add(key)
    return problems


def _unknown_role(role_id: str, registry: RoleRegistry) -> str:
    hint = ""
    try:
        canonical = registry.resolve(role_id).id
        hint = f" (did you mean the role id {canonical!r}?)"
    except UnknownRoleError:
        pass
    return (
        f"{role_id!r} is not a role id in {registry.source or 'the role registry'}{hint}; "
        f"use one of {sorted(registry.roles)}"
    )


def load_skill_policy(path: Path | None = None, registry: RoleRegistry | None = None) -> SkillPolicy:
    """Load and validate the skill policy.

    Args:
        path: The policy file; defaults to `policy_dir() / "skills.yaml"`.
        registry: The role registry that role ids are checked against; loaded when omitted.

    Returns:
        The validated policy, recording its `version`, `source` path and `sha256`. It is parsed
        again only when the file's bytes (or the registry's) change.

    Raises:
        PolicyError: the file is missing, not YAML, or breaks the schema (naming file and key).
    """
    path = Path(path) if path else policy_dir() / "skills.yaml"
    registry = registry or load_role_registry()
    depends = (registry.source, registry.sha256)
    return load_cached("skills", path, depends, lambda: _parse_skill_policy(path, registry))


def _parse_skill_policy(path: Path, registry: RoleRegistry) -> SkillPolicy:
    return parse_policy(
        SkillPolicy,
        path,
        "skill policy",
        "'version', 'skills', 'roles' and 'waivers'",
        context={"role_registry": registry},
    )


def policy_summary_rows(policy: SkillPolicy, registry: RoleRegistry | None = None) -> list[dict]:
    """One row per role for `roleteam policy check`.

    Args:
        policy: The loaded policy.
        registry: When given, roles the policy does not mention get a row too (with nothing
            to load), so a forgotten role is visible.

    Returns:
        Dicts with keys `role`, `required`, `recommended`, `triggered` (skill names) and
        `waivers` (how many waivers name the role).
    """
    role_ids = list(policy.roles)
    if registry is not None:
        role_ids += [r for r in registry.roles if r not in policy.roles]
    rows = []
    for role_id in role_ids:
        spec = policy.roles.get(role_id, RoleSkills())
        rows.append(
            {
                "role": role_id,
                "required": list(spec.required),
                "recommended": list(spec.recommended),
                "triggered": [t.skill for t in spec.triggered],
                "waivers": sum(1 for w in policy.waivers if w.role == role_id),
            }
        )
    return rows


__all__ = [
    "RoleSkills",
    "SkillDecl",
    "SkillPolicy",
    "TriggerRule",
    "TriggeredSpec",
    "Waiver",
    "file_matches",
    "glob_to_regex",
    "load_skill_policy",
    "policy_summary_rows",
]
