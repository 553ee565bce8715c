"""Every side effect of a role session: policy reads, model calls, summaries."""

from roleteam.activities.brief import load_role_brief
from roleteam.activities.model import call_model
from roleteam.activities.summarize import summarize_turns
from roleteam.activities.turn import TurnActivities

# `load_role_brief` and `call_model` stay registered: histories that scheduled them replay, and
# `DelegatedRun` still uses them. Sessions started since PATCH_ONE_TURN_ACTIVITY use `run_turn`
# (TurnActivities, registered by build_worker as a bound method).
ALL_ACTIVITIES = [load_role_brief, call_model, summarize_turns]

__all__ = ["ALL_ACTIVITIES", "TurnActivities", "call_model", "load_role_brief", "summarize_turns"]
