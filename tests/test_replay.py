"""Replay checked-in histories: a workflow change that would break running sessions fails here."""

from __future__ import annotations

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


def test_histories_cover_recovery_and_hostile_signals():
    text = (Path(__file__).parent / "histories" / "role_session_recovered.json").read_text()
    for needle in ("recover_role_state", "MARKER_RECORDED", "not-a-contract-signal", "CONTINUED_AS_NEW"):
        assert needle in text
