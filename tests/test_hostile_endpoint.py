"""A hostile model endpoint on a real dev server: bounded, redacted, one clear line per failure."""

from __future__ import annotations

from roleteam.client import RoleTeam
from roleteam.history import read_transcript
from roleteam.models import SessionOptions
from tests.fake_openai import Scripted
from tests.helpers import ask


def completion(**overrides) -> dict:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    body.update(overrides)
    return body


async def test_huge_model_name_and_silly_usage_are_bounded(team, worker, plan_id, fake_openai):
    fake_openai.script = [
        Scripted(body=completion(model="m" * 1_800_000, usage={"prompt_tokens": "many", "total_tokens": -5})),
        Scripted(body=completion(usage={"prompt_tokens": 10**30, "completion_tokens": 3, "total_tokens": 7})),
    ]
    first = await ask(team, plan_id, "developer", "one")
    second = await ask(team, plan_id, "developer", "two")
    after = await ask(team, plan_id, "developer", "three")

    assert first.status == "completed" and first.reply == "ok"  # a good reply survives bad usage
    assert len(first.model) == 200 and first.usage.total_tokens == 0
    assert second.usage.prompt_tokens == 10**12 and second.usage.total_tokens == 7
    assert after.status == "completed" and after.turn == 3


async def test_api_key_echoed_in_an_error_is_redacted_everywhere(team, worker, plan_id, fake_openai, caplog):
    echoed = "invalid header Authorization: Bearer sk-test-not-a-secret (also sk-live-abcdefghijkl)"
    fake_openai.script = [Scripted(status=401, body={"error": {"message": echoed}})]
    failed = await ask(team, plan_id, "developer", "hello")

    history = await team.handle(plan_id, "developer").fetch_history()
    transcript = await read_transcript(team.client, f"role:{plan_id}:developer")
    assert failed.status == "failed" and "HTTP 401" in failed.error and "Bearer [redacted]" in failed.error
    for text in (failed.error, history.to_json(), caplog.text, str(transcript)):
        assert "not-a-secret" not in text and "abcdefghijkl" not in text


async def test_unusable_answers_fail_with_one_clear_line(client, task_queue, worker, plan_id, fake_openai):
    team = RoleTeam(client, task_queue=task_queue, options=SessionOptions(model_max_attempts=2))
    fake_openai.script = [
        Scripted(raw=b"<html><body>Welcome to nginx</body></html>", content_type="text/html"),
        Scripted(body={"error": {"message": "model overloaded"}}),
        Scripted(status=503, headers={"retry-after": "nan"}),
    ]
    html = await ask(team, plan_id, "developer", "one")
    error_object = await ask(team, plan_id, "developer", "two")
    retried = await ask(team, plan_id, "developer", "three")

    assert (
        html.status == "failed" and "not a chat completion" in html.error and "OPENAI_BASE_URL" in html.error
    )
    assert "\n" not in html.error
    assert error_object.status == "failed" and "no choices" in error_object.error
    assert "model overloaded" in error_object.error
    assert retried.status == "completed"  # retry-after: nan falls back to the policy's backoff
