"""The `openai` provider: any OpenAI-compatible chat-completions endpoint.

The client's own retries are off; Temporal's retry policy owns retrying. Status 408/409/429/5xx
and connection errors are retryable (honouring `retry-after`); everything else fails the
invocation at once with the provider's message.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from datetime import timedelta

import openai
from temporalio.exceptions import ApplicationError

from roleteam.constants import (
    MAX_MODEL_NAME_CHARS,
    MAX_TOKEN_COUNT,
    MODEL_BAD_RESPONSE_ERROR,
    MODEL_HTTP_ERROR_PREFIX,
    MODEL_UNAVAILABLE_ERROR,
    PROVIDER_CONFIG_ERROR,
)
from roleteam.models import TokenUsage

RETRYABLE_STATUS = {408, 409, 429}
MAX_RETRY_AFTER_SECONDS = 300.0
DEFAULT_TIMEOUT = 240.0
# Seconds left for Temporal to record the failure after the HTTP call gives up.
TIMEOUT_MARGIN = 5.0


def http_timeout(activity_timeout: timedelta | None) -> float:
    """The HTTP timeout for a call made by an activity: within the activity's own start-to-close
    timeout (so the call fails with its own error, not a timed-out activity), at most the default."""
    if activity_timeout is None:
        return DEFAULT_TIMEOUT
    return max(1.0, min(DEFAULT_TIMEOUT, activity_timeout.total_seconds() - TIMEOUT_MARGIN))


MAX_DETAIL_CHARS = 1_000


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
            type=PROVIDER_CONFIG_ERROR,
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


async def close_clients() -> None:
    """Close the clients built on the running event loop (a worker calls this as it stops).

    An unclosed client that is garbage-collected after its loop has ended leaves a coroutine
    that is never awaited (a RuntimeWarning) and sockets for the interpreter to reap.
    """
    loop = asyncio.get_running_loop()
    for key, (owner, client) in list(_clients.items()):
        if owner is loop:
            del _clients[key]
            await client.close()


async def chat_completion(
    messages: list[dict[str, str]], model: str, timeout: float
) -> tuple[str, TokenUsage, str]:
    """Call the endpoint once; return (reply text, usage, model the endpoint reported).

    Everything the endpoint sends back is untrusted: each field is type-checked and bounded,
    and every text that leaves here (errors included) has the API key redacted.
    """
    client = openai_client(timeout)
    try:
        response = await client.chat.completions.create(model=model, messages=messages)
    except openai.APIStatusError as err:
        raise _status_error(err) from None
    except openai.APIConnectionError as err:
        raise ApplicationError(
            redact(f"cannot reach model endpoint: {err}")[:MAX_DETAIL_CHARS], type=MODEL_UNAVAILABLE_ERROR
        ) from None
    except (openai.OpenAIError, ValueError, TypeError, AttributeError) as err:
        raise _bad_response(f"{type(err).__name__}: {err}") from None
    choices = getattr(response, "choices", None)
    if not isinstance(response, openai.types.chat.ChatCompletion) and not isinstance(choices, list):
        raise _bad_response(f"the answer is not a chat completion (starts {str(response)[:80]!r})")
    if not isinstance(choices, list) or not choices:
        error = getattr(response, "error", None)
        said = f": it said {_message_of(error)}" if error else ""
        raise _bad_response(f"HTTP 200 with no choices{said}")
    content = getattr(getattr(choices[0], "message", None), "content", None)
    text = redact_key(content) if isinstance(content, str) else ""
    usage = _usage(getattr(response, "usage", None))
    reported = getattr(response, "model", None)
    if not isinstance(reported, str) or not reported.strip():
        reported = model
    return text, usage, redact(_printable(reported))[:MAX_MODEL_NAME_CHARS]


def redact(text: str) -> str:
    """`text` with the configured API key and anything shaped like a credential replaced."""
    return _CREDENTIAL.sub(lambda m: m.group(1) + "[redacted]", redact_key(text))


def redact_key(text: str) -> str:
    """`text` with the configured API key replaced (replies: prose about tokens stays intact)."""
    key = os.environ.get("OPENAI_API_KEY", "")
    return text.replace(key, "[redacted]") if len(key) >= 4 else text


# `Bearer <token>`, `sk-...` keys and `api_key=...` / `"api-key": "..."` pairs.
_CREDENTIAL = re.compile(
    r"""((?i:bearer)\s+|\bsk-|(?i:api[_-]?key)["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/=-]{4,}"""
)


def _bad_response(detail: str) -> ApplicationError:
    return ApplicationError(
        redact(
            f"model endpoint sent an answer roleteam cannot use ({detail}); check that OPENAI_BASE_URL "
            "points at an OpenAI-compatible /v1 endpoint"
        )[:MAX_DETAIL_CHARS],
        type=MODEL_BAD_RESPONSE_ERROR,
        non_retryable=True,
    )


def _message_of(error: object) -> str:
    if isinstance(error, dict):
        error = error.get("message", error)
    return repr(str(error)[:200])


def _usage(raw: object) -> TokenUsage:
    """Token counts as reported, each one kept only if it is a sensible integer."""

    def count(name: str) -> int:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 0), MAX_TOKEN_COUNT)
        return 0

    return TokenUsage(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        total_tokens=count("total_tokens"),
    )


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[: MAX_MODEL_NAME_CHARS * 2])


def _status_error(err: openai.APIStatusError) -> ApplicationError:
    status = err.status_code
    detail = _error_detail(err)
    message = redact(f"model endpoint answered HTTP {status}: {detail}")[:MAX_DETAIL_CHARS]
    if status in RETRYABLE_STATUS or status >= 500:
        return ApplicationError(
            message, type=f"{MODEL_HTTP_ERROR_PREFIX}{status}", next_retry_delay=_retry_after(err)
        )
    return ApplicationError(message, type=f"{MODEL_HTTP_ERROR_PREFIX}{status}", non_retryable=True)


def _error_detail(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return redact(str(inner["message"]))[:500]
    return redact(str(err.message or ""))[:500]


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
    if not math.isfinite(seconds):
        return None  # 'nan' and 'inf' parse as floats but are no delay
    return timedelta(seconds=min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS))
