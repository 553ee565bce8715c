"""RoleSession: one long-lived workflow per (plan_id, canonical role).

Signals and updates only enqueue invocations; the main loop runs them one at a time in arrival
order, so a role never talks over itself. The session rolls over with continue-as-new, handing on
a bounded state, so Temporal's history stays small however long the plan lives.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from roleteam import constants as c
    from roleteam.models import (
        ArtifactQuery,
        CarriedState,
        ContextUsed,
        ExecutionArtifact,
        InvokeInput,
        LifecycleEvent,
        LifecycleInput,
        ModelCallInput,
        ModelReply,
        RoleBrief,
        RoleBriefInput,
        RoleState,
        SessionInput,
        SummarizeInput,
        SummaryResult,
        TokenUsage,
        Turn,
    )
    from workflows.carry import digest, fit_carry, payload_bytes
    from workflows.context import (
        clip_tail,
        context_tokens,
        fallback_summary,
        for_summary,
        turns_to_fold,
    )


@workflow.defn(name=c.WORKFLOW_TYPE)
class RoleSession:
    @workflow.init
    def __init__(self, input: SessionInput) -> None:
        self._input = input
        self._state = input.carried or CarriedState()
        self._artifacts: dict[str, ExecutionArtifact] = {
            a.invocation_id: a for a in self._state.recent_artifacts
        }
        self._turns_this_run = 0
        self._running: str | None = None  # id of the invocation being run right now
        self._budget = input.options.context_token_budget or c.DEFAULT_CONTEXT_TOKEN_BUDGET
        self._turns_per_run = input.options.turns_per_run or c.DEFAULT_TURNS_PER_RUN

    # --- main loop -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: SessionInput) -> None:
        self._check_start_input(input)
        while True:
            # Roll over once no handler is in flight. When a roll-over is due, waiters for queued
            # invocations let go (see invoke_and_wait), so only the running one's waiter holds
            # the run; the queue rides along in `pending`.
            if self._rollover_due() and workflow.all_handlers_finished():
                self._continue_as_new()
            await workflow.wait_condition(
                lambda: (
                    bool(self._state.pending) or (self._rollover_due() and workflow.all_handlers_finished())
                )
            )
            if self._state.pending:
                request = self._state.pending.pop(0)
                self._running = request.invocation_id
                try:
                    await self._run_invocation(request)
                finally:
                    self._running = None

    def _check_start_input(self, input: SessionInput) -> None:
        problems = input.options.problems()
        if not c.PLAN_ID_PATTERN.fullmatch(input.plan_id):
            problems.append(f"plan_id={input.plan_id!r}: use 1-64 letters, digits, '.', '_', '-'")
        if not c.ROLE_ID_PATTERN.fullmatch(input.role):
            problems.append(f"role={input.role!r}: use the canonical role id, e.g. 'developer'")
        expected = c.session_workflow_id(input.plan_id, input.role)
        if workflow.info().workflow_id != expected:
            problems.append(f"workflow id must be {expected!r} for this plan_id and role")
        if problems:
            raise ApplicationError("; ".join(problems), type="InvalidSessionInput", non_retryable=True)

    def _rollover_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or self._turns_this_run >= self._turns_per_run
            or info.get_current_history_length() >= c.MAX_EVENTS_PER_RUN
            or info.get_current_history_size() >= c.MAX_HISTORY_BYTES_PER_RUN
        )

    def _continue_as_new(self) -> None:
        state = self._state.model_copy()
        state.runs += 1
        state.recent_artifacts = self._artifacts_to_carry()
        fit_carry(state)
        workflow.logger.info(
            "rolling over to a new run after %d turns (%d events)",
            self._turns_this_run,
            workflow.info().get_current_history_length(),
        )
        workflow.continue_as_new(
            SessionInput(
                plan_id=self._input.plan_id,
                role=self._input.role,
                options=self._input.options,
                carried=state,
            )
        )

    def _artifacts_to_carry(self) -> list[ExecutionArtifact]:
        carried: list[ExecutionArtifact] = []
        room = c.CARRIED_ARTIFACTS_BYTES
        for artifact in reversed(list(self._artifacts.values())):
            size = payload_bytes(artifact)
            if size > room:
                break
            room -= size
            carried.append(artifact)
        return carried[::-1]

    # --- one invocation --------------------------------------------------------------------

    async def _run_invocation(self, request: InvokeInput) -> None:
        started = workflow.now()
        if self._state.status == "retired":  # queued before the role was retired
            self._record(self._retired_refusal(request))
            return
        try:
            brief = await workflow.execute_activity(
                c.ACTIVITY_LOAD_ROLE_BRIEF,
                RoleBriefInput(
                    plan_id=self._input.plan_id,
                    role=self._input.role,
                    invocation_id=request.invocation_id,
                    prompt=request.prompt,
                    domains=request.domains,
                    files=request.files,
                ),
                result_type=RoleBrief,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["PolicyError"]),
            )
        except ActivityError as err:
            self._record(
                self._artifact(
                    request, started, "refused", reason=f"role policy could not be loaded: {_cause(err)}"
                )
            )
            return
        self._state.compliance = brief.compliance
        if request.mode not in brief.allowed_modes:
            self._record(
                self._artifact(
                    request,
                    started,
                    "refused",
                    skills=brief.skills,
                    reason=(
                        f"mode {request.mode!r} is not allowed for role {brief.role!r}; "
                        f"allowed: {', '.join(brief.allowed_modes)}"
                    ),
                )
            )
            return

        self._state.turns += 1
        turn = self._state.turns
        self._turns_this_run += 1
        used = ContextUsed(
            prior_turns=len(self._state.recent_turns),
            summary_chars=len(self._state.summary),
            summarized_turns=self._state.summarized_turns,
            context_tokens=context_tokens(self._state.summary, self._state.recent_turns),
        )
        call = ModelCallInput(
            plan_id=self._input.plan_id,
            role=self._input.role,
            invocation_id=request.invocation_id,
            turn=turn,
            system_prompt=brief.system_prompt,
            summary=self._state.summary,
            recent_turns=self._state.recent_turns,
            prompt=request.prompt,
            model=brief.model,
        )
        size = payload_bytes(call)
        if size > c.MAX_ACTIVITY_INPUT_BYTES:
            # Unreachable within the documented limits; failing beats a payload Temporal rejects.
            error = (
                f"model input would be {size} bytes, over the {c.MAX_ACTIVITY_INPUT_BYTES}-byte "
                "limit: shorten the prompt or the role's skills"
            )
            self._record(
                self._artifact(
                    request, started, "failed", turn=turn, context=used, skills=brief.skills, error=error
                )
            )
            return
        options = self._input.options
        try:
            reply = await workflow.execute_activity(
                c.ACTIVITY_CALL_MODEL,
                call,
                result_type=ModelReply,
                start_to_close_timeout=timedelta(seconds=options.model_timeout_seconds),
                heartbeat_timeout=timedelta(seconds=options.model_heartbeat_timeout_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=60),
                    maximum_attempts=options.model_max_attempts,
                ),
            )
        except ActivityError as err:
            self._record(
                self._artifact(
                    request,
                    started,
                    "failed",
                    turn=turn,
                    context=used,
                    skills=brief.skills,
                    error=_cause(err),
                )
            )
            return
        self._state.recent_turns.append(
            Turn(turn=turn, invocation_id=request.invocation_id, prompt=request.prompt, reply=reply.reply)
        )
        self._record(
            self._artifact(
                request, started, "completed", turn=turn, context=used, skills=brief.skills, reply=reply
            )
        )
        await self._compact()

    async def _compact(self) -> None:
        count = turns_to_fold(self._state.recent_turns, self._budget, c.MAX_RECENT_TURNS_BYTES)
        if not count:
            return
        folded = self._state.recent_turns[:count]
        max_tokens = max(self._budget // 4, 50)
        gist = [for_summary(t, c.SUMMARY_INPUT_CHARS_PER_TEXT) for t in folded]
        try:
            result = await workflow.execute_activity(
                c.ACTIVITY_SUMMARIZE_TURNS,
                SummarizeInput(
                    role=self._input.role,
                    previous_summary=self._state.summary,
                    turns=gist,
                    max_tokens=max_tokens,
                ),
                result_type=SummaryResult,
                start_to_close_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            summary = clip_tail(result.summary, max_tokens, c.MAX_SUMMARY_BYTES)
        except ActivityError as err:
            workflow.logger.warning("summarisation failed, folding mechanically: %s", _cause(err))
            summary = fallback_summary(self._state.summary, folded, max_tokens, c.MAX_SUMMARY_BYTES)
        self._state.summary = summary
        self._state.summarized_turns += count
        self._state.recent_turns = self._state.recent_turns[count:]

    def _artifact(
        self,
        request: InvokeInput,
        started,
        status,
        *,
        turn=None,
        reason=None,
        error=None,
        reply: ModelReply | None = None,
        context=None,
        skills=None,
    ) -> ExecutionArtifact:
        finished = workflow.now()
        info = workflow.info()
        prompt = request.prompt
        if len(prompt.encode()) > c.MAX_PROMPT_BYTES:
            prompt = prompt.encode()[: c.MAX_PROMPT_BYTES].decode(errors="ignore")
        return ExecutionArtifact(
            plan_id=self._input.plan_id,
            role=self._input.role,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            invocation_id=request.invocation_id,
            generation=self._state.generation,
            turn=turn,
            status=status,
            mode=request.mode,
            requested_by=request.requested_by,
            prompt=prompt,
            reply=reply.reply if reply else None,
            reply_truncated=bool(reply and reply.truncated),
            error=error[: c.MAX_ERROR_CHARS] if error else None,
            reason=reason,
            provider=reply.provider if reply else None,
            model=reply.model if reply else None,
            usage=reply.usage if reply else TokenUsage(),
            context=context or ContextUsed(),
            skills=skills,
            started_at=started,
            finished_at=finished,
            duration_ms=int((finished - started).total_seconds() * 1000),
        )

    def _retired_refusal(self, request: InvokeInput) -> ExecutionArtifact:
        last = self._state.lifecycle[-1] if self._state.lifecycle else None
        why = f" ({last.reason!r}, {last.at.isoformat()})" if last else ""
        reason = f"role {self._input.role!r} is retired{why}; send 'reopen' to resume it"
        return self._artifact(request, workflow.now(), "refused", reason=reason)

    def _record(self, artifact: ExecutionArtifact) -> None:
        self._artifacts[artifact.invocation_id] = artifact
        # Only invocations that ran are remembered for idempotency: a refused one never reached
        # the model, so sending its id again (after a reopen, or with a smaller prompt) runs it.
        if artifact.status != "refused":
            self._remember(artifact.invocation_id, artifact.status)
        self._state.last_invocation_id = artifact.invocation_id
        workflow.logger.info("invocation %s %s", artifact.invocation_id, artifact.status)

    def _remember(self, invocation_id: str, status) -> None:
        seen = self._state.seen
        seen[digest(invocation_id)] = status
        while len(seen) > c.IDEMPOTENCY_WINDOW:
            del seen[next(iter(seen))]

    # --- message handlers ------------------------------------------------------------------

    def _is_queued(self, invocation_id: str) -> bool:
        return any(p.invocation_id == invocation_id for p in self._state.pending)

    def _retrying(self, request: InvokeInput) -> bool:
        """A `retry` of an id whose stored status is failed: it may run again (completed never)."""
        invocation_id = request.invocation_id
        return (
            request.retry
            and self._state.seen.get(digest(invocation_id)) == "failed"
            and invocation_id != self._running
            and not self._is_queued(invocation_id)
        )

    def _is_new(self, request: InvokeInput) -> bool:
        """Whether the request is to be queued: an unknown id, or a retry of a failed one."""
        if not self._known(request.invocation_id):
            return True
        return self._retrying(request) and workflow.patched(c.PATCH_RETRY_FAILED)

    def _known(self, invocation_id: str) -> bool:
        return (
            digest(invocation_id) in self._state.seen
            or invocation_id == self._running
            or self._is_queued(invocation_id)
        )

    def _queue_problem(self, request: InvokeInput) -> str | None:
        pending = self._state.pending
        if len(pending) >= c.MAX_PENDING_INVOCATIONS:
            return f"queue is full ({len(pending)} invocations waiting); retry later"
        queued_bytes = sum(payload_bytes(p) for p in pending)
        # One request always fits an empty queue, so the largest valid prompt is never refused.
        if pending and queued_bytes + payload_bytes(request) > c.MAX_PENDING_BYTES:
            return f"queue holds {queued_bytes} bytes of prompts already; retry later"
        return None

    @workflow.signal(name=c.SIGNAL_INVOKE)
    def invoke(self, request: InvokeInput) -> None:
        if not c.INVOCATION_ID_PATTERN.fullmatch(request.invocation_id):
            # Without a usable id there is nothing to key a refusal by; the log keeps it.
            workflow.logger.warning("dropping invoke signal: %s", "; ".join(request.problems()))
            return
        if not self._is_new(request):
            workflow.logger.info("invocation %s already known; not run again", request.invocation_id)
            return
        problem = "; ".join(request.problems()) or self._queue_problem(request)
        if problem:
            self._record(self._artifact(request, workflow.now(), "refused", reason=problem))
            return
        if self._state.status == "retired":  # sent while retired: refused even if reopened soon
            self._record(self._retired_refusal(request))
            return
        self._enqueue(request)

    def _enqueue(self, request: InvokeInput) -> None:
        self._artifacts.pop(request.invocation_id, None)  # an earlier refusal or failure
        self._state.seen.pop(digest(request.invocation_id), None)  # a failure being retried
        self._state.pending.append(request)

    @workflow.update(name=c.UPDATE_INVOKE_AND_WAIT)
    async def invoke_and_wait(self, request: InvokeInput) -> ExecutionArtifact:
        invocation_id = request.invocation_id
        new = self._is_new(request)
        if new and self._state.status == "retired":
            refusal = self._retired_refusal(request)
            self._record(refusal)
            return refusal
        if new:
            # Validators of updates arriving together all see the same room; check again here.
            problem = self._queue_problem(request)
            if problem:
                raise ApplicationError(problem, type="QueueFull")
            self._enqueue(request)

        def done() -> bool:
            return invocation_id in self._artifacts or digest(invocation_id) in self._state.seen

        def handed_over() -> bool:
            # A waiter whose invocation is still queued when the run must roll over lets go, so
            # the run can end now instead of after the whole queue; the invocation is carried.
            return self._rollover_due() and self._is_queued(invocation_id)

        await workflow.wait_condition(lambda: done() or handed_over())
        if not done():
            raise ApplicationError(
                f"session is rolling over to a new run; invocation {invocation_id!r} stays queued "
                "and is carried over: send the same update again to wait for it",
                type=c.ROLLING_OVER_ERROR,
            )
        if invocation_id not in self._artifacts:
            raise ApplicationError(
                f"invocation {invocation_id!r} ran in an earlier run of this session "
                f"(status {self._state.seen[digest(invocation_id)]}); read it with "
                "'roleteam history'",
                type="ArtifactNotRetained",
            )
        return self._artifacts[invocation_id]

    @invoke_and_wait.validator
    def _validate_invoke(self, request: InvokeInput) -> None:
        problems = request.problems()
        if problems:
            raise ValueError("; ".join(problems))
        if not self._known(request.invocation_id) or self._retrying(request):
            problem = self._queue_problem(request)
            if problem:
                raise ValueError(problem)
            if self._rollover_due():
                # Hold new waiters back so the in-flight ones can finish and the run can hand
                # over; without this, overlapping callers could keep a run open indefinitely.
                raise ApplicationError(
                    "session is rolling over to a new run; retry in a moment",
                    type=c.ROLLING_OVER_ERROR,
                )

    @workflow.signal(name=c.SIGNAL_RETIRE)
    def retire(self, request: LifecycleInput) -> None:
        self._change_status("retire", request)

    @workflow.signal(name=c.SIGNAL_REOPEN)
    def reopen(self, request: LifecycleInput) -> None:
        self._change_status("reopen", request)

    def _change_status(self, action: str, request: LifecycleInput) -> None:
        target = "retired" if action == "retire" else "active"
        if self._state.status == target:
            workflow.logger.info("%s ignored: role is already %s", action, target)
            return
        self._state.status = target
        if action == "reopen":
            self._state.generation += 1
        reason = request.reason.strip()[: c.MAX_REASON_CHARS] or "(no reason given)"
        self._state.lifecycle.append(
            LifecycleEvent(
                action=action,
                reason=reason,
                requested_by=request.requested_by[: c.MAX_REQUESTED_BY_CHARS]
                if request.requested_by
                else None,
                at=workflow.now(),
                generation=self._state.generation,
            )
        )
        del self._state.lifecycle[: -c.MAX_LIFECYCLE_EVENTS]

    @workflow.query(name=c.QUERY_STATE)
    def state(self) -> RoleState:
        info = workflow.info()
        s = self._state
        return RoleState(
            plan_id=self._input.plan_id,
            role=self._input.role,
            status=s.status,
            generation=s.generation,
            turns=s.turns,
            pending=len(s.pending),
            last_invocation_id=s.last_invocation_id,
            run_id=info.run_id,
            runs=s.runs,
            summarized_turns=s.summarized_turns,
            recent_turns=len(s.recent_turns),
            context_tokens=context_tokens(s.summary, s.recent_turns),
            history_events=info.get_current_history_length(),
            history_bytes=info.get_current_history_size(),
            compliance=s.compliance,
            lifecycle=s.lifecycle,
        )

    @workflow.query(name=c.QUERY_ARTIFACT)
    def artifact(self, request: ArtifactQuery) -> ExecutionArtifact | None:
        return self._artifacts.get(request.invocation_id)


def _cause(err: ActivityError) -> str:
    """The innermost failure message of an activity error: what actually went wrong."""
    cause: BaseException = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
