"""The `openai` provider: any OpenAI-compatible chat-completions endpoint.

The client's own retries are off; Temporal's retry policy owns retrying. Status 408/409/429/5xx
and connection errors are retryable (honouring `retry-after`); everything else fails the
invocation at once with the provider's message.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import openai
from temporalio.exceptions import ApplicationError

from roleteam.models import TokenUsage

RETRYABLE_STATUS = {408, 409, 429}
MAX_RETRY_AFTER_SECONDS = 300.0
DEFAULT_TIMEOUT = 240.0


# One client (and connection pool) per worker event loop and endpoint, reused by every call:
# building one per call cost a TLS handshake and a new pool each time. Keyed by what the client
# was built from, so a changed OPENAI_BASE_URL / OPENAI_API_KEY gets a new client.
# The loop is kept with its client so its id cannot be reused while the entry exists.
_clients: dict[tuple, tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI]] = {}
MAX_CLIENTS = 8


def openai_client(timeout: float) -> openai.AsyncOpenAI:
    """The worker's long-lived client for the configured endpoint (built on first use)."""
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise ApplicationError(
            "OPENAI_API_KEY is not set in the worker's environment; set it (any value for a "
            "local endpoint) or use ROLETEAM_PROVIDER=echo",
            type="ProviderConfigError",
            non_retryable=True,
        )
    loop = asyncio.get_running_loop()
    key = (id(loop), os.environ.get("OPENAI_BASE_URL"), api_key, timeout)
    cached = _clients.get(key)
    if cached is not None and not cached[1].is_closed():
        return cached[1]
    if len(_clients) >= MAX_CLIENTS:
        _clients.clear()  # clients of finished event loops (tests); a worker has one loop
    # base_url and api_key come from OPENAI_BASE_URL / OPENAI_API_KEY, read by the client.
    client = openai.AsyncOpenAI(max_retries=0, timeout=timeout)
    _clients[key] = (loop, client)
    return client


async def chat_completion(
    messages: list[dict[str, str]], model: str, timeout: float
) -> tuple[str, TokenUsage, str]:
    """Call the endpoint once; return (reply text, usage, model the endpoint reported)."""
    client = openai_client(timeout)
    try:
        response = await client.chat.completions.create(model=model, messages=messages)
    except openai.APIStatusError as err:
        raise _status_error(err) from None
    except openai.APIConnectionError as err:
        raise ApplicationError(f"cannot reach model endpoint: {err}", type="ModelUnavailable") from None
    if not response.choices:
        raise ApplicationError(
            "model endpoint returned no choices", type="ModelBadResponse", non_retryable=True
        )
    text = response.choices[0].message.content or ""
    usage = TokenUsage()
    if response.usage:
        usage = TokenUsage(
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            total_tokens=response.usage.total_tokens,
        )
    return text, usage, response.model or model


def _status_error(err: openai.APIStatusError) -> ApplicationError:
    status = err.status_code
    detail = _error_detail(err)
    message = f"model endpoint answered HTTP {status}: {detail}"
    if status in RETRYABLE_STATUS or status >= 500:
        return ApplicationError(message, type=f"ModelHTTP{status}", next_retry_delay=_retry_after(err))
    return ApplicationError(message, type=f"ModelHTTP{status}", non_retryable=True)


def _error_detail(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return (err.message or "")[:500]


def _retry_after(err: openai.APIStatusError) -> timedelta | None:
    headers = err.response.headers if err.response is not None else {}
    raw = headers.get("retry-after-ms")
    scale = 0.001
    if raw is None:
        raw, scale = headers.get("retry-after"), 1.0
    try:
        seconds = float(raw) * scale
    except (TypeError, ValueError):
        return None  # an HTTP date or garbage: let the retry policy's backoff decide
    return timedelta(seconds=min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS))
