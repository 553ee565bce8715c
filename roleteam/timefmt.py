"""One way to print a timestamp, used by the CLI, the workflow's details and its messages."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime | None) -> str:
    """`2026-11-25 10:14:42 UTC` (seconds, always UTC); `-` for no time."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
