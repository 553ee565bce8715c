"""What operators and auditors get of a plan: search attributes, UI details, the bundle on disk,
`plan export`, `roleteam watch`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from roleteam.bundle import confined, safe_name, write_json
from roleteam.errors import InvalidInputError
from roleteam.history import read_transcript
from roleteam.plan_client import PlanTeam
from tests.helpers import eventually, temporal
from tests.plan_helpers import BUG, finding_json


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


def test_bundle_paths_stay_inside_the_root_whatever_the_ids_hold(tmp_path: Path):
    for hostile in ("../../etc/passwd", "a/../../b", "..", ".hidden", "x:y/z", "/abs", "\u202e\x00"):
        path = confined(tmp_path, "plan", "roles", "developer", f"{hostile}.json")
        assert path.resolve().is_relative_to(tmp_path.resolve()) and path.parent.name == "developer"
    assert safe_name("fix:F-0001:r1") == "fix%3AF-0001%3Ar1"
    assert safe_name("..") == "%2E."
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "plan").symlink_to(tmp_path)  # an existing link inside the root
    with pytest.raises(InvalidInputError, match="would leave"):
        confined(tmp_path / "root", "plan", "..", "x")


def test_bundle_files_are_rewritten_only_when_their_content_changes(tmp_path: Path):
    path = tmp_path / "plan" / "roster.json"
    write_json(path, {"developer": "active"})
    first = path.stat().st_ino
    write_json(path, {"developer": "active"})
    assert path.stat().st_ino == first, "the same content is not written again"
    write_json(path, {"developer": "retired"})
    assert path.stat().st_ino != first and '"retired"' in path.read_text()
    assert not list(path.parent.glob(".tmp-*")), "no temporary file is left behind"


async def test_the_bundle_holds_every_invocation_and_the_plans_ledger(team, plans, worker, plan_id, tmp_path):
    await team.invoke(plan_id, "developer", team.request("Step 1.", "dev-1"))
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val/1"))
    await team.retire(plan_id, "developer", "done")
    await team.invoke(plan_id, "developer", team.request("While retired.", "dev-2"))
    root = tmp_path / "bundles" / plan_id

    async def written():
        findings = root / "findings.json"
        if not findings.exists() or not json.loads(findings.read_text()):
            return None
        # A write in progress shows as a `.tmp-*` file for a moment; it is renamed into place.
        files = sorted(
            p.relative_to(root).as_posix() for p in root.rglob("*.json") if not p.name.startswith(".")
        )
        return files if len(files) == 7 else None

    files = await eventually(written)
    assert files == [
        "findings.json",
        "lineage.json",
        "plan.json",
        "roles/developer/000001-dev-1.json",
        "roles/developer/refused-dev-2.json",
        "roles/validator/000001-val%2F1.json",
        "roster.json",
    ]
    artifact = json.loads((root / "roles/validator/000001-val%2F1.json").read_text())
    assert artifact["invocation_id"] == "val/1" and artifact["findings"]["submitted"]
    [finding] = json.loads((root / "findings.json").read_text())
    assert finding["id"] == "F-0001" and finding["raised_by"] == "validator"

    async def no_temp_files_linger():  # the plan may be rewriting its files at any moment
        return not list(root.rglob(".tmp-*"))

    await eventually(no_temp_files_linger)


async def test_plan_export_reproduces_every_turn(cli, team, plans, worker, plan_id, tmp_path):
    for n in range(3):
        await team.invoke(plan_id, "planner", team.request(f"Plan part {n}.", f"p-{n}"))
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await eventually(lambda: _has_findings(plans, plan_id))
    result = await cli("plan", "export", plan_id, str(tmp_path / "archive"), "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["roles"] == {"planner": 3, "validator": 1}
    folder = Path(summary["folder"])
    transcript = await read_transcript(plans.client, f"role:{plan_id}:planner")
    for turn in transcript.turns:
        exported = json.loads(
            (folder / "roles" / "planner" / f"{turn.turn:06d}-{turn.invocation_id}.json").read_text()
        )
        assert (exported["prompt"], exported["reply"]) == (turn.prompt, turn.reply)
    assert json.loads((folder / "plan.json").read_text())["findings"][0]["id"] == "F-0001"


async def _has_findings(plans, plan_id):
    return (await plans.state(plan_id)).findings


async def test_plans_are_found_by_search_attributes_and_show_details(client, team, plans, worker, plan_id):
    await plans.open(plan_id, team="small")
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))

    async def listed():
        result = await temporal(
            client,
            "workflow",
            "list",
            "--query",
            f'PlanId="{plan_id}" AND WorkflowType="Plan" AND OpenFindings=1 AND TeamTemplate="small"',
        )
        assert result.code == 0, result.err
        return json.loads(result.out) or None

    rows = await eventually(listed, timeout=30)
    assert rows[0]["execution"]["workflowId"] == f"plan:{plan_id}"
    metadata = await plans.handle(plan_id).query("__temporal_workflow_metadata")
    details = metadata.current_details
    assert f"**Plan** `{plan_id}` · team `small`" in details and "`F-0001` high · open" in details


async def test_watch_follows_a_plan_live(cli, team, plans, worker, plan_id):
    watching = asyncio.ensure_future(cli("watch", plan_id, "--json", "--interval", "0.2", "--seconds", "10"))
    await asyncio.sleep(3)  # the command starts and looks once before anything exists
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))
    await eventually(lambda: _has_findings(plans, plan_id))
    await asyncio.sleep(2)  # the watcher looks every 0.2 s: let it see the open finding
    await plans.review(plan_id, "F-0001", "reject", "works as designed")
    result = await watching
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines()]
    kinds = [(e["kind"], e["subject"]) for e in events]
    assert ("artifact", "validator val-1") in kinds
    findings = [e["text"] for e in events if e["kind"] == "finding"]
    assert findings[0].startswith("high open (review pending)") and findings[-1].startswith("high rejected")
    assert "waiting for it to start" in result.err
