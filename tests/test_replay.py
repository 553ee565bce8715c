"""Replay checked-in histories: a workflow change that would break running sessions fails here."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import RoleSession

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path: Path):
    history = WorkflowHistory.from_json("role:replay-plan:developer", path.read_text())
    replayer = Replayer(workflows=[RoleSession], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_cover_the_lifecycle():
    text = HISTORIES[0].read_text()
    for needle in ("retire", "reopen", "summarize_turns", "invoke_and_wait", "load_role_brief"):
        assert needle in text


def test_a_history_covers_search_attributes_and_activity_summaries():
    history = json.loads(
        (Path(__file__).parent / "histories" / "role_session_operator_visibility.json").read_text()
    )
    patches = [
        json.loads(base64.b64decode(p["data"]))["id"]
        for e in history["events"]
        if "markerRecordedEventAttributes" in e
        for p in e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"]
    ]
    assert patches == ["operator-visibility-v1"]
    text = json.dumps(history)
    for needle in ("RoleStatus", "TurnCount", "userMetadata", "retire", "summarize_turns"):
        assert needle in text
