"""Refusals a sender can see, and failed invocations that can be run again on request."""

from __future__ import annotations

import asyncio

import pytest

from roleteam.client import RoleTeam
from roleteam.constants import MAX_PENDING_INVOCATIONS
from roleteam.errors import InvocationRefusedError
from roleteam.models import SessionOptions
from tests.fake_openai import Scripted

BAD_REQUEST = Scripted(status=400, body={"error": {"message": "context too long"}})


async def test_a_failed_invocation_is_returned_until_retried_and_a_completed_one_never_reruns(
    team, worker, plan_id, fake_openai
):
    fake_openai.script = [BAD_REQUEST]
    failed = await team.invoke(plan_id, "developer", team.request("first try", "job-1"))
    again = await team.invoke(plan_id, "developer", team.request("first try", "job-1"))
    assert failed.status == again.status == "failed" and again.turn == 1
    assert len(fake_openai.requests) == 1, "a repeat without retry returns the stored failure"

    retried = await team.invoke(plan_id, "developer", team.request("first try", "job-1", retry=True))
    assert retried.status == "completed" and retried.turn == 2
    assert len(fake_openai.requests) == 2

    repeat = await team.invoke(plan_id, "developer", team.request("first try", "job-1", retry=True))
    assert repeat.status == "completed" and repeat.turn == 2, "a completed invocation never reruns"
    assert len(fake_openai.requests) == 2
    state = await team.state(plan_id, "developer")
    assert state.turns == 2


async def test_retry_by_signal_reruns_a_failed_invocation(team, worker, plan_id, fake_openai):
    fake_openai.script = [BAD_REQUEST]
    assert (await team.invoke(plan_id, "developer", team.request("x", "job-2"))).status == "failed"
    await team.send(plan_id, "developer", team.request("x", "job-2", retry=True))
    for _ in range(100):
        artifact = await team.artifact(plan_id, "developer", "job-2")
        if artifact and artifact.status == "completed":
            break
        await asyncio.sleep(0.1)
    assert artifact.status == "completed" and artifact.turn == 2


async def test_cli_names_retry_for_a_failed_invocation_and_retry_reruns_it(
    cli,
    worker,
    plan_id,
    fake_openai,
):
    fake_openai.script = [BAD_REQUEST]
    first = await cli("invoke", plan_id, "dev", "build it", "--id", "job-3")
    assert first.code == 3
    assert "--id job-3 --retry" in first.err

    repeat = await cli("invoke", plan_id, "dev", "build it", "--id", "job-3", "--json")
    assert repeat.code == 3 and repeat.json()["status"] == "failed"
    assert len(fake_openai.chat_requests()) == 1

    retried = await cli("invoke", plan_id, "dev", "build it", "--id", "job-3", "--retry", "--json")
    assert retried.code == 0, retried.err
    assert retried.json()["status"] == "completed"

    no_id = await cli("invoke", plan_id, "dev", "build it", "--retry")
    assert no_id.code == 1 and "--retry needs --id" in no_id.err


async def test_send_reports_an_invocation_refused_while_retired(team, worker, plan_id, cli):
    await team.invoke(plan_id, "validator", team.request("check"))
    await team.retire(plan_id, "validator", "done for now")
    with pytest.raises(InvocationRefusedError, match="is retired"):
        await team.send(plan_id, "validator", team.request("more", "late-1"))

    result = await cli("invoke", plan_id, "qa", "more", "--id", "late-2", "--no-wait", "--json")
    assert result.code == 3
    assert result.json()["status"] == "refused" and "is retired" in result.json()["reason"]


async def test_send_reports_a_full_queue(client, task_queue, worker, plan_id, fake_openai):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(model_heartbeat_timeout_seconds=5))
    fake_openai.script = [Scripted(delay=3.0)]  # the first call holds the queue up
    fake_openai.request_arrived.clear()
    await team.send(plan_id, "developer", team.request("slow", "q-running"))
    await asyncio.to_thread(fake_openai.request_arrived.wait, 10)
    for n in range(MAX_PENDING_INVOCATIONS):
        await team.send(plan_id, "developer", team.request(f"wait {n}", f"q-{n}"), check=False)
    with pytest.raises(InvocationRefusedError, match="queue is full"):
        await team.send(plan_id, "developer", team.request("one too many", "q-extra"))


async def test_transient_rpc_errors_are_sent_again_and_others_are_not(monkeypatch):
    from temporalio.service import RPCError, RPCStatusCode

    from roleteam import client as client_module

    monkeypatch.setattr(client_module, "backoff", lambda attempt: 0)
    closing = RPCError(
        "workflow operation can not be applied because workflow is closing",
        RPCStatusCode.FAILED_PRECONDITION,
        b"",
    )
    answers = [closing, RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""), "sent"]

    async def flaky():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await client_module.with_retries(flaky) == "sent"

    calls = []

    async def refused():
        calls.append(1)
        raise RPCError("invalid argument", RPCStatusCode.INVALID_ARGUMENT, b"")

    with pytest.raises(RPCError, match="invalid argument"):
        await client_module.with_retries(refused)
    assert len(calls) == 1, "a request the server refused as bad is not sent again"

    async def always_closing():
        calls.append(1)
        raise closing

    calls.clear()
    with pytest.raises(RPCError, match="closing"):
        await client_module.with_retries(always_closing)
    assert len(calls) == client_module.TRANSIENT_RETRIES, "retries are bounded"
