"""Helpers shared by the tests: invoking a role, polling until something shows, running programs.

Fixtures (`client`, `team`, `worker`, `cli`, `policy_copy`, ...) live in conftest.py; plain
functions a test calls live here, once:

- `ask`: invoke a role and wait for its artifact, the way most tests drive a session;
- `eventually` / `artifact_when_ready`: poll until a condition holds (Temporal's visibility and a
  signalled session answer a moment later), failing with what was last seen;
- `run` / `clean_env` / `ROLETEAM`: run a command line (the `roleteam` console script, a worker) as
  a user would, without blocking the event loop the test's worker runs on;
- `temporal`: run the real `temporal` CLI binary against the test server, with JSON output;
- `Result`: what a program left behind (exit code, stdout, stderr).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roleteam.devserver import temporal_binary
from roleteam.errors import RoleteamError
from roleteam.models import ExecutionArtifact

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: policies/, skills/ and worker.py are found from here."""

_SCRIPT = Path(sys.executable).parent / "roleteam"
ROLETEAM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "roleteam.cli"]
"""argv prefix that runs the `roleteam` command of this venv."""


# --- sessions ----------------------------------------------------------------------------------


async def ask(team, plan_id: str, role: str, prompt: str, invocation_id: str | None = None, **fields):
    """Invoke ROLE in PLAN with PROMPT and wait for the artifact (`fields` go to `team.request`)."""
    return await team.invoke(plan_id, role, team.request(prompt, invocation_id, **fields))


# --- polling -----------------------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[Any]],
    timeout: float = 20.0,
    interval: float = 0.1,
    retry_on: tuple[type[Exception], ...] = (RoleteamError, AssertionError),
    what: Callable[[], str] | None = None,
):
    """Call async `check` until it returns a truthy value, and return that value.

    An exception of a `retry_on` type raised by `check` counts as "not yet" (a session that does
    not exist yet, a state that does not match yet); any other exception fails at once. Pass
    `retry_on=()` when every error matters. When time runs out the AssertionError raised says
    `what()` was seen last, or names the last exception retried.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = await check()
            if value:
                return value
        except retry_on as err:
            last = err
        await asyncio.sleep(interval)
    seen = what() if what is not None else last
    raise AssertionError(f"condition not met within {timeout}s" + (f": {seen}" if seen else ""))


async def artifact_when_ready(
    team, plan_id: str, role: str, invocation_id: str, timeout: float = 30.0, interval: float = 0.1
) -> ExecutionArtifact:
    """The artifact of an invocation sent without waiting (a signal), once its session has one.

    An error reading it (no such session) fails at once: only "no artifact yet" is waited out.
    """
    return await eventually(
        lambda: team.artifact(plan_id, role, invocation_id),
        timeout,
        interval,
        retry_on=(),
        what=lambda: f"no artifact for {invocation_id!r} in plan {plan_id!r}",
    )


# --- programs ----------------------------------------------------------------------------------


@dataclass
class Result:
    """What a command-line program run by a test left behind: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def clean_env(drop: tuple[str, ...] = ("TEMPORAL_", "ROLETEAM_"), **extra: str) -> dict[str, str]:
    """This process's environment without variables starting with `drop`, plus `extra`.

    A program a test runs must see only the server, queue and settings the test gives it, never
    the developer's own TEMPORAL_ADDRESS or ROLETEAM_POLICY_DIR.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | extra


async def run(
    argv: list[str],
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 60,
    stdin: bytes | None = None,
) -> Result:
    """Run `argv` to its end without blocking the event loop; `stdin` is piped in when given."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    return Result(proc.returncode, out.decode(), err.decode())


async def temporal(client, *args: str, timeout: float = 60, namespace: str | None = None) -> Result:
    """Run `temporal ARGS --address <test server> --namespace <ns> -o json` (the real CLI binary).

    The namespace is the client's unless given; TEMPORAL_* variables of this process are not passed
    on, so the binary talks to the test server only.
    """
    return await run(
        [
            temporal_binary(),
            *args,
            "--address",
            client.service_client.config.target_host,
            "--namespace",
            namespace or client.namespace,
            "--output",
            "json",
        ],
        clean_env(drop=("TEMPORAL_",)),
        timeout=timeout,
    )
