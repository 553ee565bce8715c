"""Activity `call_model`: one model call with the role's bounded context."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.activities.providers.echo import ECHO_MODEL, echo_reply
from roleteam.activities.providers.messages import chat_messages
from roleteam.activities.providers.openai_compat import chat_completion, http_timeout
from roleteam.activities.settings import DEFAULT_OPENAI_MODEL, ProviderSettings
from roleteam.constants import ACTIVITY_CALL_MODEL, MAX_REPLY_BYTES, PROVIDER_CONFIG_ERROR
from roleteam.errors import RoleteamError
from roleteam.models import ModelCallInput, ModelReply
from roleteam.tracing import traced_model_call

TRUNCATION_NOTE = "\n[reply truncated by roleteam at {limit} bytes]"
# What a long call's heartbeats carry: an activity running several calls (`run_turns`) sets its
# progress here, so the heartbeats of a call in flight do not overwrite it with nothing.
HEARTBEAT_DETAILS: contextvars.ContextVar[tuple] = contextvars.ContextVar("heartbeat_details", default=())


@activity.defn(name=ACTIVITY_CALL_MODEL)
@traced_model_call  # a GenAI span per model call when tracing is on (roleteam/tracing.py)
async def call_model(call: ModelCallInput) -> ModelReply:
    try:
        settings = ProviderSettings.from_env()
    except RoleteamError as err:
        raise ApplicationError(str(err), type=PROVIDER_CONFIG_ERROR, non_retryable=True) from None
    messages = chat_messages(call)
    if settings.provider == "echo":
        text, usage = echo_reply(call, messages)
        return _bounded(text, usage=usage, provider="echo", model=ECHO_MODEL)
    model = call.model or settings.model or DEFAULT_OPENAI_MODEL
    timeout = http_timeout(activity.info().start_to_close_timeout)
    async with _heartbeating():
        text, usage, reported = await chat_completion(messages, model, timeout)
    return _bounded(text, usage=usage, provider="openai", model=reported)


def _bounded(text: str, **fields) -> ModelReply:
    """Cap the reply so it can never push an update result past Temporal's payload limit."""
    raw = text.encode()
    if len(raw) <= MAX_REPLY_BYTES:
        return ModelReply(reply=text, **fields)
    note = TRUNCATION_NOTE.format(limit=MAX_REPLY_BYTES)
    kept = raw[: MAX_REPLY_BYTES - len(note.encode())].decode(errors="ignore")
    return ModelReply(reply=kept + note, truncated=True, **fields)


@contextlib.asynccontextmanager
async def _heartbeating():
    """Heartbeat while a long call is in flight, so a dead worker is noticed within the
    heartbeat timeout rather than the whole start-to-close timeout."""
    timeout = activity.info().heartbeat_timeout
    every = min(5.0, timeout.total_seconds() / 3) if timeout else 5.0

    async def beat() -> None:
        while True:
            activity.heartbeat(*HEARTBEAT_DETAILS.get())
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        # Awaited, so the task is gone before the activity returns (no "never retrieved" noise).
        with contextlib.suppress(asyncio.CancelledError):
            await task
