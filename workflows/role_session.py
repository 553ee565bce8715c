"""RoleSession: one long-lived workflow per (plan_id, canonical role).

Signals and updates only enqueue invocations; the main loop runs them one at a time in arrival
order, so a role never talks over itself. The session rolls over with continue-as-new, handing on
a bounded state, so Temporal's history stays small however long the plan lives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    import roleteam.constants as c
    import roleteam.search_attributes as sa
    from roleteam.models import (
        ArtifactBundleBatch,
        ArtifactQuery,
        CarriedState,
        ContextUsed,
        ExecutionArtifact,
        InvokeInput,
        LifecycleEvent,
        LifecycleInput,
        ModelCallInput,
        ModelReply,
        RecoveredState,
        RecoverInput,
        RoleBrief,
        RoleBriefInput,
        RoleState,
        SessionInput,
        SummarizeInput,
        SummaryResult,
        TokenUsage,
        Turn,
        TurnBatchInput,
        TurnBatchItem,
        TurnBatchResult,
        TurnContext,
        TurnInput,
        TurnResult,
        TurnSpan,
        span_digest,
        text_digest,
    )
    from roleteam.plan_models import DelegatedInput, DelegatedResult
    from roleteam.report_models import (
        FindingsEvidence,
        LineageEntry,
        PlanDirective,
        ReplyFindings,
        RoleEvent,
        RoleEventBatch,
        RoleSnapshot,
    )
    from roleteam.timefmt import format_time
    from roleteam.workflows.carry import bound_carry, digest, fit_carry, payload_bytes, refusals_to_carry
    from roleteam.workflows.context import (
        clip_tail,
        context_tokens,
        fallback_summary,
        for_summary,
        turns_to_fold,
    )
    from roleteam.workflows.findings import parse_reply
    from roleteam.workflows.ledger import ArtifactLedger, remember
    from roleteam.workflows.outbox import drop_delivered
    from roleteam.workflows.report_batches import any_urgent, next_batch
    from roleteam.workflows.visibility import activity_summary, details_markdown, outcome
    from roleteam.workflows.wire import parse_wire, raw_field, root_cause


# Refusals are handed on at continue-as-new (issue 11 item 12); older runs hand on none.
CARRY_REFUSALS_PATCH = "carry-refusals"
# A fresh run takes up the state of the role's latest closed run (item 13); older runs did not.
RECOVER_PATCH = "recover-after-close"
# Search-attribute upserts and activity summaries add commands to the history, so histories
# recorded before them replay without them.
PATCH_OPERATOR_VISIBILITY = "operator-visibility-v1"
# One activity per invocation (`run_turn`: brief and model call together); the system prompt and
# skill text stay out of history. Older runs use `load_role_brief` then `call_model`.
PATCH_ONE_TURN_ACTIVITY = "one-turn-activity"
# Queued invocations run before the trailing work of earlier ones (bundle files, plan reports,
# search-attribute upserts), which is done in a batch once the queue is empty, every
# TRAILING_BATCH artifacts, or before a roll-over. Older runs did it after each invocation.
PATCH_QUEUE_FIRST = "queue-before-trailing-work"
TRAILING_BATCH = 16
# With the queue first, a report that is not an artifact (the session joining the plan, which
# starts the plan; a retire/reopen) still goes before the next invocation. Runs recorded with
# the queue first but before this deferred those too.
PATCH_PLAN_NEWS_FIRST = "plan-news-before-queue"
# A session holds only its newest artifacts in memory (MAX_HELD_ARTIFACTS / _BYTES); older runs
# held every artifact of the run.
PATCH_BOUNDED_ARTIFACTS = "bounded-held-artifacts"
# `run_turn` gets the recent turns by reference (first turn, count, one digest) when the worker
# already holds them, and verbatim only when it answers ContextNotCached; older runs always sent
# them verbatim. (Runs recorded while it was being built named each turn: `recent_refs`.)
PATCH_TURNS_BY_REFERENCE = "recent-turns-by-reference"
# A run rolls over at EVENTS_PER_RUN events rather than MAX_EVENTS_PER_RUN: with the turns above
# a run no longer fills 4 MiB in about 110 turns, and a cold resume (fresh worker, or a session
# evicted from the cache) replays the whole current run, about 0.5 ms an event on a 2-core
# machine. Older runs rolled over at MAX_EVENTS_PER_RUN.
PATCH_SHORTER_RUNS = "shorter-runs"
EVENTS_PER_RUN = 1_000
# One marker for every behaviour above (and the ones below), in runs recorded since: each
# `workflow.patched` call writes a marker and an upsert of TemporalChangeVersion, about 26 events
# and 3.5 KB at the start of every run for the thirteen patches before it. A run recorded before
# it has no such marker and decides each behaviour by its own patch, as it did. Runs with it also:
# - take up a closed run's state with a local activity (no server round trip before the first turn);
# - leave the trailing work (plan reports, bundle files, the TurnCount attribute) to a reporter
#   coroutine beside the main loop, so the next invocation never waits for it. Routine artifact
#   reports wait up to REPORT_DELAY_SECONDS (or TRAILING_BATCH of them) and go to the plan in one
#   `role_events` signal when the plan takes them; anything the plan acts on (lifecycle,
#   findings, decisions, answers, remediations, failures, budgets near their limit) goes at once.
PATCH_SESSION_V2 = "session-v2"
REPORT_DELAY_SECONDS = 1.0
MAX_TRAILING = 4 * TRAILING_BATCH
ROLLOVER_PAUSE = timedelta(milliseconds=10)
# Runs with this marker run up to MAX_TURNS_PER_BATCH queued invocations in one `run_turns`
# activity (each turn sees the ones before it, as if run alone): one workflow task and one
# activity round trip per batch instead of per invocation. Evaluated only when a second
# invocation waits, so a one-off role's history gains no marker.
PATCH_TURN_BATCHES = "turn-batches"
# The pause before a roll-over (ROLLOVER_PAUSE) is one server timer, and the dev server fires a
# 10 ms timer after 0.7-0.9 s: every caller waiting on the roll-over paid that. Runs with this
# marker write the last bundle files before a roll-over with a regular activity instead of a local
# one (its result is a history event, ordered with the signals that arrived meanwhile), and pause
# only when a local activity did finish in the activation that would hand over. The marker is
# written at the first roll-over that reaches the choice, so runs that never roll over lack it.
PATCH_QUICK_ROLLOVER = "rollover-without-pause"


@workflow.defn(name=c.WORKFLOW_TYPE)
class RoleSession:
    @workflow.init
    def __init__(self, input: Any = None) -> None:
        # Typed `Any` and decoded here, so a start input that does not fit fails the run with
        # `InvalidSessionInput` (see run) instead of failing every workflow task.
        parsed = parse_wire(SessionInput, input)
        self._start_problems: list[str] = []
        if isinstance(parsed, str):
            self._start_problems.append(parsed)
            # Queries of the failed run still name the session the workflow id stands for.
            _, plan_id, role = (workflow.info().workflow_id.split(":", 2) + ["-", "-"])[:3]
            parsed = SessionInput(plan_id=plan_id, role=role)
        self._input = parsed
        carried = parsed.carried
        if carried is not None and not workflow.info().continued_run_id:
            # Only the session's own continue-as-new hands on state; a client's is a forgery.
            self._start_problems.append(
                "carried: only a session's own continue-as-new hands on state; start without 'carried'"
            )
            carried = None
        if carried is not None:
            for note in bound_carry(carried):
                workflow.logger.warning("carried state trimmed to its bounds: %s", note)
        self._state = carried or CarriedState()
        self._artifacts = ArtifactLedger((*self._state.recent_refusals, *self._state.recent_artifacts))
        self._turns_this_run = 0
        self._max_events = c.MAX_EVENTS_PER_RUN  # decided in run() (PATCH_SHORTER_RUNS)
        self._running: str | None = None  # id of the invocation being run right now
        self._batch: list[InvokeInput] = []  # running with it in one `run_turns` batch
        self._batching: bool | None = None  # PATCH_TURN_BATCHES, decided when first needed
        self._quick_rollover: bool | None = None  # PATCH_QUICK_ROLLOVER, likewise
        self._local_activity_at = -1  # history length of the activation a local activity ended in
        self._parked = False  # the main loop waits for work (see _validate_invoke)
        self._budget = parsed.options.context_token_budget or c.DEFAULT_CONTEXT_TOKEN_BUDGET
        self._turns_per_run = parsed.options.turns_per_run or c.DEFAULT_TURNS_PER_RUN
        self._reports_to_plan = False  # decided in run(): sessions recorded before it never report
        self._delegates = False
        self._last_skills = None  # skill evidence of the latest invocation that loaded the policy
        self._phase: str | None = None  # what the running invocation is doing
        self._visible: bool | None = None  # whether this run upserts attributes (see _visibility)
        self._upserted: dict[str, object] = {}
        self._unwritten: list[str] = []  # artifacts recorded but not yet written to the bundle
        self._ignored_bytes = 0  # payload bytes of signals outside the contract, this run
        self._bundles = False
        self._one_trip = False
        self._queue_first = False
        self._news_first = False
        self._by_reference = False
        self._v2: bool | None = None  # see _current
        self._delivered_snapshot: RoleSnapshot | None = None  # in the report last sent to the plan
        self._joining = False  # the `joined` report of a fresh session is still on its way
        self._summary_sent: str | None = None  # digest of the summary run_turn last got verbatim
        self._first_completed_seq: int | None = None  # report of this run's first completed artifact

    # --- main loop -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: Any = None) -> None:
        self._check_start_input(self._input)
        fresh = not workflow.info().continued_run_id and self._input.carried is None
        current = self._current()
        if fresh and (current or workflow.patched(RECOVER_PATCH)):
            await self._recover()
        self._reports_to_plan = current or workflow.patched(c.PATCH_PLAN_REPORTING)
        self._delegates = current or workflow.patched(c.PATCH_DELEGATED_CHILD)
        self._bundles = current or workflow.patched(c.PATCH_ROLE_BUNDLE)
        self._one_trip = current or workflow.patched(PATCH_ONE_TURN_ACTIVITY)
        self._queue_first = current or workflow.patched(PATCH_QUEUE_FIRST)
        self._news_first = current or (self._queue_first and workflow.patched(PATCH_PLAN_NEWS_FIRST))
        self._by_reference = current or workflow.patched(PATCH_TURNS_BY_REFERENCE)
        if current or workflow.patched(PATCH_SHORTER_RUNS):
            self._max_events = EVENTS_PER_RUN
        if current or workflow.patched(PATCH_BOUNDED_ARTIFACTS):
            self._artifacts.bound(c.MAX_HELD_ARTIFACTS, c.MAX_HELD_ARTIFACT_BYTES)
        if self._reports_to_plan and fresh:
            self._queue_report("joined")
            # The first invocation runs while the report is on its way, but its caller hears back
            # only once the plan has it: `roleteam plan …` right after a first invoke finds the plan.
            self._joining = current
        self._publish()
        if current:
            await self._serve_with_reporter()
        while True:
            # Roll over once no handler is in flight and the plan has every report. When a
            # roll-over is due, waiters for queued invocations let go (see invoke_and_wait), so
            # only the running one's waiter holds the run; the queue rides along in `pending`.
            if (
                self._rollover_due()
                and workflow.all_handlers_finished()
                and not self._state.plan_outbox
                and not self._unwritten
            ):
                self._continue_as_new()
            self._parked = True
            await workflow.wait_condition(
                lambda: (
                    bool(self._state.pending)
                    or bool(self._state.plan_outbox)
                    or bool(self._unwritten)
                    or (self._rollover_due() and workflow.all_handlers_finished())
                )
            )
            self._parked = False
            if self._queue_first and self._state.pending and not self._trailing_due():
                await self._run_next()
                continue
            if self._unwritten:
                await self._write_bundles()
            if self._state.plan_outbox:
                await self._flush_reports()
                continue
            if self._state.pending:
                await self._run_next()

    async def _serve_with_reporter(self) -> None:
        """The main loop of runs with PATCH_SESSION_V2: invocations only; the reporter
        does the trailing work beside it. Ends by continue-as-new."""
        reporter = asyncio.create_task(self._report_in_batches())

        def can_roll_over() -> bool:
            return self._rollover_due() and workflow.all_handlers_finished() and not self._trailing()

        def can_run() -> bool:
            # Backpressure: when the plan cannot be reached, a role pauses after MAX_TRAILING
            # undelivered reports rather than piling them up (older runs paused after 16).
            backlog = max(len(self._state.plan_outbox), len(self._unwritten))
            return bool(self._state.pending) and not self._rollover_due() and backlog < MAX_TRAILING

        while True:
            if can_roll_over():
                if self._rolls_over_quickly() and not self._local_activity_just_ended():
                    self._continue_as_new()
                # One more round trip first: the trailing work just done may have been a local
                # activity, whose result a replay can deliver before signals that arrived while it
                # ran; handing over in that same activation would drop those signals (seen: an
                # invocation lost when a roll-over raced a stream of `invoke` signals). After a
                # timer, every signal the server took before it fired is handled first.
                await workflow.sleep(ROLLOVER_PAUSE)
                if can_roll_over():
                    self._continue_as_new()
                continue
            self._parked = True
            await workflow.wait_condition(lambda: can_run() or can_roll_over() or reporter.done())
            self._parked = False
            if reporter.done():
                reporter.result()  # a bug in the reporter fails the task here, never a silent stall
                raise RuntimeError("the reporter stopped")
            if can_run():
                await self._run_next()

    def _trailing(self) -> bool:
        return bool(self._state.plan_outbox) or bool(self._unwritten)

    async def _report_in_batches(self) -> None:
        """Deliver plan reports and write bundle files in batches, beside the main loop."""
        while True:
            await workflow.wait_condition(self._trailing)
            if not self._report_due():
                try:
                    await workflow.wait_condition(
                        self._report_due, timeout=timedelta(seconds=REPORT_DELAY_SECONDS)
                    )
                except TimeoutError:
                    pass  # routine reports have waited long enough
            # Reports first: the plan acts on them; a bundle write (a local activity) holds up the
            # completion of the workflow task it runs in, so it goes in a later one when it can.
            await self._flush_report_batches()
            await self._write_bundle_batches()
            self._publish(with_turn_count=True)

    def _report_due(self) -> bool:
        outbox = self._state.plan_outbox
        return (
            self._rollover_due()
            or len(outbox) >= TRAILING_BATCH
            or len(self._unwritten) >= TRAILING_BATCH
            or any_urgent(outbox, self._state.directive, self._delivered_snapshot, self._first_completed_seq)
        )

    async def _write_bundle_batches(self) -> None:
        """Write unwritten artifacts to the plan bundle, a batch per local activity (a regular one
        when a roll-over is due, in runs with PATCH_QUICK_ROLLOVER)."""
        while self._unwritten:
            ids = self._unwritten[: c.MAX_REPORTS_PER_BATCH]
            artifacts = [a for a in map(self._artifacts.get, ids) if a is not None]
            if artifacts:
                # The last files before a roll-over go by a regular activity (see
                # PATCH_QUICK_ROLLOVER): no local activity result in the activation that hands over.
                local = not (self._rollover_due() and self._rolls_over_quickly())
                run = workflow.execute_local_activity if local else workflow.execute_activity
                try:
                    await run(
                        c.ACTIVITY_WRITE_ARTIFACT_BUNDLES,
                        ArtifactBundleBatch(artifacts=artifacts),
                        start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_attempts=3),
                        summary=self._summary(f"{len(artifacts)} bundle files"),
                    )
                except ActivityError as err:
                    workflow.logger.warning("%d artifacts not written: %s", len(artifacts), root_cause(err))
                if local:
                    self._local_activity_at = workflow.info().get_current_history_length()
            # Only ever appended to meanwhile: the written ones are still the first.
            del self._unwritten[: len(ids)]
        self._artifacts.trim()  # the artifacts held only until written can go now

    async def _flush_report_batches(self) -> None:
        """Deliver queued reports in order: several per `role_events` signal when the plan takes
        them (its directive says so), else one `role_event` each; a plan that is not running is
        started with the report (see _report)."""
        plan = workflow.get_external_workflow_handle(c.plan_workflow_id(self._input.plan_id))
        while self._state.plan_outbox:
            batch = next_batch(
                self._state.plan_outbox,
                self._state.directive,
                c.MAX_REPORTS_PER_BATCH,
                c.MAX_REPORT_BATCH_BYTES,
            )
            try:
                if len(batch) > 1:
                    await plan.signal(c.SIGNAL_ROLE_EVENTS, RoleEventBatch(events=batch))
                else:
                    await plan.signal(c.SIGNAL_ROLE_EVENT, batch[0])
            except FailureError:
                for event in batch:  # the plan is not running (yet, or any more)
                    await self._start_plan_with(event)
            for event in batch:
                drop_delivered(self._state.plan_outbox, event, lambda: True)
            self._delivered_snapshot = batch[-1].snapshot
            if any(event.kind == "joined" for event in batch):
                self._joining = False  # delivered, or given up on (logged): callers go on

    async def _start_plan_with(self, event: RoleEvent) -> None:
        """Start the plan with this report (signal-with-start, activity `report_to_plan`)."""
        try:
            await workflow.execute_activity(
                c.ACTIVITY_REPORT_TO_PLAN,
                event,
                summary=self._summary(f"plan:{self._input.plan_id}", f"{event.kind} report {event.seq}"),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            )
        except ActivityError as err:
            workflow.logger.warning("report %d to the plan not delivered: %s", event.seq, root_cause(err))

    async def _run_next(self) -> None:
        batch = self._batchable()
        if len(batch) > 1 and self._batches():
            del self._state.pending[: len(batch)]
            self._running, self._batch = batch[0][0].invocation_id, [r for r, _ in batch[1:]]
            self._publish()
            try:
                await self._run_batch(batch)
            finally:
                self._running, self._batch, self._phase = None, [], None
                self._publish()
            return
        request = self._state.pending.pop(0)
        self._running = request.invocation_id
        self._publish()
        try:
            await self._run_invocation(request)
        finally:
            self._running = None
            self._phase = None
            self._publish()

    def _rolls_over_quickly(self) -> bool:
        if self._quick_rollover is None:
            self._quick_rollover = workflow.patched(PATCH_QUICK_ROLLOVER)
        return self._quick_rollover

    def _local_activity_just_ended(self) -> bool:
        """Whether a local activity's result was delivered in this activation (the history a
        workflow task starts from grows with every new task)."""
        return self._local_activity_at == workflow.info().get_current_history_length()

    def _batches(self) -> bool:
        if self._batching is None:
            self._batching = workflow.patched(PATCH_TURN_BATCHES)
        return self._batching

    def _batchable(self) -> list[tuple[InvokeInput, RoleBriefInput]]:
        """The queued invocations at the front that can run in one `run_turns` batch: persistent
        or ephemeral turns of an active role whose plan reports no budget near its limit (those
        run one at a time, so a retire or a budget refusal takes effect at the next invocation)."""
        directive = self._state.directive
        if (
            not self._current()
            or self._state.status == "retired"
            or (directive is not None and (directive.budget_refusal or directive.budget_warning))
        ):
            return []
        batch: list[tuple[InvokeInput, RoleBriefInput]] = []
        room = self._turns_per_run - self._turns_this_run  # a batch never runs past a roll-over
        for request in self._state.pending[: min(c.MAX_TURNS_PER_BATCH, room)]:
            brief_input = self._brief_input(request)
            if request.mode == "delegated" or payload_bytes(brief_input) > c.MAX_ACTIVITY_INPUT_BYTES:
                break
            batch.append((request, brief_input))
        return batch

    async def _run_batch(self, batch: list[tuple[InvokeInput, RoleBriefInput]]) -> None:
        """Run queued invocations in one `run_turns` activity and record each, in order; those it
        did not run go back to the front of the queue (they run next, one at a time)."""
        started = workflow.now()
        requests = [request for request, _ in batch]
        held = self._held_skills()
        first = self._turn_input(requests[0], batch[0][1], held)

        def turns(call: TurnInput) -> TurnBatchInput:
            return TurnBatchInput(
                first=call,
                more=[TurnBatchItem(brief=brief, mode=request.mode) for request, brief in batch[1:]],
                context_token_budget=self._budget,
                max_recent_bytes=c.MAX_RECENT_TURNS_BYTES,
            )

        if payload_bytes(turns(first)) > c.MAX_ACTIVITY_INPUT_BYTES:
            self._state.pending[:0] = requests[1:]  # too big together: the first runs alone
            await self._run_invocation(requests[0])
            return
        self._set_phase("calling the model")
        try:
            result = await self._with_context(first, lambda call: self._execute_batch(turns(call)))
        except ActivityError as err:
            self._turn_failed(requests[0], started, first.turn, self._context_used(), err, held)
            self._state.pending[:0] = requests[1:]
            return
        ran = result.results[: len(requests)]
        durations = [max(ms, 0) for ms in result.durations_ms] + [0] * len(ran)
        now = workflow.now()
        for n, (request, turn_result) in enumerate(zip(requests, ran, strict=False)):
            # The activity ran the items one after another: each starts where the last ended.
            began = min(started, now)
            started += timedelta(milliseconds=durations[n])
            finished = None if n == len(ran) - 1 else min(started, now)
            turn = self._state.turns + 1
            used, held = self._context_used(), self._held_skills()
            await self._settle_turn(request, began, turn, used, turn_result, held, finished)
        if len(ran) < len(requests):
            workflow.logger.info("batch ran %d of %d: %s", len(ran), len(requests), result.stopped)
            self._state.pending[:0] = requests[len(ran) :]

    async def _execute_batch(self, batch: TurnBatchInput) -> TurnBatchResult:
        options = self._input.options
        count = 1 + len(batch.more)
        return await workflow.execute_activity(
            c.ACTIVITY_RUN_TURNS,
            batch,
            result_type=TurnBatchResult,
            start_to_close_timeout=timedelta(seconds=options.model_timeout_seconds * count),
            heartbeat_timeout=timedelta(seconds=options.model_heartbeat_timeout_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1),
                maximum_interval=timedelta(seconds=60),
                maximum_attempts=options.model_max_attempts,
                non_retryable_error_types=[c.POLICY_ERROR, c.MODEL_INPUT_TOO_LARGE_ERROR],
            ),
            summary=self._summary(
                batch.first.brief.invocation_id, f"turns from {batch.first.turn}", f"{count} queued"
            ),
        )

    def _trailing_due(self) -> bool:
        """Whether bundle files and plan reports go before the next queued invocation."""
        outbox = self._state.plan_outbox
        if self._news_first and any(event.kind != "artifact" for event in outbox):
            return True
        return len(outbox) >= TRAILING_BATCH or len(self._unwritten) >= TRAILING_BATCH or self._rollover_due()

    async def _recover(self) -> None:
        """Take up the latest closed run's state (after a terminate, say), keeping what arrived
        meanwhile; the trail records where it came from."""
        info = workflow.info()
        # A local activity in current runs: no round trip through the server before the first turn.
        run = workflow.execute_local_activity if self._current() else workflow.execute_activity
        try:
            found = await run(
                c.ACTIVITY_RECOVER_ROLE_STATE,
                RecoverInput(workflow_id=info.workflow_id, run_id=info.run_id),
                result_type=RecoveredState,
                summary=self._summary("take up the latest closed run's state"),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            workflow.logger.warning("starting empty: earlier runs could not be read: %s", root_cause(err))
            return
        finally:
            if self._in_own_loop():
                self._local_activity_at = workflow.info().get_current_history_length()
        if found.identity_problem:
            raise ApplicationError(
                found.identity_problem, type=c.INVALID_SESSION_INPUT_ERROR, non_retryable=True
            )
        if found.carried is None:
            return
        recovered = found.carried
        for note in bound_carry(recovered):
            workflow.logger.warning("recovered state trimmed to its bounds: %s", note)
        queued = {p.invocation_id for p in recovered.pending}
        for request in self._state.pending:  # arrived while this run was recovering
            if request.invocation_id not in queued and digest(request.invocation_id) not in recovered.seen:
                recovered.pending.append(request)
        recovered.lifecycle.append(
            LifecycleEvent(
                action="recover",
                reason=(
                    f"took up the state of closed run {found.from_run_id}: {recovered.turns} turns, "
                    f"{len(recovered.seen)} invocation ids remembered"
                ),
                at=workflow.now(),
                generation=recovered.generation,
            )
        )
        del recovered.lifecycle[: -c.MAX_LIFECYCLE_EVENTS]
        self._state = recovered
        for artifact in recovered.recent_artifacts:
            self._artifacts.put(artifact)

    def _check_start_input(self, input: SessionInput) -> None:
        if self._start_problems:
            raise ApplicationError(
                "; ".join(self._start_problems), type=c.INVALID_SESSION_INPUT_ERROR, non_retryable=True
            )
        problems = input.options.problems()
        if not c.PLAN_ID_PATTERN.fullmatch(input.plan_id):
            problems.append(f"plan_id={input.plan_id!r}: use 1-64 letters, digits, '.', '_', '-'")
        if not c.ROLE_ID_PATTERN.fullmatch(input.role):
            problems.append(f"role={input.role!r}: use the canonical role id, e.g. 'developer'")
        expected = c.session_workflow_id(input.plan_id, input.role)
        if workflow.info().workflow_id != expected:
            problems.append(f"workflow id must be {expected!r} for this plan_id and role")
        if problems:
            raise ApplicationError(
                "; ".join(problems), type=c.INVALID_SESSION_INPUT_ERROR, non_retryable=True
            )

    def _rollover_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or self._turns_this_run >= self._turns_per_run
            or info.get_current_history_length() >= self._max_events
            or info.get_current_history_size() + self._ignored_bytes >= c.MAX_HISTORY_BYTES_PER_RUN
        )

    def _continue_as_new(self) -> None:
        state = self._state.model_copy()
        state.runs += 1
        state.recent_artifacts = self._artifacts_to_carry()
        if self._current() or workflow.patched(CARRY_REFUSALS_PATCH):
            carried = {a.invocation_id for a in state.recent_artifacts}
            state.recent_refusals = refusals_to_carry(
                [a for a in self._artifacts.values() if a.invocation_id not in carried]
            )
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
            ),
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    def _artifacts_to_carry(self) -> list[ExecutionArtifact]:
        carried: list[ExecutionArtifact] = []
        room = c.CARRIED_ARTIFACTS_BYTES_V2 if self._current() else c.CARRIED_ARTIFACTS_BYTES
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
        directive = self._state.directive
        if directive and directive.budget_refusal:
            self._record(self._artifact(request, started, "refused", reason=directive.budget_refusal))
            return
        if request.mode == "delegated" and self._delegates:
            await self._run_delegated(request, started)
            return
        brief_input = self._brief_input(request)
        size = payload_bytes(brief_input)
        if size > c.MAX_ACTIVITY_INPUT_BYTES:
            # Unreachable within the request bounds; a payload Temporal rejects would fail the
            # workflow task on every attempt, so this invocation is refused instead.
            reason = (
                f"policy input would be {size} bytes, over the {c.MAX_ACTIVITY_INPUT_BYTES}-byte "
                "limit: send a shorter prompt and fewer files"
            )
            self._record(self._artifact(request, started, "refused", reason=reason))
            return
        if self._one_trip:
            await self._run_turn(request, brief_input, started)
            return
        self._set_phase("loading skills")
        try:
            brief = await workflow.execute_activity(
                c.ACTIVITY_LOAD_ROLE_BRIEF,
                brief_input,
                result_type=RoleBrief,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=[c.POLICY_ERROR]),
                summary=self._summary(request.invocation_id, self._input.role),
            )
        except ActivityError as err:
            self._record(
                self._artifact(
                    request, started, "refused", reason=f"role policy could not be loaded: {root_cause(err)}"
                )
            )
            return
        self._state.compliance = brief.compliance
        self._last_skills = brief.skills
        self._state.title = brief.title
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
        self._set_phase("calling the model")
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
                summary=self._summary(
                    request.invocation_id,
                    f"turn {turn}",
                    brief.model or "default model",
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
                    error=root_cause(err),
                )
            )
            return
        await self._complete_turn(request, started, turn, used, brief.skills, reply)

    def _brief_input(self, request: InvokeInput) -> RoleBriefInput:
        directive = self._state.directive
        return RoleBriefInput(
            plan_id=self._input.plan_id,
            role=self._input.role,
            invocation_id=request.invocation_id,
            prompt=request.prompt,
            domains=request.domains,
            files=request.files,
            plan_waivers=directive.skill_waivers if directive else [],
        )

    async def _complete_turn(
        self, request: InvokeInput, started, turn: int, used, skills, reply, finished=None
    ) -> None:
        """Keep a model's reply as the turn's verbatim record and its artifact, then compact."""
        reply = _bounded_reply(reply)
        self._state.recent_turns.append(
            Turn(turn=turn, invocation_id=request.invocation_id, prompt=request.prompt, reply=reply.reply)
        )
        self._record(
            self._artifact(
                request,
                started,
                "completed",
                turn=turn,
                context=used,
                skills=skills,
                reply=reply,
                finished=finished,
            )
        )
        await self._compact()

    async def _run_turn(self, request: InvokeInput, brief_input: RoleBriefInput, started) -> None:
        """One activity resolves the brief and calls the model; history keeps only the evidence."""
        used = self._context_used()
        held = self._held_skills()
        call = self._turn_input(request, brief_input, held)
        turn = call.turn  # taken only if the model is called
        size = payload_bytes(call)
        if size > c.MAX_ACTIVITY_INPUT_BYTES:
            # Unreachable within the documented limits; failing beats a payload Temporal rejects.
            error = (
                f"model input would be {size} bytes, over the {c.MAX_ACTIVITY_INPUT_BYTES}-byte "
                "limit: shorten the prompt or the role's skills"
            )
            self._take_turn()
            self._record(self._artifact(request, started, "failed", turn=turn, context=used, error=error))
            return
        self._set_phase("calling the model")
        try:
            result = await self._with_context(call, lambda sent: self._execute_turn(sent, request, turn))
        except ActivityError as err:
            self._turn_failed(request, started, turn, used, err, held)
            return
        await self._settle_turn(request, started, turn, used, result, held)

    def _context_used(self) -> ContextUsed:
        return ContextUsed(
            prior_turns=len(self._state.recent_turns),
            summary_chars=len(self._state.summary),
            summarized_turns=self._state.summarized_turns,
            context_tokens=context_tokens(self._state.summary, self._state.recent_turns),
        )

    def _held_skills(self):
        """The skill evidence a `run_turn` result may name by digest (`session-v2`), or None."""
        return self._last_skills if self._current() else None

    def _turn_input(self, request: InvokeInput, brief_input: RoleBriefInput, held) -> TurnInput:
        return TurnInput(
            brief=brief_input,
            mode=request.mode,
            turn=self._state.turns + 1,
            summary=self._state.summary,
            recent_turns=self._state.recent_turns,
            skills_digest=text_digest(held.model_dump_json()) if held is not None else "",
        )

    async def _with_context(self, call: TurnInput, execute):
        """`execute(call)`, with the context by reference where it can be (and verbatim again when
        the worker answers ContextNotCached)."""
        by_reference = self._by_reference_call(call)
        if by_reference is not call:
            try:
                result = await execute(by_reference)
            except ActivityError as err:
                if _error_type(err) != c.CONTEXT_NOT_CACHED_ERROR:
                    raise
                result = await execute(call)  # verbatim this time
        else:
            result = await execute(call)
        if self._current():
            self._summary_sent = text_digest(call.summary) if call.summary else None
        return result

    def _turn_failed(self, request: InvokeInput, started, turn: int, used, err: ActivityError, held) -> None:
        """Record a `run_turn` that failed: a refusal when the policy could not be used (no turn
        taken), else a failed turn carrying what it had loaded."""
        if _error_type(err) == c.POLICY_ERROR:  # nothing ran: a refusal, no turn taken
            reason = f"role policy could not be loaded: {root_cause(err)}"
            self._record(self._artifact(request, started, "refused", reason=reason))
            return
        loaded = _loaded_evidence(err)
        if loaded is not None and loaded.skills_unchanged:
            loaded = loaded.model_copy(update={"skills": held, "skills_unchanged": False})
        if loaded is not None:
            self._state.compliance, self._last_skills = loaded.compliance, loaded.skills
            self._state.title = loaded.title
        self._take_turn()
        self._record(
            self._artifact(
                request,
                started,
                "failed",
                turn=turn,
                context=used,
                skills=loaded.skills if loaded else None,
                error=root_cause(err),
            )
        )

    async def _settle_turn(
        self, request: InvokeInput, started, turn: int, used, result: TurnResult, held, finished=None
    ) -> None:
        """Record what a turn's `run_turn` (or its item of `run_turns`) returned; `finished` is
        when it ended (by default now)."""
        if result.skills_unchanged:
            result = result.model_copy(update={"skills": held, "skills_unchanged": False})
        self._state.compliance = result.compliance
        self._last_skills = result.skills
        self._state.title = result.title
        if result.refused is not None or result.reply is None:
            reason = result.refused or "the model was not called"
            self._record(
                self._artifact(
                    request, started, "refused", skills=result.skills, reason=reason, finished=finished
                )
            )
            return
        self._take_turn()
        await self._complete_turn(request, started, turn, used, result.skills, result.reply, finished)

    def _by_reference_call(self, call: TurnInput) -> TurnInput:
        """`call` with the context the worker was already sent named by digest instead: the
        recent turns (PATCH_TURNS_BY_REFERENCE), and the summary of older turns once it was sent
        verbatim (`session-v2`). `call` itself when nothing can be named."""
        update: dict = {}
        if self._by_reference and call.recent_turns:
            recent = call.recent_turns
            span = TurnSpan(first_turn=recent[0].turn, count=len(recent), digest=span_digest(recent))
            update |= {"recent_turns": [], "recent_span": span}
        if self._current() and call.summary and self._summary_sent == text_digest(call.summary):
            update |= {"summary": "", "summary_digest": self._summary_sent}
        return call.model_copy(update=update) if update else call

    async def _execute_turn(self, call: TurnInput, request: InvokeInput, turn: int) -> TurnResult:
        options = self._input.options
        return await workflow.execute_activity(
            c.ACTIVITY_RUN_TURN,
            call,
            result_type=TurnResult,
            start_to_close_timeout=timedelta(seconds=options.model_timeout_seconds),
            heartbeat_timeout=timedelta(seconds=options.model_heartbeat_timeout_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1),
                maximum_interval=timedelta(seconds=60),
                maximum_attempts=options.model_max_attempts,
                non_retryable_error_types=[c.POLICY_ERROR, c.MODEL_INPUT_TOO_LARGE_ERROR],
            ),
            summary=self._summary(request.invocation_id, f"turn {turn}", self._input.role),
        )

    def _take_turn(self) -> None:
        self._state.turns += 1
        self._turns_this_run += 1

    async def _run_delegated(self, request: InvokeInput, started) -> None:
        """Mode `delegated`: a one-off child workflow with the role's prompt and skills, no memory."""
        child_id = f"delegated:{self._input.plan_id}:{self._input.role}:{request.invocation_id}"
        directive = self._state.directive
        try:
            result = await workflow.execute_child_workflow(
                c.DELEGATED_WORKFLOW_TYPE,
                DelegatedInput(
                    plan_id=self._input.plan_id,
                    role=self._input.role,
                    request=request,
                    skill_waivers=directive.skill_waivers if directive else [],
                    options=self._input.options,
                ),
                id=child_id,
                result_type=DelegatedResult,
                task_queue=workflow.info().task_queue,
            )
        except (ChildWorkflowError, FailureError) as err:
            result = DelegatedResult(
                status="failed", error=f"delegated run {child_id} failed: {root_cause(err)}"
            )
        reply = None
        if result.status == "completed" and result.reply is not None:
            usage = TokenUsage(
                prompt_tokens=result.usage_prompt_tokens,
                completion_tokens=result.usage_completion_tokens,
                total_tokens=result.usage_prompt_tokens + result.usage_completion_tokens,
            )
            reply = ModelReply(
                reply=result.reply,
                truncated=result.reply_truncated,
                provider=result.provider or "unknown",
                model=result.model or "unknown",
                usage=usage,
            )
        artifact = self._artifact(
            request,
            started,
            result.status,
            reason=result.reason,
            error=result.error,
            reply=reply,
            skills=result.skills,
        )
        artifact.delegated_workflow_id = child_id
        if result.skills is not None:
            self._state.compliance, self._last_skills = result.skills.compliance, result.skills
        self._record(artifact)

    async def _compact(self) -> None:
        count = turns_to_fold(self._state.recent_turns, self._budget, c.MAX_RECENT_TURNS_BYTES)
        if not count:
            return
        folded = self._state.recent_turns[:count]
        max_tokens = max(self._budget // 4, 50)
        gist = [for_summary(t, c.SUMMARY_INPUT_CHARS_PER_TEXT) for t in folded]
        summarize = SummarizeInput(
            role=self._input.role, previous_summary=self._state.summary, turns=gist, max_tokens=max_tokens
        )
        self._set_phase("summarising older turns")
        try:
            if payload_bytes(summarize) > c.MAX_ACTIVITY_INPUT_BYTES:
                raise ApplicationError("summary input is over the activity input limit")
            result = await workflow.execute_activity(
                c.ACTIVITY_SUMMARIZE_TURNS,
                summarize,
                result_type=SummaryResult,
                start_to_close_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary=self._summary(
                    f"fold turns {folded[0].turn}-{folded[-1].turn}",
                    f"{max_tokens} tokens",
                ),
            )
            summary = clip_tail(result.summary, max_tokens, c.MAX_SUMMARY_BYTES)
        except (ActivityError, ApplicationError) as err:
            cause = root_cause(err) if isinstance(err, ActivityError) else str(err)
            workflow.logger.warning("summarisation failed, folding mechanically: %s", cause)
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
        finished=None,
    ) -> ExecutionArtifact:
        finished = finished or workflow.now()
        info = workflow.info()
        prompt = request.prompt
        if len(prompt.encode()) > c.MAX_PROMPT_BYTES:
            prompt = prompt.encode()[: c.MAX_PROMPT_BYTES].decode(errors="ignore")
        artifact = ExecutionArtifact(
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
            budget_warning=self._state.directive.budget_warning if self._state.directive else None,
        )
        size = payload_bytes(artifact)
        if size > c.MAX_ARTIFACT_BYTES:
            # Returned by `invoke_and_wait` and carried at roll-over: it must fit one payload.
            artifact = artifact.model_copy(
                update={
                    "status": "failed",
                    "prompt": "",
                    "reply": None,
                    "skills": None,
                    "reason": None,
                    "error": (
                        f"the artifact would be {size} bytes, over the {c.MAX_ARTIFACT_BYTES}-byte "
                        "limit; its reply is dropped: send a shorter prompt"
                    ),
                }
            )
        return artifact

    def _retired_refusal(self, request: InvokeInput) -> ExecutionArtifact:
        last = self._state.lifecycle[-1] if self._state.lifecycle else None
        why = f" ({last.reason!r}, {format_time(last.at)})" if last else ""
        reason = f"role {self._input.role!r} is retired{why}; send 'reopen' to resume it"
        return self._artifact(request, workflow.now(), "refused", reason=reason)

    def _record(self, artifact: ExecutionArtifact) -> None:
        if self._reports_to_plan:
            reply = parse_reply(artifact.reply) if artifact.status == "completed" and artifact.reply else None
            if reply is not None and not reply.empty:
                artifact.findings = FindingsEvidence(
                    submitted=[f"{f.severity}: {f.title[:100]}" for f in reply.findings],
                    skipped=reply.skipped,
                    reviews=len(reply.reviews),
                    dispatch=len(reply.dispatch),
                    revalidations=len(reply.revalidations),
                )
            self._queue_artifact_report(artifact, reply)
        self._artifacts.put(artifact, pinned=self._unwritten)
        if self._bundles and len(self._unwritten) < c.MAX_PENDING_INVOCATIONS:
            self._unwritten.append(artifact.invocation_id)
        # Only invocations that ran are remembered for idempotency: a refused one never reached
        # the model, so sending its id again (after a reopen, or with a smaller prompt) runs it.
        if artifact.status != "refused":
            self._remember(artifact.invocation_id, artifact.status)
        self._state.last_invocation_id = artifact.invocation_id
        self._state.last_activity_at = artifact.finished_at
        self._state.last_outcome = outcome(artifact.status, artifact.reason or artifact.error)
        self._state.tokens += artifact.usage.total_tokens
        workflow.logger.info("invocation %s %s", artifact.invocation_id, artifact.status)
        self._publish()

    # --- what operators see (Web UI, visibility queries) ------------------------------------

    def _visibility(self) -> bool:
        """Whether this run upserts search attributes and labels activities (not in old runs)."""
        if self._visible is None:
            self._visible = self._current() or workflow.patched(PATCH_OPERATOR_VISIBILITY)
        return self._visible

    def _current(self) -> bool:
        """Whether this run was recorded with PATCH_SESSION_V2 (every behaviour patched in so far)."""
        if self._v2 is None:
            self._v2 = workflow.patched(PATCH_SESSION_V2)
        return self._v2

    def _summary(self, *parts: object) -> str | None:
        return activity_summary(*parts) if self._visibility() else None

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        self._publish()

    def _in_own_loop(self) -> bool:
        """Whether this instance's own workflow event loop is running the code.

        Not so when the garbage collector closes the coroutine of an instance the SDK has
        discarded: its `finally` blocks then run on whatever thread collects, outside any
        workflow loop (the workflow API raises) or inside another workflow's (a command there
        would break that workflow's determinism)."""
        return workflow.in_workflow() and workflow.instance() is self

    def _publish(self, with_turn_count: bool = False) -> None:
        """Refresh the UI's current details, and upsert the search attributes that changed.

        In `session-v2` runs a change of `TurnCount` alone waits for the reporter's next batch
        (`with_turn_count`): one upsert per batch instead of one per turn."""
        if not self._in_own_loop():
            return
        if not (
            c.PLAN_ID_PATTERN.fullmatch(self._input.plan_id) and c.ROLE_ID_PATTERN.fullmatch(self._input.role)
        ):
            return  # a run about to fail on its bad start input; its ids are not fit to index
        workflow.set_current_details(
            details_markdown(self._input.plan_id, self._input.role, self._state, self._running, self._phase)
        )
        if not self._visibility():
            return
        if self._queue_first and self._state.pending:
            return  # upserted once the queue is empty: one command instead of one per turn
        values = {
            sa.PLAN_ID: self._input.plan_id,
            sa.CANONICAL_ROLE: self._input.role,
            sa.ROLE_STATUS: self._state.status,
            sa.SKILL_COMPLIANCE: self._state.compliance,
            sa.TURN_COUNT: self._state.turns,
        }
        changed = {
            key.name: key.value_set(value)
            for key, value in values.items()
            if value is not None and self._upserted.get(key.name) != value
        }
        if self._current() and not with_turn_count and set(changed) == {sa.TURN_COUNT.name}:
            return  # only the turn count moved: the reporter upserts it with its next batch
        if changed:
            workflow.upsert_search_attributes(list(changed.values()))
            self._upserted.update({k.name: v for k, v in values.items() if v is not None})

    def _remember(self, invocation_id: str, status) -> None:
        remember(self._state.seen, invocation_id, status)

    # --- reporting to the plan --------------------------------------------------------------

    def _queue_artifact_report(self, artifact: ExecutionArtifact, reply: ReplyFindings | None) -> None:
        entry = LineageEntry(
            invocation_id=artifact.invocation_id,
            role=artifact.role,
            requested_by=artifact.requested_by,
            status=artifact.status,
            turn=artifact.turn,
            mode=artifact.mode,
            tokens=artifact.usage.total_tokens,
            started_at=artifact.started_at,
            finished_at=artifact.finished_at,
            reason=(artifact.reason or artifact.error or "")[:300] or None,
        )
        # The plan waits for the answer to a clarification question; give it the reply's opening.
        excerpt = (artifact.reply or "")[:1000] if artifact.invocation_id.startswith("clarify:") else ""
        self._queue_report(
            "artifact", entry=entry, reply=None if reply is None or reply.empty else reply, excerpt=excerpt
        )
        if artifact.status == "completed" and self._first_completed_seq is None:
            self._first_completed_seq = self._state.plan_seq  # see any_urgent

    def _queue_report(self, kind: str, **fields) -> None:
        """Queue a report for the plan; the main loop delivers the queue in order."""
        s = self._state
        evidence = self._last_skills
        missing = []
        if evidence is not None:
            waived = {w.skill for w in evidence.waivers}
            missing = [m.name for m in evidence.missing if m.required and m.name not in waived]
        outbox = s.plan_outbox
        if kind == "lifecycle" and outbox and outbox[-1].kind == "lifecycle":
            outbox.pop()  # a newer snapshot says all an older lifecycle report would
        s.plan_seq += 1
        outbox.append(
            RoleEvent(
                plan_id=self._input.plan_id,
                role=self._input.role,
                seq=s.plan_seq,
                kind=kind,
                snapshot=RoleSnapshot(
                    status=s.status,
                    generation=s.generation,
                    turns=s.turns,
                    compliance=s.compliance,
                    missing_required_skills=missing[:20],
                    queued=len(s.pending) if self._current() else 0,
                ),
                at=workflow.now(),
                **fields,
            )
        )

    async def _write_bundles(self) -> None:
        """Write recorded artifacts to the plan bundle on the worker's disk (local activity)."""
        while self._unwritten:
            artifact = self._artifacts.get(self._unwritten.pop(0))
            if artifact is None:
                continue
            try:
                await workflow.execute_local_activity(
                    c.ACTIVITY_WRITE_ARTIFACT_BUNDLE,
                    artifact,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                    summary=self._summary(artifact.invocation_id, "bundle file"),
                )
            except ActivityError as err:
                workflow.logger.warning(
                    "artifact %s not written: %s", artifact.invocation_id, root_cause(err)
                )
        self._artifacts.trim()  # the artifacts held only until written can go now

    async def _flush_reports(self) -> None:
        """Deliver queued reports to the plan: by signal, or start the plan with the report."""
        plan = workflow.get_external_workflow_handle(c.plan_workflow_id(self._input.plan_id))
        while self._state.plan_outbox:
            event = self._state.plan_outbox[0]
            try:
                await plan.signal(c.SIGNAL_ROLE_EVENT, event)
            except FailureError:
                await self._start_plan_with(event)  # the plan is not running yet (or any more)
            # A newer lifecycle report may have replaced this one meanwhile (see _queue_report).
            drop_delivered(
                self._state.plan_outbox, event, lambda: workflow.patched(c.PATCH_OUTBOX_BY_IDENTITY)
            )

    @workflow.signal(name=c.SIGNAL_PLAN_DIRECTIVE)
    def plan_directive(self, raw: Any) -> None:
        """Signal `plan_directive` (PlanDirective): the plan's waivers and budget state for this role."""
        directive = parse_wire(PlanDirective, raw)
        if isinstance(directive, str):
            workflow.logger.warning("plan_directive dropped: %s", directive)
            return
        if len(directive.skill_waivers) > c.MAX_WAIVERS or payload_bytes(directive) > c.MAX_DIRECTIVE_BYTES:
            workflow.logger.warning("plan_directive dropped: over %d waivers or bytes", c.MAX_WAIVERS)
            return
        current = self._state.directive
        if current is None or directive.version >= current.version:
            self._state.directive = directive

    # --- message handlers ------------------------------------------------------------------

    def _is_running(self, invocation_id: str) -> bool:
        return invocation_id == self._running or any(r.invocation_id == invocation_id for r in self._batch)

    def _is_queued(self, invocation_id: str) -> bool:
        return any(p.invocation_id == invocation_id for p in self._state.pending)

    def _retrying(self, request: InvokeInput) -> bool:
        """A `retry` of an id whose stored status is failed: it may run again (completed never)."""
        invocation_id = request.invocation_id
        return (
            request.retry
            and self._state.seen.get(digest(invocation_id)) == "failed"
            and not self._is_running(invocation_id)
            and not self._is_queued(invocation_id)
        )

    def _is_new(self, request: InvokeInput) -> bool:
        """Whether the request is to be queued: an unknown id, or a retry of a failed one."""
        if not self._known(request.invocation_id):
            return True
        return self._retrying(request) and (self._current() or workflow.patched(c.PATCH_RETRY_FAILED))

    def _known(self, invocation_id: str) -> bool:
        return (
            digest(invocation_id) in self._state.seen
            or self._is_running(invocation_id)
            or self._is_queued(invocation_id)
        )

    def _queue_problem(self, request: InvokeInput) -> str | None:
        pending = self._state.pending
        # A batch's invocations count as waiting: those it does not run go back in the queue.
        waiting = len(pending) + len(self._batch)
        if waiting >= c.MAX_PENDING_INVOCATIONS:
            return f"queue is full ({waiting} invocations waiting); retry later"
        queued_bytes = sum(payload_bytes(p) for p in (*pending, *self._batch))
        # One request always fits an empty queue, so the largest valid prompt is never refused.
        if (pending or self._batch) and queued_bytes + payload_bytes(request) > c.MAX_PENDING_BYTES:
            return f"queue holds {queued_bytes} bytes of prompts already; retry later"
        return None

    @workflow.signal(name=c.SIGNAL_INVOKE)
    def invoke(self, raw: Any) -> None:
        request = parse_wire(InvokeInput, raw)
        if isinstance(request, str):
            self._refuse_undecodable(raw, request)
            return
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

    def _refuse_undecodable(self, raw: Any, problem: str) -> None:
        """An `invoke` payload that is not an InvokeInput: refused under its id when it has one."""
        invocation_id = raw_field(raw, "invocation_id", 128)
        if invocation_id is None or not c.INVOCATION_ID_PATTERN.fullmatch(invocation_id):
            workflow.logger.warning(
                "dropping undecodable invoke signal (no usable invocation_id): %s", problem
            )
            return
        if self._known(invocation_id):
            workflow.logger.info("invocation %s already known; undecodable repeat ignored", invocation_id)
            return
        placeholder = InvokeInput(invocation_id=invocation_id, prompt="")
        reason = f"request could not be decoded: {problem}"
        self._record(self._artifact(placeholder, workflow.now(), "refused", reason=reason))

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        # Handled (not buffered) so every signal wakes the main loop: buffered ones would let
        # history pass the roll-over point without the loop ever checking it. The history size
        # Temporal reports leaves out signals that arrived with the current task, so their bytes
        # are counted here (a later task counts them again: rolling over early is harmless).
        self._ignored_bytes += sum(len(arg.payload.data) for arg in args)
        workflow.logger.warning("ignoring signal %r: not part of the RoleSession contract", name[:100])

    def _enqueue(self, request: InvokeInput) -> None:
        self._artifacts.pop(request.invocation_id)  # an earlier refusal or failure
        self._state.seen.pop(digest(request.invocation_id), None)  # a failure being retried
        self._state.pending.append(request)
        self._publish()

    @workflow.update(name=c.UPDATE_INVOKE_AND_WAIT)
    async def invoke_and_wait(self, raw: Any) -> ExecutionArtifact:
        request = parse_wire(InvokeInput, raw)
        if isinstance(request, str):  # only on replay of a history the validator never saw
            raise ApplicationError(request, type=c.INVALID_REQUEST_ERROR, non_retryable=True)
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
                raise ApplicationError(problem, type=c.QUEUE_FULL_ERROR)
            self._enqueue(request)

        def done() -> bool:
            if self._joining:
                return False  # see run(): the plan learns of this session first
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
        artifact = self._artifacts.get(invocation_id)
        if artifact is None:
            status = self._state.seen[digest(invocation_id)]
            when = (
                f"earlier in this run of the session (status {status}) and its artifact is no longer "
                f"held (a session holds its newest {c.MAX_HELD_ARTIFACTS})"
                if self._artifacts.dropped(invocation_id)
                else f"in an earlier run of this session (status {status})"
            )
            raise ApplicationError(
                f"invocation {invocation_id!r} ran {when}; read it with 'roleteam history'",
                type=c.ARTIFACT_NOT_RETAINED_ERROR,
            )
        return artifact

    @invoke_and_wait.validator
    def _validate_invoke(self, raw: Any) -> None:
        request = parse_wire(InvokeInput, raw)
        if isinstance(request, str):
            raise ApplicationError(request, type=c.INVALID_REQUEST_ERROR, non_retryable=True)
        problems = request.problems()
        if problems:
            # Not retryable: the same request is refused again; a full queue may have room later.
            raise ApplicationError("; ".join(problems), type=c.INVALID_REQUEST_ERROR, non_retryable=True)
        if not self._known(request.invocation_id) or self._retrying(request):
            problem = self._queue_problem(request)
            if problem:
                raise ApplicationError(problem, type=c.QUEUE_FULL_ERROR)
            if self._rollover_due() and not self._parked:
                # Hold new waiters back so the in-flight ones can finish and the run can hand
                # over; without this, overlapping callers could keep a run open indefinitely.
                # Not while the main loop is parked: the run is idle, and the roll-over is due
                # only because this update's own workflow task took the run to its event limit.
                # A rejected update leaves nothing in history, so the SDK does not re-check the
                # main loop's condition for it: the run would stay idle and refuse every retry.
                # Accepted, the update wakes the loop (its waiter hands over) and the run rolls.
                raise ApplicationError(
                    "session is rolling over to a new run; retry in a moment",
                    type=c.ROLLING_OVER_ERROR,
                )

    @workflow.signal(name=c.SIGNAL_RETIRE)
    def retire(self, raw: Any) -> None:
        self._change_status("retire", raw)

    @workflow.signal(name=c.SIGNAL_REOPEN)
    def reopen(self, raw: Any) -> None:
        self._change_status("reopen", raw)

    def _change_status(self, action: str, raw: Any) -> None:
        request = parse_wire(LifecycleInput, raw)
        if isinstance(request, str):
            workflow.logger.warning("dropping undecodable %s signal: %s", action, request)
            return
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
        if self._reports_to_plan:
            self._queue_report("lifecycle")
        self._publish()

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
            title=s.title,
            tokens=s.tokens,
            last_activity_at=s.last_activity_at,
            last_outcome=s.last_outcome,
            running_invocation_id=self._running,
            running_phase=self._phase if self._running else None,
            queued=[p.invocation_id for p in s.pending],
            running_batch=[r.invocation_id for r in self._batch],
            budget_warning=s.directive.budget_warning if s.directive else None,
            budget_refusal=s.directive.budget_refusal if s.directive else None,
            plan_waived_skills=[w.skill for w in s.directive.skill_waivers] if s.directive else [],
            unreported=len(s.plan_outbox),
            unwritten=len(self._unwritten),
        )

    @workflow.query(name=c.QUERY_ARTIFACT)
    def artifact(self, raw: Any) -> ExecutionArtifact | None:
        request = parse_wire(ArtifactQuery, raw)
        if isinstance(request, str):
            raise ValueError(request)
        return self._artifacts.get(request.invocation_id)

    @workflow.query(name=c.QUERY_CONTEXT)
    def context(self) -> TurnContext:
        """The summary and recent turns `run_turn` inputs name by digest: a worker that does not
        hold them (after a restart, or when another worker ran the last turn) asks here instead of
        failing with ContextNotCached, so they never go into history verbatim again."""
        return TurnContext(summary=self._state.summary, recent_turns=self._state.recent_turns)


def _error_type(err: ActivityError) -> str | None:
    cause = err.cause
    return cause.type if isinstance(cause, ApplicationError) else None


def _loaded_evidence(err: ActivityError) -> TurnResult | None:
    """What a failed `run_turn` had loaded before the model call failed (its failure details)."""
    cause = err.cause
    if not isinstance(cause, ApplicationError) or not cause.details:
        return None
    loaded = parse_wire(TurnResult, cause.details[0])
    return None if isinstance(loaded, str) else loaded


def _bounded_reply(reply: ModelReply) -> ModelReply:
    """Clip what an endpoint reported, whatever the activity let through."""
    usage = reply.usage

    def count(n: int) -> int:
        return min(max(n, 0), c.MAX_TOKEN_COUNT)

    reply_text = reply.reply
    truncated = reply.truncated
    if len(reply_text.encode()) > c.MAX_REPLY_BYTES:
        reply_text = reply_text.encode()[: c.MAX_REPLY_BYTES].decode(errors="ignore")
        truncated = True
    return ModelReply(
        reply=reply_text,
        truncated=truncated,
        provider=reply.provider[: c.MAX_MODEL_NAME_CHARS],
        model=reply.model[: c.MAX_MODEL_NAME_CHARS],
        usage=TokenUsage(
            prompt_tokens=count(usage.prompt_tokens),
            completion_tokens=count(usage.completion_tokens),
            total_tokens=count(usage.total_tokens),
        ),
    )
