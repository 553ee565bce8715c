"""Dependencies point down: importing the wire models or the workflows loads no policy, YAML,
skill-loading or activity code (workflows replay in a sandbox and must stay deterministic)."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "roleteam.skills",
    "roleteam.registry",
    "roleteam.teams",
    "yaml",
    "re2",
    "roleteam.activities",
    "openai",
)


def loaded_after(statement: str) -> list[str]:
    code = (
        f"import sys\n{statement}\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_wire_models_load_nothing_but_pydantic_and_constants():
    assert loaded_after("import roleteam.models, roleteam.plan_models, roleteam.report_models") == []


def test_workflows_load_no_policy_or_activity_code():
    assert loaded_after("import roleteam.workflows") == []
