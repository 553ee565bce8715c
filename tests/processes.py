"""What a command-line program run by a test left behind: exit code, stdout, stderr."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()
