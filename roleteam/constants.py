"""Names and limits shared by workflows, activities, worker, CLI and tests.

The names below are a public wire contract (docs/contract.md): automation drives roles with them
from any Temporal client, so they never change once released.
"""

from __future__ import annotations

import re

TASK_QUEUE = "roleteam"
WORKFLOW_TYPE = "RoleSession"

SIGNAL_INVOKE = "invoke"
SIGNAL_RETIRE = "retire"
SIGNAL_REOPEN = "reopen"
UPDATE_INVOKE_AND_WAIT = "invoke_and_wait"
QUERY_STATE = "state"
QUERY_ARTIFACT = "artifact"

ACTIVITY_LOAD_ROLE_BRIEF = "load_role_brief"
ACTIVITY_CALL_MODEL = "call_model"
ACTIVITY_SUMMARIZE_TURNS = "summarize_turns"

PLAN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ROLE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
INVOCATION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")

# Everything that enters or leaves a workflow is bounded so no payload nears Temporal's 2 MB
# limit, even after JSON escaping (up to 6x for control characters).
MAX_PROMPT_BYTES = 96 * 1024
MAX_REPLY_BYTES = 128 * 1024
MAX_REASON_CHARS = 1_000
MAX_REQUESTED_BY_CHARS = 200
MAX_ERROR_CHARS = 4_000

# The queue carried across continue-as-new must fit one payload with the rest of the state.
MAX_PENDING_INVOCATIONS = 200
MAX_PENDING_BYTES = 384 * 1024

# Invocation ids remembered for idempotency, across runs, as 16-hex-digit digests (about 32 bytes
# each in JSON, whatever the id's length). Older ids fall out of the window.
IDEMPOTENCY_WINDOW = 5_000
# Full artifacts handed on at continue-as-new so `invoke_and_wait` can still answer at once.
CARRIED_ARTIFACTS_BYTES = 128 * 1024
# JSON bytes of the role's memory: verbatim recent turns, and the summary of older ones.
MAX_RECENT_TURNS_BYTES = 384 * 1024
MAX_SUMMARY_BYTES = 96 * 1024
# Each folded turn's prompt and reply as the summariser sees them.
SUMMARY_INPUT_CHARS_PER_TEXT = 8_000
# Newest retire/reopen trail entries carried to the next run (older ones stay in the history of
# the runs that received them).
MAX_TRAIL_BYTES = 96 * 1024
# Last line of defence: an activity input above this is not scheduled (the invocation fails).
MAX_ACTIVITY_INPUT_BYTES = 1_800 * 1024
# The whole hand-over at continue-as-new stays under this (Temporal's payload limit is 2 MB).
# By construction it does: queue 384 KiB (or one request of up to ~600 KiB escaped) + ids
# 160 KiB + memory 480 KiB + trail 96 KiB + artifacts 128 KiB, plus small fields.
MAX_CARRY_BYTES = 1_600 * 1024
# Error type of an `invoke_and_wait` rejected while the session hands over to a new run.
ROLLING_OVER_ERROR = "RollingOver"
# workflow.patched ids: each marks a behaviour change running histories must replay around.
PATCH_RETRY_FAILED = "retry-failed-invocation"
# Retire/reopen trail entries kept (the oldest fall away past this).
MAX_LIFECYCLE_EVENTS = 200

DEFAULT_CONTEXT_TOKEN_BUDGET = 8_000
MIN_CONTEXT_TOKEN_BUDGET = 200
MAX_CONTEXT_TOKEN_BUDGET = 64_000

# Backstops for continue-as-new beside Temporal's own suggestion. One turn adds at most a few MB
# (a maximal prompt of control characters, JSON-escaped, appears in several payloads), so rolling
# over at 4 MiB keeps every run under Temporal's 10 MB warning.
DEFAULT_TURNS_PER_RUN = 400
MAX_EVENTS_PER_RUN = 8_000
MAX_HISTORY_BYTES_PER_RUN = 4 * 1024 * 1024

EXECUTION_MODES = ("persistent", "delegated", "scheduled")


def session_workflow_id(plan_id: str, role: str) -> str:
    """The workflow id of the (plan, canonical role) session."""
    return f"role:{plan_id}:{role}"


def estimate_tokens(text: str) -> int:
    """A deterministic, offline token estimate (about 4 characters a token).

    Used for the context budget inside workflows, where a tokenizer download is impossible and
    the count must be identical on every replay.
    """
    return (len(text) + 3) // 4
