"""One way to print a timestamp, used by the CLI, the workflow's details and its messages."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def format_time(moment: datetime | None) -> str:
    """`2026-11-25 10:14:42 UTC` (seconds, always UTC); `-` for no time."""
    if moment is None:
        return "-"
    return _format_moment(moment)


@lru_cache(maxsize=1024)  # the workflow's details show the same few moments on every activation
def _format_moment(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
