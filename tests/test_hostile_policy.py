"""Hostile policy files and skills on a real dev server: refused with a reason, the worker keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from roleteam.errors import PolicyError
from roleteam.skills import load_skill_policy
from roleteam.skills.loader import parse_skill_text
from tests.helpers import ROOT, ask


def alias_bomb(levels: int, key: str = "bomb") -> str:
    """A few hundred bytes of YAML that expand to 9**levels strings."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        ref = f"*l{n - 1}"
        lines.append(f"l{n}: &l{n} [{', '.join([ref] * 9)}]")
    lines.append(f"{key}: *l{levels}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def skill_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "skills"
    shutil.copytree(ROOT / "skills", root)
    monkeypatch.setenv("ROLETEAM_SKILL_ROOTS", str(root))
    return root


async def test_skill_with_an_alias_bomb_is_refused_and_the_role_still_runs(team, worker, plan_id, skill_root):
    bomb = alias_bomb(9, key="name")
    assert len(bomb) < 1000
    (skill_root / "test-first-development" / "SKILL.md").write_text(f"---\n{bomb}description: d\n---\nbody\n")

    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    assert artifact.status == "completed"
    missing = {m.name: m.reason for m in artifact.skills.missing}
    assert "aliases" in missing["test-first-development"], missing


async def test_policy_with_an_alias_bomb_refuses_the_invocation_naming_the_file(
    team, worker, plan_id, policy_copy
):
    path = policy_copy / "roles.yaml"
    path.write_text(path.read_text() + alias_bomb(9))

    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    assert artifact.status == "refused"
    assert "roles.yaml" in artifact.reason and "aliases" in artifact.reason


async def test_backtracking_regex_is_refused_and_other_roles_keep_running(team, worker, plan_id, policy_copy):
    path = policy_copy / "skills.yaml"
    data = yaml.safe_load(path.read_text())
    data["roles"]["developer"]["triggered"][0]["rule"]["regex"] = ["(a+)+$", "(?<=x)y"]
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(PolicyError) as refused:
        load_skill_policy(path=path)
    artifact = await ask(team, plan_id, "developer", "a" * 29 + "!")

    assert "'(?<=x)y' does not compile on RE2" in str(refused.value)
    assert artifact.status == "refused" and "(?<=x)y" in artifact.reason


async def test_policy_regexes_and_globs_run_in_linear_time(team, worker, plan_id, policy_copy):
    # Both would backtrack for hours under Python's re on these inputs.
    path = policy_copy / "skills.yaml"
    data = yaml.safe_load(path.read_text())
    rule = data["roles"]["developer"]["triggered"][0]["rule"]
    rule["regex"] = ["(a+)+$"]
    rule["files"] = ["*a*a*a*a*a*a*a*a*a*a*b"]
    path.write_text(yaml.safe_dump(data))

    artifact = await ask(team, plan_id, "developer", "a" * 40 + "!", files=["a" * 1000])

    assert artifact.status == "completed"
    assert artifact.skills.triggered == []


def test_front_matter_name_of_the_wrong_type_is_named_not_formatted():
    problem = parse_skill_text("x", "---\nname: [1, 2, 3]\ndescription: d\n---\nbody")
    huge = parse_skill_text("x", "---\nname: x\ndescription: " + "d" * 10_000 + "\n---\nbody")

    assert problem == "front matter 'name' must be the text 'x', got list; make it equal"
    assert "over the 4096-byte cap" in huge
