"""The openai provider keeps one client per worker, yet follows a changed endpoint or key."""

from __future__ import annotations

from roleteam.activities.providers.openai_compat import chat_completion
from tests.fake_openai import FakeOpenAI

MESSAGES = [{"role": "user", "content": "hello"}]


async def test_calls_follow_a_changed_endpoint_and_key(monkeypatch):
    first, second = FakeOpenAI().start(), FakeOpenAI().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", first.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-one-not-a-secret")
        await chat_completion(MESSAGES, "fake-model", 30.0)
        await chat_completion(MESSAGES, "fake-model", 30.0)
        monkeypatch.setenv("OPENAI_BASE_URL", second.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-two-not-a-secret")
        await chat_completion(MESSAGES, "fake-model", 30.0)
    finally:
        first.stop()
        second.stop()
    assert [r["authorization"] for r in first.requests] == ["Bearer sk-one-not-a-secret"] * 2
    assert [r["authorization"] for r in second.requests] == ["Bearer sk-two-not-a-secret"]
