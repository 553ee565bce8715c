"""Activity `summarize_turns`: fold the oldest turns into the role's running summary."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roleteam.activities.providers.echo import echo_summary
from roleteam.activities.providers.messages import summary_messages
from roleteam.activities.providers.openai_compat import chat_completion, http_timeout
from roleteam.activities.settings import DEFAULT_OPENAI_MODEL, ProviderSettings
from roleteam.constants import ACTIVITY_SUMMARIZE_TURNS, PROVIDER_CONFIG_ERROR
from roleteam.errors import RoleteamError
from roleteam.models import SummarizeInput, SummaryResult


@activity.defn(name=ACTIVITY_SUMMARIZE_TURNS)
async def summarize_turns(request: SummarizeInput) -> SummaryResult:
    try:
        settings = ProviderSettings.from_env()
    except RoleteamError as err:
        raise ApplicationError(str(err), type=PROVIDER_CONFIG_ERROR, non_retryable=True) from None
    if settings.provider == "echo":
        return SummaryResult(summary=echo_summary(request), provider="echo")
    timeout = http_timeout(activity.info().start_to_close_timeout)
    text, _, _ = await chat_completion(
        summary_messages(request), settings.model or DEFAULT_OPENAI_MODEL, timeout
    )
    return SummaryResult(summary=text, provider="openai")
