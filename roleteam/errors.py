"""The project's error hierarchy.

Every message names what was wrong (file, key, value) and how to fix it, so the CLI can print
it as one line and a user knows what to do next.
"""

from __future__ import annotations


class RoleteamError(Exception):
    """Base class for errors a user can act on; the CLI prints them without a traceback."""


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
