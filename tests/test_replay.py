"""Replay checked-in histories: a workflow change that would break running sessions fails here.

Every `tests/histories/*.json` is replayed under the workflow id it was recorded with (read from
its first event), so `info().workflow_id` checks in the workflow see what they saw live.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import RoleSession

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("*.json"))
LEGACY_WORKFLOW_ID = "role:replay-plan:developer"  # the first file's recorder used this id


def recorded_workflow_id(text: str) -> str:
    started = json.loads(text)["events"][0].get("workflowExecutionStartedEventAttributes", {})
    return started.get("workflowId") or LEGACY_WORKFLOW_ID


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path: Path):
    text = path.read_text()
    history = WorkflowHistory.from_json(recorded_workflow_id(text), text)
    replayer = Replayer(workflows=[RoleSession], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_cover_the_lifecycle():
    text = (HISTORY_DIR / "role_session_lifecycle.json").read_text()
    for needle in ("retire", "reopen", "summarize_turns", "invoke_and_wait", "load_role_brief"):
        assert needle in text


def test_histories_cover_rollover_refusal_and_failure():
    events = {p.stem: [e["eventType"] for e in json.loads(p.read_text())["events"]] for p in HISTORIES}
    continued = "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    assert any(t[-1] == continued for t in events.values()), "a run that was continued"
    assert any(
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"].get(
            "continuedExecutionRunId"
        )
        for p in HISTORIES
    ), "a run that started from a continue-as-new"
    assert any("EVENT_TYPE_ACTIVITY_TASK_FAILED" in t for t in events.values()), "a failed model call"
    assert any("retired" in p.stem for p in HISTORIES), "an invocation refused while retired"
