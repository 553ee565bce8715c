"""Governed skills on the real dev server: what each invocation loaded, and what reached the model."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, ask

BUNDLED = ROOT / "skills"
DEVELOPER_REQUIRED = ["test-first-development", "change-reporting"]


@pytest.fixture
def skill_root(tmp_path, monkeypatch) -> Path:
    """A skill root holding only what a test puts there."""
    root = tmp_path / "skills"
    root.mkdir()
    monkeypatch.setenv("ROLETEAM_SKILL_ROOTS", str(root))
    return root


def copy_skill(name: str, root: Path) -> None:
    shutil.copytree(BUNDLED / name, root / name)


async def test_all_required_skills_loaded_is_verified_and_reaches_the_model(
    team, worker, plan_id, fake_openai
):
    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    evidence = artifact.skills
    assert evidence.compliance == "verified"
    assert evidence.required == DEVELOPER_REQUIRED
    assert [s.name for s in evidence.loaded] == DEVELOPER_REQUIRED
    assert evidence.missing == [] and evidence.triggered == []
    loaded = evidence.loaded[0]
    skill_file = BUNDLED / "test-first-development" / "SKILL.md"
    assert loaded.sha256 == hashlib.sha256(skill_file.read_bytes()).hexdigest()
    assert loaded.root == str(BUNDLED) and loaded.path == str(skill_file)
    assert evidence.policy_version and len(evidence.policy_sha256) == 64
    system = fake_openai.chat_requests()[0]["messages"][0]["content"]
    assert "Reproduce it as a failing test before fixing it" in system  # the skill's own text
    assert "Report what changed" in system or "change-reporting" in system
    state = await team.state(plan_id, "developer")
    assert state.compliance == "verified"


async def test_missing_required_skill_is_partial_and_named(team, worker, plan_id, skill_root):
    copy_skill("test-first-development", skill_root)
    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    assert artifact.status == "completed"
    evidence = artifact.skills
    assert evidence.compliance == "partial"
    assert [m.name for m in evidence.missing] == ["change-reporting"]
    assert evidence.missing[0].required and "not found" in evidence.missing[0].reason
    assert (await team.state(plan_id, "developer")).compliance == "partial"


async def test_waiver_by_the_lead_gives_waived(team, worker, plan_id, skill_root, policy_copy):
    copy_skill("test-first-development", skill_root)
    skills_yaml = policy_copy / "skills.yaml"
    skills_yaml.write_text(
        skills_yaml.read_text().replace(
            "waivers: []",
            (
                "waivers:\n  - role: developer\n    skill: change-reporting\n"
                "    reason: reporting template being rewritten\n    approved_by: lead\n"
            ),
        )
    )
    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    evidence = artifact.skills
    assert evidence.compliance == "waived"
    assert [(w.skill, w.reason, w.approved_by) for w in evidence.waivers] == [
        ("change-reporting", "reporting template being rewritten", "lead")
    ]


async def test_trigger_fires_only_when_its_rule_matches(team, worker, plan_id):
    plain = await ask(team, plan_id, "developer", "Rename a variable in the parser.")
    by_file = await ask(
        team, plan_id, "developer", "Add the index.", files=["db/migrations/0002_add_index.sql"]
    )
    by_word = await ask(team, plan_id, "developer", "Rotate the API token for the service.")

    assert plain.skills.triggered == []
    assert "database-migration" not in [s.name for s in plain.skills.loaded]
    [fired] = by_file.skills.triggered
    assert fired.name == "database-migration" and "db/migrations/0002_add_index.sql" in fired.rule
    assert "database-migration" in [s.name for s in by_file.skills.loaded]
    assert [t.name for t in by_word.skills.triggered] == ["security-review"]
    assert "token" in by_word.skills.triggered[0].rule


async def test_symlink_escape_and_oversized_skill_are_refused(team, worker, plan_id, skill_root, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(BUNDLED / "test-first-development", outside)
    (skill_root / "test-first-development").symlink_to(outside, target_is_directory=True)
    (skill_root / "change-reporting").mkdir()
    (skill_root / "change-reporting" / "SKILL.md").write_text(
        "---\nname: change-reporting\ndescription: big\n---\n" + "x" * 40_000
    )
    artifact = await ask(team, plan_id, "developer", "Implement step 1.")

    evidence = artifact.skills
    assert evidence.compliance == "partial" and evidence.loaded == []
    reasons = {m.name: m.reason for m in evidence.missing}
    assert "escape" in reasons["test-first-development"]
    assert "bytes" in reasons["change-reporting"]
    assert artifact.status == "completed", "a bad skill file never crashes the role"


async def test_policy_and_skill_edits_apply_at_the_next_invocation(
    team, worker, plan_id, policy_copy, skill_root, fake_openai
):
    for name in DEVELOPER_REQUIRED:
        copy_skill(name, skill_root)
    before = await ask(team, plan_id, "developer", "Step one.")
    skills_yaml = policy_copy / "skills.yaml"
    text = skills_yaml.read_text()
    skills_yaml.write_text(text.replace('version: "2026.11.1"', 'version: "2026.11.2"', 1))
    skill_md = skill_root / "change-reporting" / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nAlways list the commands you ran.\n")
    after = await ask(team, plan_id, "developer", "Step two.")

    assert (before.skills.policy_version, after.skills.policy_version) == ("2026.11.1", "2026.11.2")
    assert before.skills.policy_sha256 != after.skills.policy_sha256
    sha = {a.invocation_id: {s.name: s.sha256 for s in a.skills.loaded} for a in (before, after)}
    assert sha[before.invocation_id]["change-reporting"] != sha[after.invocation_id]["change-reporting"]
    assert "Always list the commands you ran." in fake_openai.chat_requests()[1]["messages"][0]["content"]
    assert "Always list the commands you ran." not in fake_openai.chat_requests()[0]["messages"][0]["content"]
    # both were recorded as they happened: the first artifact still shows the old evidence
    assert (await team.artifact(plan_id, "developer", before.invocation_id)).skills == before.skills


async def test_broken_policy_refuses_the_invocation_with_the_reason(team, worker, plan_id, policy_copy):
    (policy_copy / "skills.yaml").write_text("version: 1\nroles: {developer: {required: [ghost]}}\n")
    refused = await ask(team, plan_id, "developer", "Anything.")
    assert refused.status == "refused"
    assert "skills.yaml: version: Input should be a valid string" in refused.reason
    assert "skills: Field required" in refused.reason
    (policy_copy / "skills.yaml").write_text((ROOT / "policies" / "skills.yaml").read_text())
    assert (await ask(team, plan_id, "developer", "Again.")).status == "completed"
