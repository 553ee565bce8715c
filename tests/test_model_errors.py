"""Model endpoint failures: retried when transient, recorded when not, the role stays usable."""

from __future__ import annotations

from roleteam.client import RoleTeam
from roleteam.models import SessionOptions
from tests.fake_openai import Scripted
from tests.helpers import ask


async def test_client_error_fails_the_invocation_and_the_role_stays_usable(
    team, worker, plan_id, fake_openai
):
    fake_openai.script = [Scripted(status=400, body={"error": {"message": "context too long"}})]
    failed = await ask(team, plan_id, "developer", "first")
    after = await ask(team, plan_id, "developer", "second")

    assert failed.status == "failed" and failed.turn == 1
    assert "HTTP 400" in failed.error and "context too long" in failed.error
    assert after.status == "completed" and after.turn == 2
    assert len(fake_openai.requests) == 2, "a 400 is not retried"
    # the failed exchange is not replayed as context
    assert [m["content"] for m in fake_openai.requests[1]["body"]["messages"][1:]] == ["second"]


async def test_rate_limit_is_retried_after_the_retry_after_delay(team, worker, plan_id, fake_openai):
    fake_openai.script = [Scripted(status=429, headers={"retry-after": "1"}), Scripted(status=503)]
    artifact = await ask(team, plan_id, "developer", "try until it works")

    assert artifact.status == "completed"
    assert artifact.provider == "openai" and artifact.model == "fake-model"
    assert artifact.usage.total_tokens == 18
    assert len(fake_openai.requests) == 3
    assert (artifact.finished_at - artifact.started_at).total_seconds() >= 1.0


async def test_server_errors_exhaust_attempts_then_fail(client, task_queue, worker, plan_id, fake_openai):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(model_max_attempts=2))
    fake_openai.script = [Scripted(status=500), Scripted(status=502)]
    artifact = await ask(team, plan_id, "developer", "doomed")

    assert artifact.status == "failed" and "HTTP 502" in artifact.error
    assert len(fake_openai.requests) == 2


async def test_api_key_is_sent_to_the_endpoint_but_never_enters_history(team, worker, plan_id, fake_openai):
    await ask(team, plan_id, "developer", "hello")
    assert fake_openai.requests[0]["authorization"] == "Bearer sk-test-not-a-secret"
    history = await team.handle(plan_id, "developer").fetch_history()
    assert "sk-test-not-a-secret" not in history.to_json()


async def test_missing_api_key_fails_with_a_clear_message(team, worker, plan_id, fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    artifact = await ask(team, plan_id, "developer", "hello")
    assert artifact.status == "failed" and "OPENAI_API_KEY is not set" in artifact.error
    assert fake_openai.requests == []


async def test_oversized_reply_is_capped(team, worker, plan_id, fake_openai):
    huge = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "z" * 3_000_000},
            }
        ],
    }
    fake_openai.script = [Scripted(body=huge)]
    artifact = await ask(team, plan_id, "developer", "write a novel")
    assert artifact.status == "completed" and artifact.reply_truncated
    assert len(artifact.reply.encode()) <= 128 * 1024
