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


def test_the_http_timeout_stays_within_the_activitys_own():
    from datetime import timedelta

    from roleteam.activities.providers.openai_compat import DEFAULT_TIMEOUT, http_timeout

    assert http_timeout(timedelta(seconds=120)) == 115.0  # summarising: under its 120 s, not 240 s
    assert http_timeout(timedelta(seconds=3600)) == DEFAULT_TIMEOUT
    assert http_timeout(None) == DEFAULT_TIMEOUT and http_timeout(timedelta(seconds=2)) == 1.0


async def test_a_stopping_worker_closes_its_loops_clients_and_the_next_call_gets_a_new_one(monkeypatch):
    from roleteam.activities.providers.openai_compat import close_clients, openai_client

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-a-secret")
    client = openai_client(30.0)
    assert openai_client(30.0) is client  # reused while the worker runs
    await close_clients()
    assert client.is_closed()  # nothing left for garbage collection to close without a loop
    fresh = openai_client(30.0)
    assert fresh is not client and not fresh.is_closed()
    await close_clients()
