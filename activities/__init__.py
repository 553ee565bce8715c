"""Every side effect of a role session: policy reads, model calls, summaries."""

from roleteam.activities.brief import load_role_brief
from roleteam.activities.model import call_model
from roleteam.activities.summarize import summarize_turns

ALL_ACTIVITIES = [load_role_brief, call_model, summarize_turns]

__all__ = ["ALL_ACTIVITIES", "call_model", "load_role_brief", "summarize_turns"]
