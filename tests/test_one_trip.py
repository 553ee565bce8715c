"""One activity per invocation (`run_turn`): evidence, queued bursts and old ids, on the dev server."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from roleteam.constants import ACTIVITY_RUN_TURN
from roleteam.errors import RoleteamError
from roleteam.history import read_transcript
from roleteam.models import SessionOptions, TurnInput

ROOT = Path(__file__).resolve().parent.parent
DEVELOPER_REQUIRED = ["test-first-development", "change-reporting"]
SKILL_SENTENCE = b"Reproduce it as a failing test before fixing it"


async def test_one_activity_per_invocation_names_every_skill_with_sha256_and_keeps_skill_text_out(
    team, worker, plan_id, fake_openai
):
    artifact = await team.invoke(plan_id, "developer", team.request("Implement step 1.", "inv-1"))

    assert artifact.status == "completed" and artifact.turn == 1
    evidence = artifact.skills
    assert evidence.compliance == "verified"
    assert [s.name for s in evidence.loaded] == DEVELOPER_REQUIRED
    for loaded in evidence.loaded:
        assert loaded.sha256 == hashlib.sha256(Path(loaded.path).read_bytes()).hexdigest()
    # The model saw the skill text; the workflow's history did not store it.
    assert SKILL_SENTENCE.decode() in fake_openai.chat_requests()[0]["messages"][0]["content"]
    history = await team.handle(plan_id, "developer").fetch_history()
    kinds = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert (
        kinds.count(ACTIVITY_RUN_TURN) == 1 and "load_role_brief" not in kinds and "call_model" not in kinds
    )
    assert SKILL_SENTENCE not in history.to_json().encode()
    state = await team.state(plan_id, "developer")
    assert (state.compliance, state.turns, state.title) == ("verified", 1, "Developer")


async def test_a_failed_model_call_still_records_the_skills_it_loaded(team, worker, plan_id, fake_openai):
    from tests.fake_openai import Scripted

    fake_openai.script.append(Scripted(status=401))
    failed = await team.invoke(plan_id, "developer", team.request("Implement step 1.", "inv-401"))

    assert failed.status == "failed" and failed.turn == 1 and "401" in failed.error
    assert [s.name for s in failed.skills.loaded] == DEVELOPER_REQUIRED
    transcript = await read_transcript(team.client, team.handle(plan_id, "developer").id)
    assert [(t.invocation_id, t.status) for t in transcript.turns] == [("inv-401", "failed")]


async def test_a_mode_the_policy_does_not_allow_is_refused_without_a_turn(team, worker, plan_id):
    refused = await team.invoke(plan_id, "lead", team.request("on a timer", "inv-sched", mode="scheduled"))
    done = await team.invoke(plan_id, "lead", team.request("plan it", "inv-plan"))

    assert refused.status == "refused" and refused.turn is None
    assert "mode 'scheduled' is not allowed for role 'lead'" in refused.reason
    assert refused.skills is not None  # what the policy said is still recorded
    assert done.turn == 1
    transcript = await read_transcript(team.client, team.handle(plan_id, "lead").id)
    assert [t.invocation_id for t in transcript.turns] == ["inv-plan"]


async def test_a_queued_burst_all_completes_in_order(team, worker, plan_id):
    ids = [f"burst-{n}" for n in range(30)]
    for n, invocation_id in enumerate(ids):
        await team.send(plan_id, "developer", team.request(f"step {n}", invocation_id))
    last = await team.invoke(plan_id, "developer", team.request("after the burst", "burst-last"))

    assert last.status == "completed" and last.turn == len(ids) + 1
    artifacts = [await team.artifact(plan_id, "developer", i) for i in ids]
    assert [a.status for a in artifacts] == ["completed"] * len(ids)
    assert [a.turn for a in artifacts] == list(range(1, len(ids) + 1))
    assert all(f"Received: step {n}" in a.reply for n, a in enumerate(artifacts))
    transcript = await read_transcript(team.client, team.handle(plan_id, "developer").id)
    assert [t.invocation_id for t in transcript.turns] == [*ids, "burst-last"]
    # The trailing work caught up: the plan has every artifact, in order.
    for _ in range(100):
        lineage = await plan_lineage(team, plan_id)
        if len(lineage) == len(ids) + 1:
            break
        await asyncio.sleep(0.1)
    assert lineage == [*ids, "burst-last"]


async def plan_lineage(team, plan_id: str) -> list[str]:
    from roleteam.plan_client import PlanTeam

    state = await PlanTeam(team.client, task_queue=team.task_queue).state(plan_id)
    return [entry.invocation_id for entry in state.lineage.entries]


async def test_an_old_invocation_id_still_answers_after_many_newer_ones(client, task_queue, worker, plan_id):
    # Each artifact holds a 90 KB prompt (and the echo reply repeats it), so the session's
    # 512 KiB of held artifacts keeps only the newest few; the rest are known by id only.
    team_ = team_with_small_context(client, task_queue)
    big = "z" * 90_000
    first = await team_.invoke(plan_id, "developer", team_.request("first " + big, "old-0"))
    for n in range(1, 6):
        await team_.invoke(plan_id, "developer", team_.request(f"newer {n} " + big, f"new-{n}"))

    # Artifacts are held until their bundle file is written (after the queue empties); then
    # only the newest within the bound stay.
    for _ in range(100):
        if await team_.artifact(plan_id, "developer", "old-0") is None:
            break
        await asyncio.sleep(0.1)
    with pytest.raises(RoleteamError) as failed:
        await team_.invoke(plan_id, "developer", team_.request("first " + big, "old-0"))
    message = str(failed.value)
    assert "ran earlier in this run of the session (status completed)" in message
    assert "roleteam history" in message
    state = await team_.state(plan_id, "developer")
    assert state.turns == 6  # not run again
    assert await team_.artifact(plan_id, "developer", "old-0") is None
    newest = await team_.artifact(plan_id, "developer", "new-5")
    assert newest is not None and newest.turn == 6
    transcript = await read_transcript(client, team_.handle(plan_id, "developer").id)
    [old] = [t for t in transcript.turns if t.invocation_id == "old-0"]
    assert old.prompt == first.prompt and old.reply == first.reply  # verbatim in history


def team_with_small_context(client, task_queue):
    from roleteam.client import RoleTeam

    return RoleTeam(client, task_queue=task_queue, options=SessionOptions(context_token_budget=200))


async def test_recent_turns_travel_by_reference_and_come_from_the_session_after_a_worker_restart(
    client, task_queue, plan_id
):
    from roleteam.client import RoleTeam
    from roleteam.worker_runtime import build_worker

    team_ = RoleTeam(client, task_queue=task_queue)
    async with build_worker(client, task_queue):
        for n in range(3):
            reply = await team_.invoke(
                plan_id, "developer", team_.request(f"step {n} " + "w" * 2000, f"inv-{n}")
            )
        assert "context: 2 earlier turns verbatim" in reply.reply
    async with build_worker(client, task_queue):  # a new worker holds no turns
        after = await team_.invoke(plan_id, "developer", team_.request("step 3", "inv-3"))
        again = await team_.invoke(plan_id, "developer", team_.request("step 4", "inv-4"))
    # The model still got every recent turn, whichever way they travelled.
    assert "context: 3 earlier turns verbatim" in after.reply
    assert "context: 4 earlier turns verbatim" in again.reply

    history = await team_.handle(plan_id, "developer").fetch_history()
    inputs, failures = [], []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == ACTIVITY_RUN_TURN:
                [step] = await client.data_converter.decode(attrs.input.payloads, [TurnInput])
                span = step.recent_span.count if step.recent_span else 0
                inputs.append((step.brief.invocation_id, len(step.recent_turns), span))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failures.append(event.activity_task_failed_event_attributes.failure.application_failure_info.type)
    assert inputs == [
        ("inv-0", 0, 0),
        ("inv-1", 0, 1),  # the worker that ran turn 1 holds it: named, not sent
        ("inv-2", 0, 2),
        ("inv-3", 0, 3),  # the new worker does not hold them: it asks the session (query) ...
        ("inv-4", 0, 4),  # ... and holds them from then on
    ]
    assert failures == []  # no ContextNotCached round trip, nothing sent verbatim into history
    transcript = await read_transcript(client, team_.handle(plan_id, "developer").id)
    assert [t.invocation_id for t in transcript.turns] == [f"inv-{n}" for n in range(5)]


async def test_the_summary_of_older_turns_travels_by_reference_once_the_worker_has_it(
    client, task_queue, plan_id
):
    from roleteam.client import RoleTeam
    from roleteam.models import SessionOptions
    from roleteam.worker_runtime import build_worker

    team_ = RoleTeam(client, task_queue=task_queue, options=SessionOptions(context_token_budget=400))
    replies = []
    async with build_worker(client, task_queue):
        for n in range(4):  # long turns: the older ones are folded into a summary
            await team_.invoke(plan_id, "developer", team_.request(f"step {n} " + "w" * 1200, f"inv-{n}"))
        for n in range(4, 6):  # short turns: the summary stays as it is
            replies.append(await team_.invoke(plan_id, "developer", team_.request(f"step {n}", f"inv-{n}")))
    async with build_worker(client, task_queue):  # a new worker holds no summary: asks the session
        replies.append(await team_.invoke(plan_id, "developer", team_.request("step 6", "inv-6")))
    summaries = {r.context.summary_chars for r in replies}
    assert len(summaries) == 1 and summaries != {0}, "the same summary for the short turns"
    # The model got the whole summary, whichever way it travelled.
    assert all(f"summary of {r.context.summary_chars} chars" in r.reply for r in replies)

    history = await team_.handle(plan_id, "developer").fetch_history()
    sent, failures = [], []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == ACTIVITY_RUN_TURN:
                [step] = await client.data_converter.decode(attrs.input.payloads, [TurnInput])
                way = "verbatim" if step.summary else "digest" if step.summary_digest else "none"
                sent.append((step.brief.invocation_id, way))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failures.append(event.activity_task_failed_event_attributes.failure.application_failure_info.type)
    assert sent[-2:] == [
        ("inv-5", "digest"),  # sent verbatim before, and the same worker holds it
        ("inv-6", "digest"),  # the new worker does not, and reads it from the session
    ], sent
    assert failures == []  # never sent verbatim again


async def test_unchanged_skill_evidence_stays_out_of_history_but_every_artifact_carries_it(
    team, worker, plan_id, fake_openai
):
    from tests.fake_openai import Scripted

    first = await team.invoke(plan_id, "developer", team.request("Implement step 1.", "inv-1"))
    second = await team.invoke(plan_id, "developer", team.request("Implement step 2.", "inv-2"))
    fake_openai.script.append(Scripted(status=401))
    failed = await team.invoke(plan_id, "developer", team.request("Implement step 3.", "inv-3"))

    assert first.skills is not None and second.skills == first.skills
    assert failed.status == "failed" and failed.skills == first.skills  # from the failure's details
    history = await team.handle(plan_id, "developer").fetch_history()
    results = [
        e.activity_task_completed_event_attributes.result.payloads[0].data
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]
    turns = [json.loads(r) for r in results if b'"skills_unchanged"' in r]
    assert [(t["skills"] is None, t["skills_unchanged"]) for t in turns] == [(False, False), (True, True)]
