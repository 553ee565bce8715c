"""Deterministic workflow code only: no I/O, no clocks, no environment reads."""

from workflows.delegated import DelegatedRun
from workflows.plan import PlanWorkflow
from workflows.role_session import RoleSession
from workflows.scheduled import ScheduledInvocation

ALL_WORKFLOWS = [RoleSession, PlanWorkflow, DelegatedRun, ScheduledInvocation]

__all__ = ["ALL_WORKFLOWS", "DelegatedRun", "PlanWorkflow", "RoleSession", "ScheduledInvocation"]
