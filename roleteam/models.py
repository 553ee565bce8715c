"""Typed messages of the RoleSession wire contract (docs/contract.md).

Each workflow, signal, update, query and activity takes one of these models and returns one.
Models only ever gain optional fields: running workflows and automation depend on them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from roleteam.constants import (
    INVOCATION_ID_PATTERN,
    MAX_CONTEXT_TOKEN_BUDGET,
    MAX_DOMAIN_CHARS,
    MAX_DOMAINS,
    MAX_FILE_CHARS,
    MAX_FILES,
    MAX_FILES_TOTAL_BYTES,
    MAX_PROMPT_BYTES,
    MAX_REASON_CHARS,
    MAX_REPORTS_PER_BATCH,
    MAX_REQUESTED_BY_CHARS,
    MIN_CONTEXT_TOKEN_BUDGET,
)
from roleteam.evidence import SkillEvidence
from roleteam.report_models import FindingsEvidence, PlanDirective, PlanSkillWaiver, RoleEvent

ExecutionMode = Literal["persistent", "delegated", "scheduled"]
SessionStatus = Literal["active", "retired"]
ArtifactStatus = Literal["completed", "failed", "refused"]


class SessionOptions(BaseModel):
    """Tuning for one role session; every field has a sensible default."""

    context_token_budget: int | None = None
    turns_per_run: int | None = None
    model_timeout_seconds: float = 300.0
    model_heartbeat_timeout_seconds: float = 60.0
    model_max_attempts: int = 6

    def problems(self) -> list[str]:
        """Out-of-range options, named with their allowed range; checked when a session starts."""
        found = []
        budget = self.context_token_budget
        if budget is not None and not MIN_CONTEXT_TOKEN_BUDGET <= budget <= MAX_CONTEXT_TOKEN_BUDGET:
            found.append(
                f"options.context_token_budget={budget}: use {MIN_CONTEXT_TOKEN_BUDGET}"
                f"..{MAX_CONTEXT_TOKEN_BUDGET}"
            )
        if self.turns_per_run is not None and not 1 <= self.turns_per_run <= 10_000:
            found.append(f"options.turns_per_run={self.turns_per_run}: use 1..10000")
        if not 1 <= self.model_max_attempts <= 100:
            found.append(f"options.model_max_attempts={self.model_max_attempts}: use 1..100")
        # NaN fails every comparison, so these also refuse it.
        if not 1.0 <= self.model_timeout_seconds <= 86_400.0:
            found.append(f"options.model_timeout_seconds={self.model_timeout_seconds}: use 1..86400")
        if not 1.0 <= self.model_heartbeat_timeout_seconds <= 3_600.0:
            found.append(
                f"options.model_heartbeat_timeout_seconds={self.model_heartbeat_timeout_seconds}: use 1..3600"
            )
        return found


class Turn(BaseModel):
    """One completed exchange kept verbatim in the role's recent context."""

    turn: int
    invocation_id: str
    prompt: str
    reply: str


class LifecycleEvent(BaseModel):
    """One entry of the retire/reopen trail: who, when, why."""

    # "recover": a fresh run took up the state of the role's latest closed run (reason says which).
    action: Literal["retire", "reopen", "recover"]
    reason: str
    requested_by: str | None = None
    at: datetime
    generation: int


class InvokeInput(BaseModel):
    """Signal `invoke` and update `invoke_and_wait`: ask the role to act on a prompt.

    `invocation_id` is the idempotency key: a repeated id never runs twice.
    """

    invocation_id: str
    prompt: str
    mode: ExecutionMode = "persistent"
    requested_by: str | None = None
    domains: list[str] = []
    files: list[str] = []
    # Run again an id whose stored status is `failed` (never a completed one).
    retry: bool = False

    def problems(self) -> list[str]:
        """What is wrong with this request, as messages naming the field and the fix."""
        found = []
        if not INVOCATION_ID_PATTERN.fullmatch(self.invocation_id):
            found.append(
                f"invocation_id={self.invocation_id[:80]!r}: use 1-128 letters, digits or "
                "'._:@/-', starting with a letter or digit"
            )
        size = len(self.prompt.encode())
        if size > MAX_PROMPT_BYTES:
            found.append(
                f"prompt is {size} bytes; the limit is {MAX_PROMPT_BYTES} bytes: put large "
                "material in files the role reads, and send a shorter prompt"
            )
        elif not self.prompt.strip():
            found.append("prompt is empty: say what the role should do")
        if self.requested_by is not None and len(self.requested_by) > MAX_REQUESTED_BY_CHARS:
            found.append(f"requested_by is longer than {MAX_REQUESTED_BY_CHARS} characters")
        found += _list_problems("domains", self.domains, MAX_DOMAINS, MAX_DOMAIN_CHARS)
        found += _list_problems("files", self.files, MAX_FILES, MAX_FILE_CHARS)
        total = sum(len(f.encode(errors="replace")) for f in self.files[: MAX_FILES + 1])
        if len(self.files) <= MAX_FILES and total > MAX_FILES_TOTAL_BYTES:
            found.append(
                f"files hold {total} bytes of paths; the limit is {MAX_FILES_TOTAL_BYTES}: "
                "list fewer or shorter paths"
            )
        return found


def _list_problems(field: str, items: list[str], max_items: int, max_chars: int) -> list[str]:
    """Count and per-item bounds of a list of short strings (paths or domain names)."""
    if len(items) > max_items:
        return [f"{field} has {len(items)} entries; the limit is {max_items}: list fewer"]
    for n, item in enumerate(items):
        if len(item) > max_chars:
            return [f"{field}[{n}] is {len(item)} characters; the limit is {max_chars}: shorten it"]
        if not item.strip() or any(ch < " " or ch == "\x7f" for ch in item):
            return [f"{field}[{n}]={item[:60]!r} is blank or holds control characters: remove it"]
    return []


class LifecycleInput(BaseModel):
    """Signals `retire` and `reopen`."""

    reason: str = ""
    requested_by: str | None = None

    def problems(self) -> list[str]:
        if not self.reason.strip():
            return ["reason is empty: say why (it is kept in the role's trail)"]
        if len(self.reason) > MAX_REASON_CHARS:
            return [f"reason is longer than {MAX_REASON_CHARS} characters"]
        return []


class ArtifactQuery(BaseModel):
    """Query `artifact`: which invocation's artifact to return."""

    invocation_id: str


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ContextUsed(BaseModel):
    """What of the role's past reached the model for this invocation."""

    prior_turns: int = 0
    summary_chars: int = 0
    summarized_turns: int = 0
    context_tokens: int = 0


class ExecutionArtifact(BaseModel):
    """The machine-readable record of one invocation."""

    plan_id: str
    role: str
    workflow_id: str
    run_id: str
    invocation_id: str
    generation: int
    turn: int | None = None
    status: ArtifactStatus
    mode: ExecutionMode = "persistent"
    requested_by: str | None = None
    prompt: str
    reply: str | None = None
    reply_truncated: bool = False
    error: str | None = None
    reason: str | None = None
    provider: str | None = None
    model: str | None = None
    usage: TokenUsage = TokenUsage()
    context: ContextUsed = ContextUsed()
    skills: SkillEvidence | None = None
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    findings: FindingsEvidence | None = None  # what the reply submitted to the plan
    budget_warning: str | None = None  # set when the role's or the plan's budget is 80 % used
    delegated_workflow_id: str | None = None  # mode delegated: the one-off child workflow that ran it


class ArtifactBundleBatch(BaseModel):
    """Input of the local activity `write_artifact_bundles`: artifacts to write, oldest first.

    A local activity's input never enters history; the batch is bounded all the same.
    """

    artifacts: list[ExecutionArtifact] = Field(default_factory=list, max_length=MAX_REPORTS_PER_BATCH)


class SessionInput(BaseModel):
    """Start input of `RoleSession`. Only `plan_id` and `role` are needed to start."""

    plan_id: str
    role: str
    options: SessionOptions = SessionOptions()
    carried: CarriedState | None = None


class CarriedState(BaseModel):
    """Everything a session hands to its next run at continue-as-new. Always bounded."""

    status: SessionStatus = "active"
    generation: int = 1
    turns: int = 0
    runs: int = 1
    summary: str = ""
    summarized_turns: int = 0
    recent_turns: list[Turn] = []
    pending: list[InvokeInput] = []
    seen: dict[str, ArtifactStatus] = {}
    recent_artifacts: list[ExecutionArtifact] = []
    lifecycle: list[LifecycleEvent] = []
    last_invocation_id: str | None = None
    compliance: str | None = None
    plan_seq: int = 0
    plan_outbox: list[RoleEvent] = []
    directive: PlanDirective | None = None
    # Newest refusals, slimmed (prompt clipped), so `artifact` still answers them after a roll-over.
    recent_refusals: list[ExecutionArtifact] = []
    # Added for operators (issue 7); absent in states carried by older runs.
    title: str | None = None
    tokens: int = 0
    last_activity_at: datetime | None = None
    last_outcome: str | None = None


class RoleState(BaseModel):
    """Query `state`: the session as an operator sees it."""

    plan_id: str
    role: str
    status: SessionStatus
    generation: int
    turns: int
    pending: int
    last_invocation_id: str | None
    run_id: str
    runs: int
    summarized_turns: int
    recent_turns: int
    context_tokens: int
    history_events: int
    history_bytes: int
    compliance: str | None = None
    lifecycle: list[LifecycleEvent] = []
    title: str | None = None
    tokens: int = 0
    last_activity_at: datetime | None = None
    last_outcome: str | None = None
    running_invocation_id: str | None = None
    running_phase: str | None = None
    queued: list[str] = []
    # Queued invocations running with `running_invocation_id` in one `run_turns` batch, in order.
    running_batch: list[str] = []
    # What the plan's latest directive says (null until the plan sends one).
    budget_warning: str | None = None
    budget_refusal: str | None = None
    plan_waived_skills: list[str] = []
    # Reports not yet delivered to the plan and artifacts not yet in the bundle (sent in batches).
    unreported: int = 0
    unwritten: int = 0


# --- activity messages -------------------------------------------------------------------


class RoleBriefInput(BaseModel):
    plan_id: str
    role: str
    invocation_id: str
    prompt: str
    domains: list[str] = []
    files: list[str] = []
    plan_waivers: list[PlanSkillWaiver] = []


class RoleBrief(BaseModel):
    """What the policy says about the role for this invocation, read fresh each time."""

    role: str
    title: str
    system_prompt: str
    allowed_modes: list[ExecutionMode]
    model: str | None = None
    policy_version: str
    policy_sha256: str
    skill_policy_version: str | None = None
    skill_policy_sha256: str | None = None
    skills: SkillEvidence | None = None

    @property
    def compliance(self) -> str | None:
        return self.skills.compliance if self.skills else None


class ModelCallInput(BaseModel):
    """Bounded context for one model call: never the whole transcript."""

    plan_id: str
    role: str
    invocation_id: str
    turn: int
    system_prompt: str
    summary: str = ""
    recent_turns: list[Turn] = []
    prompt: str
    model: str | None = None


class ModelReply(BaseModel):
    reply: str
    truncated: bool = False
    provider: str
    model: str
    usage: TokenUsage = TokenUsage()


class TurnRef(BaseModel):
    """A recent turn named by its number, id and content digest (`turn_digest`), not its text."""

    turn: int
    invocation_id: str
    digest: str


def turn_digest(turn: Turn) -> str:
    """The digest a `TurnRef` names a turn's prompt and reply by (blake2b, 16 bytes, hex)."""
    data = f"{turn.turn}\n{turn.invocation_id}\n{len(turn.prompt)}\n{turn.prompt}{turn.reply}"
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


class TurnSpan(BaseModel):
    """Consecutive recent turns named by the first one's number, their count and one digest
    (`span_digest`): about 100 bytes whatever the context holds."""

    first_turn: int
    count: int
    digest: str


def span_digest(turns: list[Turn]) -> str:
    """One digest over the `turn_digest` of each turn, in order."""
    joined = "".join(turn_digest(t) for t in turns)
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def text_digest(text: str) -> str:
    """The digest `TurnInput.summary_digest` names a summary by (blake2b, 16 bytes, hex)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class TurnInput(BaseModel):
    """Activity `run_turn`: resolve the role's brief and call the model in one round trip.

    The system prompt and skill text never travel: the activity reads them from the policy.
    """

    brief: RoleBriefInput
    mode: ExecutionMode = "persistent"
    turn: int
    summary: str = ""
    recent_turns: list[Turn] = []
    # Sessions since PATCH_TURNS_BY_REFERENCE send the recent turns the worker has already seen
    # by reference; the activity fails with ContextNotCached when it does not hold them all, and
    # the session sends them verbatim instead.
    recent_refs: list[TurnRef] = []
    recent_span: TurnSpan | None = None  # the same by one digest (what sessions send now)
    # Sessions since `session-v2` name a summary the worker was sent before by its `text_digest`
    # (and send `summary` empty); ContextNotCached again when the worker does not hold it.
    summary_digest: str = ""
    # Sessions since `session-v2`: the `text_digest` of the JSON of the skill evidence they hold
    # from their last turn; when this turn's is the same, `run_turn` leaves `skills` out of its
    # result and says `skills_unchanged` (the artifact still carries the whole evidence).
    skills_digest: str = ""


class TurnContext(BaseModel):
    """Query `context`: the summary of older turns and the recent turns the session holds, which
    its `run_turn` inputs name by digest (bounded like the session's own: MAX_SUMMARY_BYTES and
    MAX_RECENT_TURNS_BYTES)."""

    summary: str = ""
    recent_turns: list[Turn] = []


class TurnResult(BaseModel):
    """What `run_turn` did: the evidence of what it loaded, and the reply (never the prompt text).

    `refused` is set (and `reply` is null) when the policy does not allow the mode: the model
    was not called.
    """

    role: str
    title: str
    allowed_modes: list[ExecutionMode]
    model: str | None = None
    policy_version: str
    policy_sha256: str
    skill_policy_version: str | None = None
    skill_policy_sha256: str | None = None
    skills: SkillEvidence | None = None
    refused: str | None = None
    reply: ModelReply | None = None
    skills_unchanged: bool = False  # `skills` left out: the same as TurnInput.skills_digest names

    @property
    def compliance(self) -> str | None:
        return self.skills.compliance if self.skills else None


class TurnBatchItem(BaseModel):
    """One more queued invocation of a `run_turns` batch: its turn follows the one before it."""

    brief: RoleBriefInput
    mode: ExecutionMode = "persistent"


class TurnBatchInput(BaseModel):
    """Activity `run_turns`: the turns of several queued invocations in one round trip, in order.

    `first` is what `run_turn` would get for the first invocation (its context by reference or
    verbatim, as there); each item of `more` sees the turns before it in its context, exactly as
    if it had run alone next. The batch stops before a turn whose context would need older turns
    folded (`context_token_budget`, `max_recent_bytes`: the session's own bounds), and before an
    item that fails: the session runs the items not run on its own, one at a time.
    """

    first: TurnInput
    more: list[TurnBatchItem] = []
    context_token_budget: int
    max_recent_bytes: int


class TurnBatchResult(BaseModel):
    """What `run_turns` did: one `TurnResult` per item it ran, in order, and the turn number each
    took (0 for a refusal: the model was not called). Items after the last result were not run;
    `stopped` says why."""

    results: list[TurnResult] = []
    turns: list[int] = []
    stopped: str = ""
    durations_ms: list[int] = []  # how long each item took: the session lays them end to end


class SummarizeInput(BaseModel):
    role: str
    previous_summary: str
    turns: list[Turn]
    max_tokens: int


class RecoverInput(BaseModel):
    """Activity `recover_role_state`: the fresh run asking, so it is never mistaken for a closed one."""

    workflow_id: str
    run_id: str


class RecoveredState(BaseModel):
    """The state of the role's latest closed run, when there is one worth taking up."""

    carried: CarriedState | None = None
    from_run_id: str | None = None
    # Set when the session's role is not a canonical role id of the policy (an alias, a title, an
    # unknown role): the run fails at once with InvalidSessionInput naming the canonical id.
    identity_problem: str | None = None


class SummaryResult(BaseModel):
    summary: str
    provider: str


SessionInput.model_rebuild()
RecoveredState.model_rebuild()
