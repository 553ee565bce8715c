"""The worker parses policy once and again only when a file's bytes change: edits still apply at
the next invocation, and the evidence names exactly the bytes that were used."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from roleteam.errors import PolicyError
from roleteam.teams import load_team_policy
from tests.helpers import ask


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_role_and_registry_edits_apply_at_the_next_invocation(
    team, worker, plan_id, policy_copy, fake_openai
):
    roles, skills = policy_copy / "roles.yaml", policy_copy / "skills.yaml"
    first = await ask(team, plan_id, "developer", "Step one.")
    roles.write_text(roles.read_text().replace("in small steps", "in very small steps", 1))
    second = await ask(team, plan_id, "developer", "Step two.")

    systems = [r["messages"][0]["content"] for r in fake_openai.chat_requests()]
    assert "in small steps" in systems[0] and "in very small steps" in systems[1]
    assert first.skills.policy_sha256 == second.skills.policy_sha256 == sha256(skills)

    # The skill policy is checked against the registry: a registry edit that breaks it is
    # noticed at the next invocation even though skills.yaml itself did not change.
    original = roles.read_text()
    start = original.index("  release-manager:")
    roles.write_text(original[:start])
    refused = await ask(team, plan_id, "developer", "Step three.")
    assert refused.status == "refused"
    assert "'release-manager' is not a role id" in refused.reason
    roles.write_text(original)
    assert (await ask(team, plan_id, "developer", "Step four.")).status == "completed"


def test_team_policy_reloads_when_its_file_or_the_registry_changes(policy_copy):
    teams = policy_copy / "teams.yaml"
    before = load_team_policy()
    assert before.sha256 == sha256(teams)
    teams.write_text(teams.read_text().replace("version:", "# edited\nversion:", 1))
    after = load_team_policy()
    assert after.sha256 == sha256(teams) != before.sha256

    roles = policy_copy / "roles.yaml"
    text = roles.read_text()
    roles.write_text(text[: text.index("  release-manager:")])
    with pytest.raises(PolicyError, match="release-manager"):
        load_team_policy()
