"""Data for plan tests: a finding a validating role reports, and the reply fragment that carries it."""

from __future__ import annotations

import json


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
