"""Deterministic workflow code only: no I/O, no clocks, no environment reads."""

from workflows.role_session import RoleSession

__all__ = ["RoleSession"]
