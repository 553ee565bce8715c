"""Queued invocations run in `run_turns` batches: the same turns, context and evidence as one at a
time, in fewer round trips (issue 9's queued-throughput lever), against the real dev server."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from roleteam.client import RoleTeam
from roleteam.constants import ACTIVITY_RUN_TURN, ACTIVITY_RUN_TURNS, session_workflow_id
from roleteam.history import read_transcript
from roleteam.models import SessionOptions
from tests.fake_openai import Scripted
from tests.helpers import ask, eventually

ROLE = "developer"


async def queue_behind_a_slow_first_turn(
    team, fake_openai, plan_id: str, prompts: list[str], role: str = ROLE
) -> None:
    """Send every prompt by signal while the first turn's model call is held up, so the rest wait
    in the queue together (as a busy role's invocations do)."""
    fake_openai.script.append(Scripted(delay=1.5))
    for n, prompt in enumerate(prompts):
        await team.send(plan_id, role, team.request(prompt, f"q-{n}"))


async def all_ran(team, plan_id: str, count: int, role: str = ROLE):
    async def check():
        state = await team.state(plan_id, role)
        assert state.pending == 0 and state.running_invocation_id is None, state
        artifacts = [await team.artifact(plan_id, role, f"q-{n}") for n in range(count)]
        assert all(a is not None for a in artifacts), [n for n, a in enumerate(artifacts) if a is None]
        return artifacts

    return await eventually(check, timeout=60)


async def turn_activities(client, workflow_id: str) -> list[str]:
    names = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            if name in (ACTIVITY_RUN_TURN, ACTIVITY_RUN_TURNS):
                names.append(name)
    return names


async def test_queued_invocations_run_in_order_in_fewer_round_trips(
    client, team, worker, fake_openai, plan_id
):
    count = 24
    await queue_behind_a_slow_first_turn(team, fake_openai, plan_id, [f"step {n}" for n in range(count)])
    artifacts = await all_ran(team, plan_id, count)

    assert [a.status for a in artifacts] == ["completed"] * count
    assert [a.turn for a in artifacts] == list(range(1, count + 1))
    # Each turn saw every turn before it, as it would have run alone next.
    assert [a.context.prior_turns for a in artifacts] == list(range(count))
    assert all(a.skills is not None and a.skills.loaded for a in artifacts), "every artifact has evidence"
    # The model was asked in order, each call with the replies before it in its messages.
    calls = fake_openai.chat_requests()
    assert [c["messages"][-1]["content"] for c in calls] == [f"step {n}" for n in range(count)]
    assert artifacts[9].reply in {m["content"] for m in calls[10]["messages"]}

    names = await turn_activities(client, session_workflow_id(plan_id, ROLE))
    assert ACTIVITY_RUN_TURNS in names, names
    assert len(names) <= count // 2, f"{len(names)} turn activities for {count} invocations: {names}"

    transcript = await read_transcript(client, session_workflow_id(plan_id, ROLE))
    assert [(t.turn, t.invocation_id, t.status) for t in transcript.turns] == [
        (n + 1, f"q-{n}", "completed") for n in range(count)
    ]
    assert [t.reply for t in transcript.turns] == [a.reply for a in artifacts]


async def test_folding_older_turns_in_a_queue_matches_one_at_a_time(
    client, task_queue, worker, fake_openai, plan_id
):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(context_token_budget=400))
    prompts = [f"step {n} " + "w" * 500 for n in range(16)]
    await queue_behind_a_slow_first_turn(team, fake_openai, plan_id, prompts)
    queued = await all_ran(team, plan_id, len(prompts))
    alone_plan = f"{plan_id}-alone"
    alone = [await ask(team, alone_plan, ROLE, prompt, f"q-{n}") for n, prompt in enumerate(prompts)]

    def memory(artifacts):
        return [(a.status, a.turn, a.context.prior_turns, a.context.summarized_turns) for a in artifacts]

    # The batch stops where older turns must be folded, so every turn saw what it would have alone.
    assert memory(queued) == memory(alone)
    assert queued[-1].context.summarized_turns > 0, "older turns were folded on the way"
    assert ACTIVITY_RUN_TURNS in await turn_activities(client, session_workflow_id(plan_id, ROLE))


async def test_a_failing_invocation_in_a_batch_fails_alone(client, team, worker, fake_openai, plan_id):
    fake_openai.decide = lambda body: (
        Scripted(status=400) if "FAIL" in str(body["messages"][-1]["content"]) else None
    )
    prompts = [f"step {n}" if n != 3 else "step 3 FAIL" for n in range(8)]
    await queue_behind_a_slow_first_turn(team, fake_openai, plan_id, prompts)
    artifacts = await all_ran(team, plan_id, len(prompts))

    assert [a.status for a in artifacts] == ["completed"] * 3 + ["failed"] + ["completed"] * 4
    assert "400" in (artifacts[3].error or "") or "scripted failure" in (artifacts[3].error or "")
    assert artifacts[3].skills is not None, "a failed turn still carries what it loaded"
    # A failed turn takes its number but stays out of the context, as when run alone.
    assert [a.turn for a in artifacts] == list(range(1, 9))
    assert [a.context.prior_turns for a in artifacts] == [0, 1, 2, 3, 3, 4, 5, 6]


async def test_a_retire_while_a_batch_runs_refuses_what_is_still_queued(
    client, team, worker, fake_openai, plan_id
):
    fake_openai.script += [Scripted(delay=1.5), Scripted(delay=1.5)]  # q-0 alone, then a batch
    for n in range(12):
        await team.send(plan_id, ROLE, team.request(f"step {n}", f"q-{n}"))
    state = await eventually(lambda: _batch_running(team, plan_id), timeout=30)
    in_batch = [state.running_invocation_id, *state.running_batch]
    await team.retire(plan_id, ROLE, reason="stop here")
    artifacts = await all_ran(team, plan_id, 12)

    # What the batch had taken runs (its model calls are under way); the rest is refused.
    ran = {a.invocation_id for a in artifacts if a.status == "completed"}
    assert ran == {"q-0", *in_batch}, (ran, in_batch)
    refused = [a for a in artifacts if a.invocation_id not in ran]
    assert refused and all(a.status == "refused" and "retired" in (a.reason or "") for a in refused)


async def _batch_running(team, plan_id: str):
    state = await team.state(plan_id, ROLE)
    return state if state.running_batch else None


async def test_an_invocation_the_policy_refuses_in_a_batch_takes_no_turn(
    client, team, worker, fake_openai, plan_id
):
    role = "planner"  # persistent and delegated only
    for n in range(6):
        mode = "scheduled" if n == 2 else "persistent"
        if n == 0:
            fake_openai.script.append(Scripted(delay=1.5))  # the rest queue behind the first
        await team.send(plan_id, role, team.request(f"step {n}", f"q-{n}", mode=mode), check=False)
    artifacts = await all_ran(team, plan_id, 6, role)

    assert [a.status for a in artifacts] == ["completed"] * 2 + ["refused"] + ["completed"] * 3
    assert "not allowed" in artifacts[2].reason and artifacts[2].turn is None
    assert artifacts[2].skills is not None, "a refusal still says what the policy loaded"
    assert [a.turn for a in artifacts if a.turn] == [1, 2, 3, 4, 5]
    assert ACTIVITY_RUN_TURNS in await turn_activities(client, session_workflow_id(plan_id, role))
    transcript = await read_transcript(client, session_workflow_id(plan_id, role))
    assert [t.invocation_id for t in transcript.turns] == ["q-0", "q-1", "q-3", "q-4", "q-5"]
    assert [t.turn for t in transcript.turns] == [1, 2, 3, 4, 5]
