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
# The context (summary and recent turns) the session names by reference in `run_turn` inputs: a
# worker that does not hold it asks the session instead of failing with ContextNotCached.
QUERY_CONTEXT = "context"

ACTIVITY_LOAD_ROLE_BRIEF = "load_role_brief"
ACTIVITY_CALL_MODEL = "call_model"
ACTIVITY_SUMMARIZE_TURNS = "summarize_turns"
# Brief and model call in one round trip (sessions started since PATCH_ONE_TURN_ACTIVITY).
ACTIVITY_RUN_TURN = "run_turn"
# Several queued invocations' turns in one round trip, in order (sessions with PATCH_TURN_BATCHES).
ACTIVITY_RUN_TURNS = "run_turns"
ACTIVITY_RECOVER_ROLE_STATE = "recover_role_state"

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
# Per-item and total bounds of an invocation's `domains` and `files` (both reach an activity input).
MAX_DOMAINS = 32
MAX_DOMAIN_CHARS = 128
MAX_FILES = 256
MAX_FILE_CHARS = 1_024
MAX_FILES_TOTAL_BYTES = 64 * 1024
# Fields a model endpoint reports back (model name, usage counts) are clipped to these.
MAX_MODEL_NAME_CHARS = 200
MAX_TOKEN_COUNT = 10**12
# An `invoke_and_wait` result (an artifact) above this is replaced by a failed artifact saying so.
MAX_ARTIFACT_BYTES = 1_800 * 1024

# The queue carried across continue-as-new must fit one payload with the rest of the state.
MAX_PENDING_INVOCATIONS = 200
MAX_PENDING_BYTES = 384 * 1024

# Invocation ids remembered for idempotency, across runs, as 16-hex-digit digests (about 32 bytes
# each in JSON, whatever the id's length). Older ids fall out of the window.
IDEMPOTENCY_WINDOW = 5_000
# Full artifacts handed on at continue-as-new so `invoke_and_wait` can still answer at once.
CARRIED_ARTIFACTS_BYTES = 128 * 1024
# What sessions since `session-v2` hand on: about ten artifacts, enough for a caller asking again
# right after a roll-over. Every run carries them twice in history (its continue-as-new and the
# next run's start), so the 128 KiB above cost about 3 KB of history per turn at 60-90 turns a run.
CARRIED_ARTIFACTS_BYTES_V2 = 24 * 1024
# Artifacts a session holds in memory for `artifact` / `invoke_and_wait` (newest first, since
# PATCH_BOUNDED_ARTIFACTS; older runs held every artifact of the run). Above what is carried at
# continue-as-new (CARRIED_ARTIFACTS_BYTES + MAX_CARRIED_REFUSALS), so the carry is unchanged.
MAX_HELD_ARTIFACTS = 600
MAX_HELD_ARTIFACT_BYTES = 512 * 1024
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
# A `run_turns` batch: at most this many queued invocations, and it starts no further turn once
# its results hold this many bytes (one more turn's result stays well within a payload).
MAX_TURNS_PER_BATCH = 8
MAX_TURN_BATCH_RESULT_BYTES = 512 * 1024
# The whole hand-over at continue-as-new stays under this (Temporal's payload limit is 2 MB).
# By construction it does: queue 384 KiB (or one request of up to ~600 KiB escaped) + ids
# 160 KiB + memory 480 KiB + trail 96 KiB + artifacts 128 KiB, plus small fields.
MAX_CARRY_BYTES = 1_600 * 1024
# Error type of an `invoke_and_wait` rejected while the session hands over to a new run.
ROLLING_OVER_ERROR = "RollingOver"
# Error type of an `invoke_and_wait` whose request is refused by validation (never retryable).
INVALID_REQUEST_ERROR = "InvalidRequest"
# Every other error type raised across the wire (ApplicationError.type), listed in docs/contract.md.
INVALID_SESSION_INPUT_ERROR = "InvalidSessionInput"  # run fails at start, not retried
QUEUE_FULL_ERROR = "QueueFull"
ARTIFACT_NOT_RETAINED_ERROR = "ArtifactNotRetained"
POLICY_ERROR = "PolicyError"  # load_role_brief / load_team_template: the policy cannot be used
PROVIDER_CONFIG_ERROR = "ProviderConfigError"
MODEL_UNAVAILABLE_ERROR = "ModelUnavailable"
MODEL_BAD_RESPONSE_ERROR = "ModelBadResponse"
MODEL_INPUT_TOO_LARGE_ERROR = "ModelInputTooLarge"  # run_turn: prompt + skills + context too big
CONTEXT_NOT_CACHED_ERROR = "ContextNotCached"  # run_turn: a referenced recent turn is not on this worker
MODEL_HTTP_ERROR_PREFIX = "ModelHTTP"  # + the status, e.g. ModelHTTP429
INVALID_DELEGATED_INPUT_ERROR = "InvalidDelegatedInput"
INVALID_SCHEDULED_INPUT_ERROR = "InvalidScheduledInput"
# Refusals handed on at continue-as-new (newest first) so the `artifact` query still answers
# them, each with its prompt clipped and its reason kept.
MAX_CARRIED_REFUSALS = 500
MAX_CARRIED_REFUSALS_BYTES = 160 * 1024
CARRIED_REFUSAL_PROMPT_CHARS = 200
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


# --- the Plan workflow (docs/contract.md, "Plan wire contract") ---------------------------------

PLAN_WORKFLOW_TYPE = "Plan"
DELEGATED_WORKFLOW_TYPE = "DelegatedRun"
SCHEDULED_WORKFLOW_TYPE = "ScheduledInvocation"

SIGNAL_ROLE_EVENT = "role_event"  # RoleSession -> Plan: an artifact or a lifecycle change
SIGNAL_ROLE_EVENTS = "role_events"  # RoleSession -> Plan: several role_event reports in order
SIGNAL_PLAN_DIRECTIVE = "plan_directive"  # Plan -> RoleSession: waivers and budget state
UPDATE_PLAN_OPEN = "open"
UPDATE_REVIEW = "review"
UPDATE_DISPATCH = "dispatch"
UPDATE_REVALIDATE = "revalidate"
UPDATE_WAIVE = "waive"
UPDATE_SET_BUDGET = "set_budget"
UPDATE_HALT = "halt"
UPDATE_RESUME = "resume"
UPDATE_COMPLETE = "complete"

# workflow.patched ids of RoleSession behaviour added after release (see docs/contract.md).
PATCH_PLAN_REPORTING = "plan-reporting"
PATCH_DELEGATED_CHILD = "delegated-child"

ACTIVITY_LOAD_TEAM_TEMPLATE = "load_team_template"
ACTIVITY_REPORT_TO_PLAN = "report_to_plan"
ACTIVITY_DELIVER_INVOCATION = "deliver_invocation"
ACTIVITY_RECOVER_PLAN_STATE = "recover_plan_state"
QUERY_CARRIED = "carried"  # Plan: the state it would hand on (used to recover after a terminate)
PATCH_PLAN_RECOVER = "plan-recover"
PATCH_PLAN_VISIBILITY = "plan-visibility"
PATCH_ROLE_BUNDLE = "role-bundle"
# Plan and RoleSession: a delivered outbox message leaves by identity (a newer one may replace it).
PATCH_OUTBOX_BY_IDENTITY = "outbox-by-identity"
# Plan: one marker for the behaviours patched in before it (each `workflow.patched` call writes a
# marker and a TemporalChangeVersion upsert). Runs with it also read their start-up state
# (recovery, team template) by local activity, and their directives say they take `role_events`
# batches (PlanDirective.takes_role_events). Older runs decide each behaviour by its own patch.
PATCH_PLAN_V2 = "plan-v2"
ACTIVITY_WRITE_PLAN_BUNDLE = "write_plan_bundle"  # local activity: the plan's files on disk
ACTIVITY_WRITE_ARTIFACT_BUNDLE = "write_artifact_bundle"  # local activity: one artifact's file
ACTIVITY_WRITE_ARTIFACT_BUNDLES = "write_artifact_bundles"  # local activity: several artifacts
# Reports a role session sends the plan in one `role_events` signal (and artifacts per bundle
# write): at most this many, and at most this many bytes of reports unless a single one is larger.
MAX_REPORTS_PER_BATCH = 64
MAX_REPORT_BATCH_BYTES = 256 * 1024

# Error types raised across the wire by the Plan workflow.
INVALID_PLAN_INPUT_ERROR = "InvalidPlanInput"
PLAN_REFUSED_ERROR = "PlanRefused"

DEFAULT_TEAM = "standard"
SEVERITIES = ("critical", "high", "medium", "low", "info")

# What one reply may add to a plan, and what a plan keeps in its live ledger. Findings evicted
# from the ledger (closed ones first) stay in the histories of the runs that held them.
MAX_FINDINGS_PER_REPLY = 50
MAX_SKIPPED_PER_REPLY = 50
MAX_DECISIONS_PER_REPLY = 50
MAX_REPLY_SCAN_CHARS = 1024 * 1024
MAX_JSON_CANDIDATES = 20
MAX_FINDING_TITLE_CHARS = 200
MAX_FINDING_TEXT_CHARS = 4_000
MAX_FINDING_FILES = 20
MAX_FILE_PATH_CHARS = 300
MAX_SOURCE_ID_CHARS = 64
MAX_FINDING_HISTORY = 30
MAX_FINDINGS_LEDGER_BYTES = 640 * 1024
MAX_LINEAGE_ENTRIES = 200
MAX_MODE_MISMATCHES = 50
MAX_WAIVERS = 100
MAX_DIRECTIVE_BYTES = 96 * 1024
MAX_PLAN_OUTBOX = 100
MAX_PLAN_OUTBOX_BYTES = 256 * 1024
PLAN_IDEMPOTENCY_WINDOW = 4_000
PLAN_SOURCE_INDEX = 2_000
# A Plan run rolls over well before Temporal's 10,240-event suggestion and its size warnings.
PLAN_MAX_EVENTS_PER_RUN = 4_000
PLAN_MAX_HISTORY_BYTES_PER_RUN = 4 * 1024 * 1024
# Budgets warn at this share of the limit and refuse at 100 %.
BUDGET_WARNING_SHARE = 0.8


def plan_workflow_id(plan_id: str) -> str:
    """The workflow id of a plan's `Plan` workflow."""
    return f"plan:{plan_id}"


def fix_invocation_id(finding_id: str, round_: int) -> str:
    """Invocation id of a finding's remediation round: a repeated dispatch never runs twice."""
    return f"fix:{finding_id}:r{round_}"


def clarify_invocation_id(finding_id: str, number: int) -> str:
    """Invocation id of the n-th clarification question about a finding."""
    return f"clarify:{finding_id}:q{number}"
