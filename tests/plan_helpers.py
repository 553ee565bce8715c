"""Helpers for plan tests: polling the plan's state until it shows what a test waits for."""

from __future__ import annotations

import asyncio
import json
import time

from roleteam.errors import RoleteamError


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Call async `check` until it returns a truthy value (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = await check()
            if value:
                return value
        except (RoleteamError, AssertionError) as err:
            last = err
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s" + (f": {last}" if last else ""))


def finding_json(*findings: dict) -> str:
    """A reply fragment a reporting role's model would write: fenced JSON with findings."""
    return "```json\n" + json.dumps({"findings": list(findings)}) + "\n```"


BUG = {
    "id": "val-1",
    "title": "POST /shorten accepts an empty URL",
    "description": "An empty url field returns 201 and a code that redirects nowhere.",
    "severity": "high",
    "evidence": 'curl -d \'{"url": ""}\' /shorten -> 201',
    "files": ["app/shorten.py"],
}
