"""RoleSession behaviour on a real Temporal dev server."""

from __future__ import annotations

import asyncio

import pytest

from roleteam.constants import MAX_PROMPT_BYTES, session_workflow_id
from roleteam.errors import InvalidInputError, InvocationRefusedError, RoleteamError, UnknownRoleError
from roleteam.models import InvokeInput
from tests.helpers import ask


async def test_role_resumes_its_conversation_across_invocations(team, worker, plan_id):
    first = await ask(team, plan_id, "developer", "Remember the codeword PELICAN.")
    second = await ask(team, plan_id, "dev", "What was the codeword?")

    assert first.status == second.status == "completed"
    assert (first.turn, second.turn) == (1, 2)
    assert first.workflow_id == second.workflow_id == session_workflow_id(plan_id, "developer")
    assert "What was the codeword?" in second.reply
    assert second.context.prior_turns == 1
    state = await team.state(plan_id, "Developer")
    assert (state.turns, state.status, state.generation) == (2, "active", 1)
    assert state.last_invocation_id == second.invocation_id


async def test_roles_and_plans_are_isolated(team, worker, plan_id, fake_openai):
    other_plan = plan_id + "-b"
    await ask(team, plan_id, "developer", "secret of plan A developer")
    await ask(team, other_plan, "developer", "plan B developer speaks")
    await ask(team, plan_id, "validator", "plan A validator speaks")

    bodies = fake_openai.chat_requests()
    assert len(bodies) == 3
    for body in bodies[1:]:
        assert "secret of plan A developer" not in str(body["messages"])
    assert [len(b["messages"]) for b in bodies] == [2, 2, 2]  # system + the prompt, no leak
    assert "Validator" in bodies[2]["messages"][0]["content"]
    states = await team.plan_status(plan_id)
    assert states["developer"].turns == 1 and states["validator"].turns == 1
    assert states["lead"] is None


async def test_repeated_invocation_id_never_runs_twice(team, worker, plan_id, fake_openai):
    request = team.request("do the thing once", "inv-once")
    await team.send(plan_id, "planner", request)
    await team.send(plan_id, "planner", request)
    first = await team.invoke(plan_id, "planner", request)
    again = await team.invoke(plan_id, "planner", request)

    assert first == again
    assert len(fake_openai.chat_requests()) == 1
    assert (await team.state(plan_id, "planner")).turns == 1


async def test_signals_run_one_at_a_time_in_arrival_order(team, worker, plan_id):
    ids = [f"inv-{n}" for n in range(5)]
    for n, invocation_id in enumerate(ids):
        await team.send(plan_id, "developer", team.request(f"step {n}", invocation_id))
    last = await team.invoke(plan_id, "developer", team.request("step 4", ids[-1]))
    artifacts = [await team.artifact(plan_id, "developer", i) for i in ids]

    assert [a.turn for a in artifacts] == [1, 2, 3, 4, 5]
    assert last.turn == 5
    for earlier, later in zip(artifacts, artifacts[1:], strict=False):
        assert earlier.finished_at <= later.started_at


async def test_retire_refuses_and_reopen_resumes_with_trail(team, worker, plan_id):
    await ask(team, plan_id, "validator", "Check step 1.")
    await team.retire(plan_id, "validator", "step 1 validated", by="lead")
    refused = await ask(team, plan_id, "validator", "Check step 2?")
    signalled = team.request("queued while retired")
    with pytest.raises(InvocationRefusedError, match="is retired"):  # the sender hears of it
        await team.send(plan_id, "validator", signalled)
    await team.reopen(plan_id, "validator", "findings to revalidate", by="lead")
    resumed = await ask(team, plan_id, "validator", "Revalidate the fix.")
    await team.retire(plan_id, "validator", "done again", by="lead")

    assert refused.status == "refused" and refused.turn is None
    assert "retired" in refused.reason and "step 1 validated" in refused.reason
    assert (await team.artifact(plan_id, "validator", signalled.invocation_id)).status == "refused"
    assert resumed.status == "completed" and resumed.generation == 2 and resumed.turn == 2
    assert resumed.context.prior_turns == 1  # the history from before retirement is kept
    state = await team.state(plan_id, "validator")
    assert state.status == "retired"
    assert [(e.action, e.reason, e.requested_by, e.generation) for e in state.lifecycle] == [
        ("retire", "step 1 validated", "lead", 1),
        ("reopen", "findings to revalidate", "lead", 2),
        ("retire", "done again", "lead", 2),
    ]


async def test_history_replay_and_compaction_reach_the_model(
    client, task_queue, worker, plan_id, fake_openai
):
    from roleteam.client import RoleTeam
    from roleteam.models import SessionOptions

    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(context_token_budget=300))
    prompts = [f"turn {n}: " + "detail " * 60 for n in range(1, 7)]
    for prompt in prompts:
        artifact = await ask(team, plan_id, "planner", prompt)
        assert artifact.status == "completed"

    calls = fake_openai.chat_requests()
    summaries = [r["body"] for r in fake_openai.requests if r["body"] not in calls]
    second = calls[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == prompts[0]  # prior turn replayed verbatim
    last = calls[-1]["messages"]
    assert "Summary of your earlier turns" in last[0]["content"]
    assert prompts[0] not in str(last)  # oldest turns folded, not resent
    assert last[-1]["content"] == prompts[-1]
    assert summaries, "compaction called the summarisation activity"
    assert prompts[0] in summaries[0]["messages"][1]["content"]
    # every call stays within budget: system + summary + recent turns, never the whole transcript
    assert max(len(str(c["messages"])) for c in calls) < 4 * 300 * 2 + 4_000
    state = await team.state(plan_id, "planner")
    assert state.summarized_turns >= 3 and state.turns == 6


async def test_continue_as_new_preserves_everything(client, task_queue, worker, plan_id):
    from roleteam.client import RoleTeam
    from roleteam.history import read_transcript
    from roleteam.models import SessionOptions

    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(turns_per_run=3))
    ids = [f"inv-{n:02d}" for n in range(10)]
    for n, invocation_id in enumerate(ids[:4]):
        await ask(team, plan_id, "lead", f"decision {n}", invocation_id)
    await team.retire(plan_id, "lead", "pause", by="ops")
    await team.reopen(plan_id, "lead", "resume", by="ops")
    for n, invocation_id in enumerate(ids[4:], start=4):  # queued by signal, carried across runs
        await team.send(plan_id, "lead", team.request(f"decision {n}", invocation_id))
    last = await ask(team, plan_id, "lead", "decision 9", ids[-1])
    replay = await ask(team, plan_id, "lead", "decision 0", ids[0])  # from the first run

    state = await team.state(plan_id, "lead")
    assert last.turn == 10 and state.turns == 10
    assert state.runs >= 3 and replay == await team.artifact(plan_id, "lead", ids[0])
    assert replay.turn == 1 and replay.prompt == "decision 0"
    assert state.generation == 2 and [e.action for e in state.lifecycle] == ["retire", "reopen"]
    assert state.turns == 10, "the first run's invocation was not run again"
    transcript = (await read_transcript(client, session_workflow_id(plan_id, "lead"))).turns
    assert [t.turn for t in transcript] == list(range(1, 11))
    assert [t.prompt for t in transcript] == [f"decision {n}" for n in range(10)]
    assert all(f"decision {t.turn - 1}" in t.reply for t in transcript)
    # The waiter for the last queued invocation lets go at each roll-over (its client retries),
    # so no run goes past its 3-turn backstop by more than the turn already running.
    runs = [t.run_id for t in transcript]
    assert max(runs.count(r) for r in set(runs)) <= 4
    assert len(set(runs)) >= 3


async def test_invalid_requests_are_rejected_at_the_edge(team, worker, plan_id):
    with pytest.raises(InvalidInputError, match="invalid plan id"):
        await ask(team, "bad plan/id", "lead", "hi")
    with pytest.raises(UnknownRoleError, match="valid roles: lead"):
        await ask(team, plan_id, "wizard", "hi")
    with pytest.raises(InvalidInputError, match=f"limit is {MAX_PROMPT_BYTES} bytes"):
        team.request("x" * (MAX_PROMPT_BYTES + 1))
    with pytest.raises(InvalidInputError, match="invocation_id"):
        team.request("hi", "../etc")
    with pytest.raises(InvalidInputError, match="invocation_id"):
        team.request("hi", "x1\n")  # would otherwise be a different id that looks the same


async def test_oversized_prompt_never_wedges_the_session(team, worker, plan_id):
    big = InvokeInput(invocation_id="inv-big", prompt="x" * 1_500_000)
    with pytest.raises(RoleteamError, match="limit is"):
        await team.invoke(plan_id, "developer", big)  # the update validator rejects it
    with pytest.raises(InvocationRefusedError, match="limit is"):
        await team.send(plan_id, "developer", big)  # a signal is recorded as refused
    refused = await team.artifact(plan_id, "developer", "inv-big")
    assert refused.status == "refused" and "limit is" in refused.reason
    assert len(refused.prompt.encode()) <= MAX_PROMPT_BYTES
    largest = await ask(team, plan_id, "developer", "y" * MAX_PROMPT_BYTES)
    assert largest.status == "completed" and "y" * MAX_PROMPT_BYTES in largest.reply


async def test_mode_not_allowed_for_role_is_refused(team, worker, plan_id):
    refused = await ask(team, plan_id, "lead", "run this later", mode="scheduled")
    assert refused.status == "refused"
    assert "mode 'scheduled' is not allowed for role 'lead'" in refused.reason
    ok = await ask(team, plan_id, "developer", "run this one-off", mode="delegated")
    assert ok.status == "completed" and ok.mode == "delegated"


async def test_more_waiting_callers_than_the_server_admits_all_get_their_artifacts(team, worker, plan_id):
    # The dev server admits 10 waiting updates per workflow; the client queues the rest by signal.
    callers = 25
    results = await asyncio.gather(
        *(ask(team, plan_id, "developer", f"parallel {n}.", f"inv-par-{n}") for n in range(callers))
    )
    assert sorted(a.turn for a in results) == list(range(1, callers + 1))
    assert all(f"parallel {a.invocation_id.rsplit('-', 1)[1]}." in a.reply for a in results)


async def test_largest_prompt_of_control_characters_still_fits_every_payload(team, worker, plan_id):
    # JSON escapes each of these as \u0001: six bytes a character in every payload it enters.
    nasty = "\x01" * MAX_PROMPT_BYTES
    first = await ask(team, plan_id, "developer", nasty)
    second = await ask(team, plan_id, "developer", "and a normal one")

    assert first.status == "completed" and nasty in first.reply
    assert second.status == "completed" and second.turn == 2
    state = await team.state(plan_id, "developer")
    assert state.context_tokens <= 8_000  # the oversized turn was folded into the summary
