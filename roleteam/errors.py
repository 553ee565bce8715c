"""The project's error hierarchy.

Every message names what was wrong (file, key, value) and how to fix it, so the CLI can print
it as one line and a user knows what to do next. Each class carries the exit code a command
leaves with when it fails this way (roleteam.exit lists them all).
"""

from __future__ import annotations

from typing import Any


class RoleteamError(Exception):
    """Base class for errors a user can act on; the CLI prints them without a traceback (exit 1)."""

    exit_code: int = 1


class UsageError(RoleteamError):
    """The command line itself is wrong: an unknown command or option, a missing argument (exit 2)."""

    exit_code = 2


class CommandInterrupted(RoleteamError):
    """Ctrl-C stopped a command that was waiting; the message says what goes on and how to resume."""

    exit_code = 130


class PolicyError(RoleteamError):
    """A policy file (roles, skills) is missing, malformed or inconsistent."""


class UnknownRoleError(RoleteamError):
    """A role name matched no role id, title or alias in the registry."""


class InvalidInputError(RoleteamError):
    """A value given by a user (plan id, prompt, invocation id, reason) is not acceptable."""


class ConnectionFailedError(RoleteamError):
    """The Temporal server could not be reached."""


class SessionNotFoundError(RoleteamError):
    """No role session exists yet for the (plan, role) asked about."""


def no_session_message(plan_id: str, role: str) -> str:
    """How every command says that a (plan, role) has no session yet."""
    return f"no session for role {role!r} in plan {plan_id!r}; invoke it first ('roleteam invoke')"


class InvocationRefusedError(RoleteamError):
    """An invocation sent without waiting was refused by its session; `artifact` says why."""

    def __init__(self, message: str, artifact=None) -> None:
        super().__init__(message)
        self.artifact = artifact


def format_validation_error(err: Any) -> str:
    """A pydantic ValidationError as one line: `key.path: message (got value)` a problem, joined by "; "."""
    parts = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif problem["type"] == "literal_error":
            message += f" (got {problem.get('input')!r})"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
