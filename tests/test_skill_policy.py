"""Unit tests for the governed skill policy: loading, validation, resolution and safe reading."""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path

import pytest
import yaml

from roleteam.errors import PolicyError
from roleteam.registry import bundled_skills_dir, load_role_registry
from roleteam.skills import (
    MAX_SKILL_BYTES,
    MAX_TOTAL_SKILL_BYTES,
    SKILL_ROOTS_ENV,
    SkillDocument,
    SkillPolicy,
    SkillProblem,
    SkillRequest,
    load_skill_policy,
    policy_summary_rows,
    read_skill,
    resolve_skills,
    skill_roots,
)
from roleteam.skills.policy import file_matches

BUNDLED = bundled_skills_dir()
CANONICAL_ROLES = ["lead", "planner", "developer", "validator", "release-manager"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests must not depend on the developer's shell configuration.
    monkeypatch.delenv(SKILL_ROOTS_ENV, raising=False)
    monkeypatch.delenv("ROLETEAM_POLICY_DIR", raising=False)


@pytest.fixture(scope="module")
def registry():
    return load_role_registry()


@pytest.fixture(scope="module")
def default_policy(registry) -> SkillPolicy:
    return load_skill_policy(registry=registry)


BASE: dict = {
    "version": "test-1",
    "skills": {
        "alpha": {"description": "Alpha skill."},
        "beta": {"description": "Beta skill."},
        "gamma": {"description": "Gamma skill."},
        "sec": {"description": "Security skill."},
    },
    "roles": {
        "developer": {
            "required": ["alpha"],
            "recommended": ["beta"],
            "triggered": [
                {
                    "skill": "sec",
                    "when": "Security work.",
                    "rule": {
                        "keywords": ["auth", "ship"],
                        "regex": [r"\bv\d+\.\d+"],
                        "domains": ["Security"],
                        "files": ["**/migrations/**", "*.sql"],
                    },
                },
            ],
        },
        "lead": {"required": ["alpha", "gamma"]},
        "planner": {"recommended": ["beta"]},
    },
    "waivers": [],
}


def write_policy(tmp_path: Path, data: dict, name: str = "skills.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def policy_with(tmp_path: Path, registry, mutate=None) -> SkillPolicy:
    data = copy.deepcopy(BASE)
    if mutate:
        mutate(data)
    return load_skill_policy(write_policy(tmp_path, data), registry)


def policy_error(tmp_path: Path, registry, mutate) -> str:
    with pytest.raises(PolicyError) as info:
        policy_with(tmp_path, registry, mutate)
    return str(info.value)


def make_skill(
    root: Path,
    name: str,
    body: str = "Do the thing.\n",
    *,
    description: str = "A skill.",
    front_name: str | None = None,
) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SKILL.md"
    path.write_text(
        f"---\nname: {front_name or name}\ndescription: {description}\n---\n{body}", encoding="utf-8"
    )
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    skills = tmp_path / "skills"
    for name in ("alpha", "beta", "gamma", "sec"):
        make_skill(skills, name, f"Guidance for {name}.\n", description=f"{name} description")
    return skills


# --- the default policy ----------------------------------------------------------------------


def test_default_policy_loads_with_identity(default_policy: SkillPolicy) -> None:
    assert default_policy.version == "2026.11.1"
    assert default_policy.source.endswith("policies/skills.yaml")
    assert len(default_policy.sha256) == 64
    assert default_policy.waivers == []


def test_default_policy_gives_every_canonical_role_required_skills(default_policy) -> None:
    for role in CANONICAL_ROLES:
        assert 1 <= len(default_policy.roles[role].required) <= 3, role
    assert any(spec.triggered for spec in default_policy.roles.values())


def test_every_default_skill_has_a_loadable_bundled_skill_md(default_policy) -> None:
    for name in default_policy.skills:
        found = read_skill(name, [BUNDLED])
        assert isinstance(found, SkillDocument), found
        assert 15 <= len(found.body.splitlines()) + 4 <= 40, name
        assert found.description


@pytest.mark.parametrize("role", CANONICAL_ROLES)
def test_default_compliance_is_verified_with_bundled_root(default_policy, role) -> None:
    resolved = resolve_skills(default_policy, role, SkillRequest(prompt="hello"), [BUNDLED])
    evidence = resolved.evidence
    assert evidence.compliance == "verified"
    assert evidence.missing == []
    assert [s.name for s in evidence.loaded][: len(evidence.required)] == evidence.required
    assert evidence.policy_version == default_policy.version
    assert evidence.policy_sha256 == default_policy.sha256
    for name in evidence.required:
        assert f"### Skill: {name} (required)" in resolved.prompt_section


def test_default_triggers_fire(default_policy) -> None:
    request = SkillRequest(
        prompt="Please add the column", files=["db/migrations/0007_add.sql"], domains=["SECURITY"]
    )
    evidence = resolve_skills(default_policy, "developer", request, [BUNDLED]).evidence
    assert {t.name for t in evidence.triggered} == {"security-review", "database-migration"}
    assert evidence.compliance == "verified"
    lead = resolve_skills(
        default_policy, "lead", SkillRequest(prompt="Ship v2.1 on Friday"), [BUNDLED]
    ).evidence
    assert [t.name for t in lead.triggered] == ["release-checklist"]


def test_policy_summary_rows(default_policy, registry) -> None:
    rows = policy_summary_rows(default_policy, registry)
    assert [r["role"] for r in rows] == list(registry.roles)
    lead = rows[0]
    assert lead == {
        "role": "lead",
        "required": ["plan-review", "findings-triage"],
        "recommended": ["risk-assessment"],
        "triggered": ["release-checklist", "security-review"],
        "waivers": 0,
    }


# --- validation ------------------------------------------------------------------------------


def test_unknown_key_names_role_and_key(tmp_path, registry) -> None:
    message = policy_error(tmp_path, registry, lambda d: d["roles"]["lead"].update(requird=["alpha"]))
    assert "skills.yaml" in message
    assert "roles.lead.requird: unknown key" in message


def test_unknown_top_level_key(tmp_path, registry) -> None:
    message = policy_error(tmp_path, registry, lambda d: d.update(extra=1))
    assert "extra: unknown key" in message


def test_dangling_skill(tmp_path, registry) -> None:
    message = policy_error(tmp_path, registry, lambda d: d["roles"]["lead"]["required"].append("nope"))
    assert "roles.lead.required: skill 'nope' is not declared under 'skills'" in message


def test_dangling_triggered_skill(tmp_path, registry) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["skill"] = "ghost"

    message = policy_error(tmp_path, registry, mutate)
    assert "roles.developer.triggered.0.skill: skill 'ghost' is not declared" in message


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda d: d["roles"]["developer"]["recommended"].append("alpha"),
            "skill 'alpha' is listed more than once (required and recommended)",
        ),
        (
            lambda d: d["roles"]["lead"]["required"].append("alpha"),
            "skill 'alpha' is listed more than once (required and required)",
        ),
        (
            lambda d: d["roles"]["developer"]["triggered"].append(
                copy.deepcopy(d["roles"]["developer"]["triggered"][0])
            ),
            "skill 'sec' is triggered twice",
        ),
    ],
)
def test_duplicates(tmp_path, registry, mutate, expected) -> None:
    message = policy_error(tmp_path, registry, mutate)
    assert expected in message
    assert "roles." in message


def test_invalid_skill_name(tmp_path, registry) -> None:
    message = policy_error(
        tmp_path, registry, lambda d: d["skills"].update({"Bad_Name": {"description": "x"}})
    )
    assert "invalid skill name 'Bad_Name'" in message


def test_bad_regex_names_pattern_and_error(tmp_path, registry) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["rule"]["regex"] = ["(unclosed"]

    message = policy_error(tmp_path, registry, mutate)
    assert "roles.developer.triggered.0.rule.regex" in message
    assert "'(unclosed' does not compile" in message
    assert "missing )" in message


def test_bad_file_glob(tmp_path, registry) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["rule"]["files"] = ["[z-a].sql"]

    message = policy_error(tmp_path, registry, mutate)
    assert "roles.developer.triggered.0.rule.files" in message


def test_trigger_without_matcher(tmp_path, registry) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["rule"] = {"keywords": [], "files": []}

    message = policy_error(tmp_path, registry, mutate)
    assert "roles.developer.triggered.0.rule" in message
    assert "at least one non-empty matcher" in message


def test_trigger_without_when(tmp_path, registry) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["when"] = "  "

    message = policy_error(tmp_path, registry, mutate)
    assert "roles.developer.triggered.0.when: must not be empty" in message


def test_unknown_role(tmp_path, registry) -> None:
    message = policy_error(
        tmp_path, registry, lambda d: d["roles"].update({"wizard": {"required": ["alpha"]}})
    )
    assert "roles.wizard: 'wizard' is not a role id" in message
    assert "roles.yaml" in message


def test_alias_as_role_key_suggests_id(tmp_path, registry) -> None:
    message = policy_error(tmp_path, registry, lambda d: d["roles"].update({"pm": {"required": ["alpha"]}}))
    assert "did you mean the role id 'lead'" in message


WAIVER = {"role": "developer", "skill": "alpha", "reason": "Spike.", "approved_by": "lead"}


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"role": "wizard"}, "waivers.0.role: 'wizard' is not a role id"),
        ({"skill": "nope"}, "waivers.0.skill: skill 'nope' is not declared under 'skills'"),
        ({"skill": "beta"}, "waivers.0.skill: 'beta' is not a required skill of role 'developer'"),
        ({"approved_by": "developer"}, "waivers.0.approved_by: waivers are approved by the Lead"),
        ({"reason": ""}, "waivers.0.reason: must not be empty"),
        ({"plan": "bad plan!"}, "waivers.0.plan: invalid plan id"),
    ],
)
def test_bad_waivers(tmp_path, registry, override, expected) -> None:
    message = policy_error(tmp_path, registry, lambda d: d["waivers"].append({**WAIVER, **override}))
    assert expected in message


def test_missing_file_and_bad_yaml(tmp_path, registry) -> None:
    with pytest.raises(PolicyError, match="cannot read skill policy"):
        load_skill_policy(tmp_path / "absent.yaml", registry)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_skill_policy(bad, registry)


# --- triggers --------------------------------------------------------------------------------


def _fired(policy, request: SkillRequest, roots) -> list[str]:
    return [t.rule for t in resolve_skills(policy, "developer", request, roots).evidence.triggered]


@pytest.mark.parametrize(
    "request_kwargs, rule",
    [
        ({"prompt": "Fix the AUTH flow"}, "keyword 'auth'"),
        ({"prompt": "we ship today"}, "keyword 'ship'"),
        ({"prompt": "bump to v3.2 please"}, r"regex '\bv\d+\.\d+'"),
        ({"prompt": "x", "domains": ["security"]}, "domain 'Security'"),
        (
            {"prompt": "x", "files": ["db/migrations/1.py"]},
            "file 'db/migrations/1.py' matches '**/migrations/**'",
        ),
        ({"prompt": "x", "files": ["migrations/1.py"]}, "file 'migrations/1.py' matches '**/migrations/**'"),
        ({"prompt": "x", "files": ["deep/dir/schema.sql"]}, "file 'deep/dir/schema.sql' matches '*.sql'"),
    ],
)
def test_trigger_fires_and_reports_rule(tmp_path, registry, root, request_kwargs, rule) -> None:
    policy = policy_with(tmp_path, registry)
    resolved = resolve_skills(policy, "developer", SkillRequest(**request_kwargs), [root])
    evidence = resolved.evidence
    assert [(t.name, t.when, t.rule) for t in evidence.triggered] == [("sec", "Security work.", rule)]
    assert [(s.name, s.reason) for s in evidence.loaded] == [
        ("alpha", "required"),
        ("beta", "recommended"),
        ("sec", "triggered"),
    ]
    assert "Guidance for sec." in resolved.prompt_section


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"prompt": "the author fixed a relationship bug"},  # 'auth' / 'ship' only as word parts
        {"prompt": "version 3 of v.2"},
        {"prompt": "x", "domains": ["securities"]},
        {"prompt": "x", "files": ["db/migration.py", "src/sql/readme.md"]},
        {"prompt": "nothing here", "domains": [], "files": []},
    ],
)
def test_trigger_does_not_fire_without_match(tmp_path, registry, root, request_kwargs) -> None:
    policy = policy_with(tmp_path, registry)
    assert _fired(policy, SkillRequest(**request_kwargs), [root]) == []


def test_file_glob_semantics() -> None:
    assert file_matches("**/*.sql", "a.sql")
    assert file_matches("**/*.sql", "db/x/a.sql")
    assert file_matches("migrations/*", "migrations/1.sql")
    assert not file_matches("migrations/*", "migrations/sub/1.sql")
    assert not file_matches("migrations/*", "db/migrations/1.sql")
    assert file_matches("**/auth/**", "/repo/src/auth/login.py")
    assert file_matches("src/[!t]*.py", "src/app.py")
    assert not file_matches("src/[!t]*.py", "src/test.py")
    assert file_matches("**/*.sql", r"db\m\1.sql")  # Windows separators


def test_skill_required_and_triggered_loads_once(tmp_path, registry, root) -> None:
    def mutate(d):
        d["roles"]["developer"]["triggered"][0]["skill"] = "alpha"

    policy = policy_with(tmp_path, registry, mutate)
    evidence = resolve_skills(policy, "developer", SkillRequest(prompt="auth"), [root]).evidence
    assert [t.name for t in evidence.triggered] == ["alpha"]
    assert [(s.name, s.reason) for s in evidence.loaded] == [("alpha", "required"), ("beta", "recommended")]


# --- compliance and waivers -----------------------------------------------------------------


def test_role_without_required_is_not_required(tmp_path, registry, root) -> None:
    policy = policy_with(tmp_path, registry)
    for role in ("planner", "validator"):  # validator is not in this policy at all
        evidence = resolve_skills(policy, role, SkillRequest(prompt="x"), [root]).evidence
        assert evidence.compliance == "not_required"


def test_missing_required_is_partial_and_named(tmp_path, registry, root) -> None:
    policy = policy_with(tmp_path, registry)
    (root / "gamma" / "SKILL.md").unlink()
    (root / "gamma").rmdir()
    evidence = resolve_skills(policy, "lead", SkillRequest(prompt="x"), [root]).evidence
    assert evidence.compliance == "partial"
    assert [(m.name, m.required) for m in evidence.missing] == [("gamma", True)]
    assert "not found" in evidence.missing[0].reason
    assert str(root) in evidence.missing[0].reason
    assert [s.name for s in evidence.loaded] == ["alpha"]


def test_missing_recommended_does_not_affect_compliance(tmp_path, registry, root) -> None:
    policy = policy_with(tmp_path, registry)
    (root / "beta" / "SKILL.md").write_text("no front matter", encoding="utf-8")
    evidence = resolve_skills(policy, "developer", SkillRequest(prompt="x"), [root]).evidence
    assert evidence.compliance == "verified"
    assert [(m.name, m.required) for m in evidence.missing] == [("beta", False)]


def test_waiver_makes_missing_required_waived(tmp_path, registry, root) -> None:
    waiver = {
        "role": "lead",
        "skill": "gamma",
        "reason": "Gamma is being rewritten.",
        "approved_by": "lead",
        "plan": None,
    }
    policy = policy_with(tmp_path, registry, lambda d: d["waivers"].append(waiver))
    evidence = resolve_skills(policy, "lead", SkillRequest(prompt="x"), [tmp_path / "empty"]).evidence
    # alpha is missing too and not waived
    assert evidence.compliance == "partial"
    assert [w.skill for w in evidence.waivers] == ["gamma"]

    (tmp_path / "only-alpha").mkdir()
    make_skill(tmp_path / "only-alpha", "alpha")
    evidence = resolve_skills(policy, "lead", SkillRequest(prompt="x"), [tmp_path / "only-alpha"]).evidence
    assert evidence.compliance == "waived"
    assert evidence.waivers[0].model_dump() == {
        "skill": "gamma",
        "reason": "Gamma is being rewritten.",
        "approved_by": "lead",
        "plan": None,
    }
    assert [m.name for m in evidence.missing] == ["gamma"]


def test_waiver_unused_when_skill_loads(tmp_path, registry, root) -> None:
    waiver = {"role": "lead", "skill": "gamma", "reason": "r", "approved_by": "lead"}
    policy = policy_with(tmp_path, registry, lambda d: d["waivers"].append(waiver))
    evidence = resolve_skills(policy, "lead", SkillRequest(prompt="x"), [root]).evidence
    assert evidence.compliance == "verified"
    assert evidence.waivers == []


def test_plan_scoped_waiver_applies_only_to_that_plan(tmp_path, registry) -> None:
    waiver = {
        "role": "developer",
        "skill": "alpha",
        "reason": "Spike plan.",
        "approved_by": "lead",
        "plan": "plan-a",
    }
    policy = policy_with(tmp_path, registry, lambda d: d["waivers"].append(waiver))
    empty = [tmp_path / "none"]
    on_a = resolve_skills(policy, "developer", SkillRequest(prompt="x", plan_id="plan-a"), empty)
    assert on_a.evidence.compliance == "waived"
    assert on_a.evidence.waivers[0].plan == "plan-a"
    for plan_id in ("plan-b", None):
        other = resolve_skills(policy, "developer", SkillRequest(prompt="x", plan_id=plan_id), empty)
        assert other.evidence.compliance == "partial"
        assert other.evidence.waivers == []
    assert on_a.prompt_section == ""


# --- safe loading ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "/etc", "Upper", "x\n", ""])
def test_invalid_or_traversal_names_refused(root, name) -> None:
    found = read_skill(name, [root])
    assert isinstance(found, SkillProblem)
    assert "invalid skill name" in found.reason


def test_symlinked_folder_escaping_root_refused(tmp_path, root) -> None:
    outside = tmp_path / "outside"
    make_skill(outside, "evil")
    (root / "evil").symlink_to(outside / "evil", target_is_directory=True)
    found = read_skill("evil", [root])
    assert isinstance(found, SkillProblem)
    assert "outside the skill root" in found.reason


def test_symlinked_file_escaping_root_refused(tmp_path, root) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("---\nname: leak\ndescription: x\n---\nsecret\n", encoding="utf-8")
    (root / "leak").mkdir()
    (root / "leak" / "SKILL.md").symlink_to(secret)
    found = read_skill("leak", [root])
    assert isinstance(found, SkillProblem)
    assert "outside the skill root" in found.reason


def test_symlink_inside_root_allowed(root) -> None:
    (root / "alias").mkdir()
    make_skill(root, "shared", front_name="alias")
    (root / "alias" / "SKILL.md").symlink_to(root / "shared" / "SKILL.md")
    found = read_skill("alias", [root])
    assert isinstance(found, SkillDocument), found


def test_symlinked_root_itself_is_fine(tmp_path, root) -> None:
    link = tmp_path / "link-root"
    link.symlink_to(root, target_is_directory=True)
    found = read_skill("alpha", [link])
    assert isinstance(found, SkillDocument)
    assert found.root == str(root.resolve())


def test_oversized_skill_refused(root) -> None:
    make_skill(root, "huge", "x" * MAX_SKILL_BYTES)
    found = read_skill("huge", [root])
    assert isinstance(found, SkillProblem)
    assert "per-skill cap" in found.reason


def test_total_cap_refuses_skill_with_reason(tmp_path, registry) -> None:
    big = tmp_path / "big"
    body = "y" * (MAX_SKILL_BYTES - 200)
    for name in ("alpha", "beta", "gamma", "sec"):
        make_skill(big, name, body)
    policy = policy_with(tmp_path, registry, lambda d: d["roles"]["developer"]["recommended"].append("gamma"))
    resolved = resolve_skills(policy, "developer", SkillRequest(prompt="auth"), [big])
    evidence = resolved.evidence
    # Three near-cap skills fit in 96 KiB; the fourth (triggered, loaded last) does not.
    assert [s.name for s in evidence.loaded] == ["alpha", "beta", "gamma"]
    assert sum(s.bytes for s in evidence.loaded) <= MAX_TOTAL_SKILL_BYTES
    assert [(m.name, m.required) for m in evidence.missing] == [("sec", False)]
    assert "total cap" in evidence.missing[0].reason
    assert evidence.compliance == "verified"
    assert resolved.prompt_section.count("### Skill:") == 3


@pytest.mark.parametrize(
    "content, expected",
    [
        ("no front matter here", "missing front matter"),
        ("---\nname: bad\ndescription: x\n", "not closed"),
        ("---\nname: [bad\n---\nbody", "not valid YAML"),
        ("---\n- a list\n---\nbody", "must be a mapping"),
        ("---\nname: other\ndescription: x\n---\nbody", "does not match its folder 'bad'"),
        ("---\nname: bad\n---\nbody", "'description' is missing or empty"),
        ("---\nname: bad\ndescription: '  '\n---\nbody", "'description' is missing or empty"),
    ],
)
def test_malformed_front_matter_reported(root, content, expected) -> None:
    (root / "bad").mkdir()
    (root / "bad" / "SKILL.md").write_text(content, encoding="utf-8")
    found = read_skill("bad", [root])
    assert isinstance(found, SkillProblem)
    assert expected in found.reason


def test_non_utf8_reported(root) -> None:
    (root / "latin").mkdir()
    (root / "latin" / "SKILL.md").write_bytes(b"---\nname: latin\ndescription: caf\xe9\n---\n")
    found = read_skill("latin", [root])
    assert isinstance(found, SkillProblem)
    assert "not UTF-8" in found.reason


def test_folder_without_skill_md_and_directory_skill_md(root) -> None:
    (root / "empty").mkdir()
    assert "not found" in read_skill("empty", [root]).reason
    (root / "dir" / "SKILL.md").mkdir(parents=True)
    assert "not a regular file" in read_skill("dir", [root]).reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_refused_without_blocking(root) -> None:
    (root / "pipe").mkdir()
    os.mkfifo(root / "pipe" / "SKILL.md")
    assert "not a regular file" in read_skill("pipe", [root]).reason


def test_loaded_skill_records_exact_bytes(root) -> None:
    path = make_skill(root, "exact", "Line one.\r\nLine two.\r\n")
    raw = path.read_bytes()
    found = read_skill("exact", [root])
    assert isinstance(found, SkillDocument)
    assert found.sha256 == hashlib.sha256(raw).hexdigest()
    assert found.bytes == len(raw)
    assert found.path == str(path.resolve())
    assert found.body == "Line one.\r\nLine two."


# --- roots -----------------------------------------------------------------------------------


def test_default_roots_order(tmp_path) -> None:
    roots = skill_roots(tmp_path)
    assert roots[0] == tmp_path / ".agents" / "skills"
    assert roots[1] == BUNDLED
    if len(roots) > 2:
        assert roots[2] == Path("~/.hermes/skills").expanduser()


def test_env_override_replaces_defaults(tmp_path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv(SKILL_ROOTS_ENV, os.pathsep.join([str(a), str(b)]))
    assert skill_roots(tmp_path) == [a, b]
    # an explicit argument beats the environment
    assert skill_roots(tmp_path, override=[b]) == [b]


def test_env_roots_used_for_resolution(tmp_path, registry, monkeypatch) -> None:
    custom = tmp_path / "custom"
    make_skill(custom, "alpha", "custom alpha")
    monkeypatch.setenv(SKILL_ROOTS_ENV, str(custom))
    policy = policy_with(tmp_path, registry)
    evidence = resolve_skills(policy, "developer", SkillRequest(prompt="x"), skill_roots()).evidence
    assert evidence.loaded[0].root == str(custom.resolve())
    assert evidence.compliance == "verified"


def test_workspace_skill_wins_over_bundled(tmp_path, default_policy) -> None:
    workspace = tmp_path / "ws"
    local = make_skill(
        workspace / ".agents" / "skills",
        "plan-review",
        "Local plan review rules.",
        description="Local flavour",
    )
    roots = skill_roots(workspace)
    resolved = resolve_skills(default_policy, "lead", SkillRequest(prompt="x"), roots)
    first = resolved.evidence.loaded[0]
    assert first.name == "plan-review"
    assert first.path == str(local.resolve())
    assert "Local plan review rules." in resolved.prompt_section
    second = resolved.evidence.loaded[1]
    assert second.root == str(BUNDLED.resolve())


def test_first_root_with_folder_wins_even_if_broken(tmp_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "alpha").mkdir(parents=True)
    make_skill(second, "alpha")
    found = read_skill("alpha", [tmp_path / "missing-root", first, second])
    assert isinstance(found, SkillProblem)
    assert str(first.resolve() / "alpha") in found.reason


def test_evidence_round_trips_as_json(default_policy) -> None:
    resolved = resolve_skills(
        default_policy, "developer", SkillRequest(prompt="rotate the API token", files=["a.sql"]), [BUNDLED]
    )
    again = type(resolved).model_validate_json(resolved.model_dump_json())
    assert again == resolved
    assert [t.rule for t in again.evidence.triggered] == [
        "keyword 'token'",
        "file 'a.sql' matches '**/*.sql'",
    ]
