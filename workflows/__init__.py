"""Deterministic workflow code only: no I/O, no clocks, no environment reads.

Installed as `roleteam.workflows`. The sandbox loads a fresh `roleteam` package as the parent of
each workflow module, so a shared module is named in full to be passed through from the host:
`import roleteam.constants as c`, never `from roleteam import constants` (that form loads a second,
sandbox-only copy that ignores the host's module).
"""

from roleteam.workflows.delegated import DelegatedRun
from roleteam.workflows.plan import PlanWorkflow
from roleteam.workflows.role_session import RoleSession
from roleteam.workflows.scheduled import ScheduledInvocation

ALL_WORKFLOWS = [RoleSession, PlanWorkflow, DelegatedRun, ScheduledInvocation]

__all__ = ["ALL_WORKFLOWS", "DelegatedRun", "PlanWorkflow", "RoleSession", "ScheduledInvocation"]
