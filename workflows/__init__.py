"""Deterministic workflow code only: no I/O, no clocks, no environment reads."""

from roleteam.workflows.delegated import DelegatedRun
from roleteam.workflows.plan import PlanWorkflow
from roleteam.workflows.role_session import RoleSession
from roleteam.workflows.scheduled import ScheduledInvocation

ALL_WORKFLOWS = [RoleSession, PlanWorkflow, DelegatedRun, ScheduledInvocation]

__all__ = ["ALL_WORKFLOWS", "DelegatedRun", "PlanWorkflow", "RoleSession", "ScheduledInvocation"]
