"""Replay checked-in histories: a workflow change that would break running sessions fails here.

Every `tests/histories/*.json` is replayed under the workflow id it was recorded with (read from
its first event), so `info().workflow_id` checks in the workflow see what they saw live.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from roleteam.payload_converter import shared_pydantic_data_converter
from roleteam.worker_runtime import workflow_runner
from roleteam.workflows import ALL_WORKFLOWS

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("*.json"))
LEGACY_WORKFLOW_ID = "role:replay-plan:developer"  # the first file's recorder used this id


def workflow_id(data: dict) -> str:
    """The recorded workflow id: stored beside the events by the plan recorder, or in the
    first event by the others; the first file's recorder used a fixed one."""
    if "workflowId" in data:
        return data["workflowId"]
    started = data["events"][0].get("workflowExecutionStartedEventAttributes", {})
    return started.get("workflowId") or LEGACY_WORKFLOW_ID


def patch_ids(events: list[dict]) -> list[str]:
    """The `workflow.patched` ids a history's markers record, in order."""
    return [
        json.loads(base64.b64decode(p["data"]))["id"]
        for e in events
        if "markerRecordedEventAttributes" in e
        for p in e["markerRecordedEventAttributes"]["details"].get("patch-data", {}).get("payloads", [])
    ]


def scheduled_activities(events: list[dict]) -> list[str]:
    """The activity type of every ActivityTaskScheduled event, in order."""
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    ]


def replayer_of(runner: str) -> Replayer:
    """`sdk`: the SDK's strict sandbox and stock converter, the reference for determinism;
    `worker`: the sandbox runner and data converter roleteam's workers run with."""
    if runner == "sdk":
        return Replayer(workflows=ALL_WORKFLOWS, data_converter=pydantic_data_converter)
    return Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=shared_pydantic_data_converter,
        workflow_runner=workflow_runner({}),
    )


@pytest.mark.parametrize("runner", ["sdk", "worker"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path: Path, runner: str):
    data = json.loads(path.read_text())
    history = WorkflowHistory.from_json(workflow_id(data), data)
    replayer = replayer_of(runner)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_cover_the_lifecycle():
    text = " ".join(p.read_text() for p in HISTORIES)
    for needle in ("retire", "reopen", "summarize_turns", "invoke_and_wait", "load_role_brief"):
        assert needle in text
    for needle in (
        "role_event",
        "plan_directive",
        "review",
        "revalidate",
        "waive",
        "halt",
        "complete",
        "DelegatedRun",
    ):
        assert needle in text, needle


def test_histories_cover_recovery_and_hostile_signals():
    text = (Path(__file__).parent / "histories" / "role_session_recovered.json").read_text()
    for needle in ("recover_role_state", "MARKER_RECORDED", "not-a-contract-signal", "CONTINUED_AS_NEW"):
        assert needle in text


def test_a_history_covers_search_attributes_and_activity_summaries():
    history = json.loads(
        (Path(__file__).parent / "histories" / "role_session_operator_visibility.json").read_text()
    )
    patches = patch_ids(history["events"])
    assert patches == ["operator-visibility-v1"]
    text = json.dumps(history)
    for needle in ("RoleStatus", "TurnCount", "userMetadata", "retire", "summarize_turns"):
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


@pytest.mark.parametrize(
    "name", ["role_session_one_trip_20261125", "role_session_one_trip_news_first_20261125"]
)
def test_histories_cover_one_activity_per_turn_queue_first_and_bounded_artifacts(name):
    history = json.loads((HISTORY_DIR / f"{name}.json").read_text())
    patches = patch_ids(history["events"])
    for patch in ("one-turn-activity", "queue-before-trailing-work", "bounded-held-artifacts"):
        assert patch in patches
    scheduled = scheduled_activities(history["events"])
    assert "run_turn" in scheduled and "summarize_turns" in scheduled
    assert "load_role_brief" not in scheduled and "call_model" not in scheduled
    kinds = {e["eventType"] for e in history["events"]}
    for kind in (
        "EVENT_TYPE_ACTIVITY_TASK_FAILED",  # a model call that failed after its retries
        "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",  # the queued burst
        "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",  # the batched plan reports
        "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
    ):
        assert kind in kinds, kind
    assert (HISTORY_DIR / f"{name.removesuffix('_20261125')}_continued_20261125.json").exists()
    assert ("plan-news-before-queue" in patches) == ("news_first" in name)


@pytest.mark.parametrize("name", ["role_session_turn_refs_20261125", "role_session_turn_span_20261125"])
def test_a_history_covers_recent_turns_by_reference_and_the_verbatim_fallback(name):
    history = json.loads((HISTORY_DIR / f"{name}.json").read_text())
    events = history["events"]
    patches = patch_ids(events)
    assert "recent-turns-by-reference" in patches
    failed = [
        e["activityTaskFailedEventAttributes"]["failure"]
        for e in events
        if "activityTaskFailedEventAttributes" in e
    ]
    assert [f["applicationFailureInfo"]["type"] for f in failed] == ["ContextNotCached"]
    scheduled = scheduled_activities(events)
    assert scheduled.count("run_turn") == 8 and "summarize_turns" in scheduled  # 7 turns + 1 re-send


def test_a_history_covers_a_run_rolled_over_by_events():
    history = json.loads((HISTORY_DIR / "role_session_short_runs_20261125.json").read_text())
    events = history["events"]
    patches = patch_ids(events)
    assert "shorter-runs" in patches
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    assert 900 <= len(events) <= 1_100, "the run ended near EVENTS_PER_RUN, long before 400 turns"


def signals_sent(events: list[dict]) -> list[str]:
    """The signal name of every SignalExternalWorkflowExecutionInitiated event, in order."""
    return [
        e["signalExternalWorkflowExecutionInitiatedEventAttributes"]["signalName"]
        for e in events
        if "signalExternalWorkflowExecutionInitiatedEventAttributes" in e
    ]


def test_histories_cover_one_consolidated_patch_and_reports_in_batches():
    first = json.loads((HISTORY_DIR / "role_session_v2_20261125.json").read_text())["events"]
    continued = json.loads((HISTORY_DIR / "role_session_v2_continued_20261125.json").read_text())["events"]
    for session in (first, continued):
        assert patch_ids(session) == ["session-v2"]  # one marker instead of one per behaviour
    sent = signals_sent(first)
    assert "role_events" in sent and sent[0] == "role_event", sent  # joined goes alone
    types = [e["eventType"] for e in first]
    assert "EVENT_TYPE_TIMER_FIRED" in types and "EVENT_TYPE_TIMER_CANCELED" in types  # delay, count
    assert types[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    assert {"run_turn", "summarize_turns"} <= set(scheduled_activities(first))
    turn_inputs = [
        json.loads(
            base64.b64decode(e["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]["data"])
        )
        for e in first + continued
        if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name") == "run_turn"
    ]
    assert any(t.get("summary_digest") and not t.get("summary") for t in turn_inputs)  # by reference
    assert any(t.get("skills_digest") for t in turn_inputs)
    results = [
        base64.b64decode(e["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]["data"])
        for e in first
        if "activityTaskCompletedEventAttributes" in e
    ]
    assert any(b'"skills_unchanged":true' in r for r in results)  # the evidence named, not sent
    finding = json.loads((HISTORY_DIR / "role_session_v2_finding_20261125.json").read_text())["events"]
    assert patch_ids(finding) == ["session-v2"]
    assert scheduled_activities(finding) == ["run_turn", "report_to_plan"]  # started the plan
    plan = json.loads((HISTORY_DIR / "plan_v2_20261125.json").read_text())["events"]
    assert patch_ids(plan) == ["plan-v2"]
    received = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in plan
        if "workflowExecutionSignaledEventAttributes" in e
    ]
    assert "role_events" in received and "role_event" in received
    assert scheduled_activities(plan) == []  # start-up reads by local activity
