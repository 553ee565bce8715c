"""Plan: one workflow per plan, where the team is governed and the Lead stays in control.

Role sessions report every artifact and lifecycle change here (`role_event`). Findings that
reporting roles submit wait for the Lead's review; only the Lead's `dispatch` sends work back to a
role, and only the template's revalidators close a remediated finding. Waivers, budgets, halt and
the completion gate live here too. Messages for role sessions go through an outbox that the main
loop delivers in order, so handlers stay synchronous and nothing is lost at roll-over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import roleteam.constants as c
    import roleteam.search_attributes as sa
    from roleteam.models import LifecycleInput, RecoverInput
    from roleteam.plan_models import (
        BudgetInput,
        DeliveryInput,
        DispatchInput,
        LineageView,
        OutboxItem,
        PlanActionResult,
        PlanBundleInput,
        PlanCarried,
        PlanInput,
        PlanLifecycleInput,
        PlanOpenInput,
        PlanState,
        RecoveredPlan,
        RevalidateInput,
        ReviewInput,
        TeamRequest,
        TeamTemplate,
        WaiveInput,
        Waiver,
    )
    from roleteam.report_models import (
        RoleEvent,
        RoleEventBatch,
    )
    from roleteam.workflows import plan_findings as ledger
    from roleteam.workflows import plan_team as team
    from roleteam.workflows.outbox import drop_delivered
    from roleteam.workflows.plan_events import apply_role_event
    from roleteam.workflows.plan_visibility import open_findings, plan_details_markdown
    from roleteam.workflows.wire import parse_wire, root_cause

LINEAGE_IN_QUERY = 50


@workflow.defn(name=c.PLAN_WORKFLOW_TYPE)
class PlanWorkflow:
    @workflow.init
    def __init__(self, input: Any = None) -> None:
        parsed = parse_wire(PlanInput, input)
        self._problem = parsed if isinstance(parsed, str) else None
        self._input = parsed if isinstance(parsed, PlanInput) else PlanInput(plan_id="")
        # Carried state is trusted only from this plan's own continue-as-new.
        carried = self._input.carried if workflow.info().continued_run_id else None
        self._state: PlanCarried | None = carried
        self._early_events: list[RoleEvent] = []
        self._upserted: dict[str, object] = {}
        self._dirty = True  # the plan's state changed since it was last published
        self._ignored_bytes = 0  # payload bytes of signals outside the contract, this run
        self._v2 = False  # decided in run() (PATCH_PLAN_V2)
        self._takes_batches = False

    # --- main loop -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: Any = None) -> None:
        """Load the team template once, then deliver the outbox and roll over when due."""
        self._check_start_input()
        self._v2 = workflow.patched(c.PATCH_PLAN_V2)
        self._takes_batches = self._v2
        if self._state is None and (self._v2 or workflow.patched(c.PATCH_PLAN_RECOVER)):
            self._state = await self._recover()
        if self._state is None:
            self._state = PlanCarried(template=await self._load_template(self._input.team))
            for role in self._state.template.roles:
                team.roster_entry(self._state, role)  # not-started roles show in the roster too
        for event in self._early_events:
            self._on_role_event(event)
        self._early_events = []
        visible = self._v2 or workflow.patched(c.PATCH_PLAN_VISIBILITY)
        while True:
            if visible and self._dirty:
                await self._publish()
            if self._rollover_due() and not self._state.outbox and workflow.all_handlers_finished():
                self._continue_as_new()
            await workflow.wait_condition(
                lambda: (
                    bool(self._state.outbox)
                    or (visible and self._dirty)
                    or (self._rollover_due() and workflow.all_handlers_finished())
                )
            )
            if self._state.outbox:
                item = self._state.outbox[0]
                await self._deliver(item)
                # Handlers may have replaced the queue meanwhile (a newer directive for the role).
                drop_delivered(
                    self._state.outbox, item, lambda: self._v2 or workflow.patched(c.PATCH_OUTBOX_BY_IDENTITY)
                )

    def _check_start_input(self) -> None:
        problems = [self._problem] if self._problem else []
        plan_id = self._input.plan_id
        if not self._problem and not c.PLAN_ID_PATTERN.fullmatch(plan_id):
            problems.append(f"plan_id={plan_id[:80]!r}: use 1-64 letters, digits, '.', '_', '-'")
        expected = c.plan_workflow_id(plan_id)
        if not problems and workflow.info().workflow_id != expected:
            problems.append(f"workflow id must be {expected!r} for plan_id {plan_id!r}")
        if problems:
            raise ApplicationError("; ".join(problems), type=c.INVALID_PLAN_INPUT_ERROR, non_retryable=True)

    def _activity(self, *args, **kwargs):
        """Start-up reads: local activities in current runs (no server round trip each)."""
        if self._v2:
            return workflow.execute_local_activity(*args, **kwargs)
        return workflow.execute_activity(*args, **kwargs)

    async def _load_template(self, name: str | None) -> TeamTemplate:
        try:
            return await self._activity(
                c.ACTIVITY_LOAD_TEAM_TEMPLATE,
                TeamRequest(name=name),
                summary=f"team template {name or '(default)'}",
                result_type=TeamTemplate,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=[c.POLICY_ERROR]),
            )
        except ActivityError as err:
            raise ApplicationError(
                f"team template could not be loaded: {root_cause(err)}",
                type=c.INVALID_PLAN_INPUT_ERROR,
                non_retryable=True,
            ) from None

    async def _recover(self) -> PlanCarried | None:
        """A fresh run takes up the state of the plan's latest closed run (e.g. a terminated one)."""
        info = workflow.info()
        try:
            found = await self._activity(
                c.ACTIVITY_RECOVER_PLAN_STATE,
                RecoverInput(workflow_id=info.workflow_id, run_id=info.run_id),
                summary="take up the state of the latest closed run",
                result_type=RecoveredPlan,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            workflow.logger.warning("plan state not recovered: %s", root_cause(err))
            return None
        if found.carried is None:
            return None
        state = found.carried
        state.runs += 1
        state.recovered_from_run = found.from_run_id
        workflow.logger.warning("plan took up the state of its closed run %s", found.from_run_id)
        return state

    async def _publish(self) -> None:
        """Show the plan in the Web UI (details, search attributes) and write its bundle files."""
        self._dirty = False
        s = self._state
        workflow.set_current_details(plan_details_markdown(self._input.plan_id, s, workflow.now()))
        values = {
            sa.PLAN_ID: self._input.plan_id,
            sa.TEAM_TEMPLATE: s.template.name,
            sa.OPEN_FINDINGS: open_findings(s),
        }
        changed = [key.value_set(v) for key, v in values.items() if self._upserted.get(key.name) != v]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._upserted.update({key.name: v for key, v in values.items()})
        try:
            await workflow.execute_local_activity(
                c.ACTIVITY_WRITE_PLAN_BUNDLE,
                PlanBundleInput(plan_id=self._input.plan_id, state=self.state()),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="write the plan's bundle files",
            )
        except ActivityError as err:
            workflow.logger.warning("plan bundle not written: %s", root_cause(err))

    def _rollover_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= c.PLAN_MAX_EVENTS_PER_RUN
            or info.get_current_history_size() + self._ignored_bytes >= c.PLAN_MAX_HISTORY_BYTES_PER_RUN
        )

    def _continue_as_new(self) -> None:
        state = self._state.model_copy()
        state.runs += 1
        workflow.logger.info(
            "plan rolling over after %d events", workflow.info().get_current_history_length()
        )
        workflow.continue_as_new(
            PlanInput(plan_id=self._input.plan_id, team=state.template.name, carried=state),
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    async def _deliver(self, item: OutboxItem) -> None:
        """Deliver one message to a role session: by signal, or by signal-with-start for invocations."""
        target = workflow.get_external_workflow_handle(c.session_workflow_id(self._input.plan_id, item.role))
        try:
            if item.kind == "invoke":
                await target.signal(c.SIGNAL_INVOKE, item.invoke)
            elif item.kind == "directive":
                await target.signal(c.SIGNAL_PLAN_DIRECTIVE, item.directive)
            else:
                signal = c.SIGNAL_RETIRE if item.kind == "retire" else c.SIGNAL_REOPEN
                await target.signal(signal, LifecycleInput(reason=item.reason, requested_by="plan"))
            return
        except FailureError as err:
            if item.kind != "invoke":
                # A role that is not running has nothing to retire or reopen; it learns the
                # directive when it next reports.
                workflow.logger.info("%s for %s not delivered: %s", item.kind, item.role, err)
                return
        try:
            await workflow.execute_activity(
                c.ACTIVITY_DELIVER_INVOCATION,
                DeliveryInput(plan_id=self._input.plan_id, role=item.role, request=item.invoke),
                summary=f"{item.invoke.invocation_id} → {item.role}",
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            )
        except ActivityError as err:
            workflow.logger.warning(
                "invocation %s not delivered: %s", item.invoke.invocation_id, root_cause(err)
            )

    # --- role reports ----------------------------------------------------------------------

    @workflow.signal(name=c.SIGNAL_ROLE_EVENT)
    def role_event(self, raw: Any) -> None:
        """Signal `role_event` (RoleEvent): a role session's artifact or lifecycle change."""
        event = parse_wire(RoleEvent, raw)
        if isinstance(event, str):
            workflow.logger.warning("role_event dropped: %s", event)
            return
        self._take_role_event(event)

    @workflow.signal(name=c.SIGNAL_ROLE_EVENTS)
    def role_events(self, raw: Any) -> None:
        """Signal `role_events` (RoleEventBatch): several reports of role sessions, oldest first."""
        batch = parse_wire(RoleEventBatch, raw)
        if isinstance(batch, str):
            workflow.logger.warning("role_events dropped: %s", batch)
            return
        for event in batch.events:
            self._take_role_event(event)

    def _take_role_event(self, event: RoleEvent) -> None:
        if event.plan_id != self._input.plan_id or not c.ROLE_ID_PATTERN.fullmatch(event.role):
            workflow.logger.warning(
                "role_event for %s/%s dropped: not this plan", event.plan_id[:64], event.role[:40]
            )
            return
        if self._state is None:
            if len(self._early_events) < c.MAX_PLAN_OUTBOX:
                self._early_events.append(event)
            return
        self._on_role_event(event)

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        # Handled (not buffered) so every signal wakes the main loop and a roll-over is never
        # held back by signals nobody reads; their bytes count at once (see RoleSession).
        self._ignored_bytes += sum(len(arg.payload.data) for arg in args)
        workflow.logger.warning("ignoring signal %r: not part of the Plan contract", name[:100])

    def _on_role_event(self, event: RoleEvent) -> None:
        apply_role_event(self._state, event, self._roles(), workflow.now(), self._takes_batches)
        self._dirty = True

    # --- Lead and operator updates ---------------------------------------------------------

    @workflow.update(name=c.UPDATE_PLAN_OPEN)
    async def open(self, raw: Any = None) -> PlanState:
        """Update `open` (PlanOpenInput → PlanState): make sure the plan exists; return its state."""
        await workflow.wait_condition(lambda: self._state is not None)
        return self.state()

    @open.validator
    def _validate_open(self, raw: Any = None) -> None:
        self._dry_run(lambda: self._check_open(self._decode(PlanOpenInput, raw if raw is not None else {})))

    def _check_open(self, request: PlanOpenInput) -> None:
        if request.team and request.team != self._state.template.name:
            raise ledger.Refusal(
                f"plan {self._input.plan_id!r} already uses team {self._state.template.name!r}; "
                "a plan's team is chosen once, at creation"
            )

    @workflow.update(name=c.UPDATE_REVIEW)
    async def review(self, raw: Any) -> PlanActionResult:
        """Update `review` (ReviewInput): accept, reject, defer or clarify a finding."""
        return await self._act(lambda: self._review(self._decode(ReviewInput, raw)))

    @review.validator
    def _validate_review(self, raw: Any) -> None:
        self._dry_run(lambda: self._review(self._decode(ReviewInput, raw)))

    def _review(self, request: ReviewInput) -> PlanActionResult:
        self._require_active("review findings")
        finding = ledger.review(self._state, request, workflow.now(), self._roles())
        message = f"{finding.id} {finding.status}"
        dispatched = None
        if request.dispatch and finding.status == "accepted":
            finding = ledger.dispatch(
                self._state, finding.id, f"{request.by} ({request.source})", workflow.now()
            )
            dispatched = finding.awaiting_invocation
            message += f"; dispatched to {finding.assignee} as {dispatched}"
        elif finding.status == "clarifying":
            message += f"; question sent to {finding.raised_by} as {finding.awaiting_invocation}"
        return self._result(message, finding, dispatched)

    @workflow.update(name=c.UPDATE_DISPATCH)
    async def dispatch(self, raw: Any) -> PlanActionResult:
        """Update `dispatch` (DispatchInput): send an accepted finding to its assignee."""
        return await self._act(lambda: self._dispatch(self._decode(DispatchInput, raw)))

    @dispatch.validator
    def _validate_dispatch(self, raw: Any) -> None:
        self._dry_run(lambda: self._dispatch(self._decode(DispatchInput, raw)))

    def _dispatch(self, request: DispatchInput) -> PlanActionResult:
        self._require_active("dispatch findings")
        finding = ledger.dispatch(
            self._state, request.finding_id, f"{request.by} ({request.source})", workflow.now()
        )
        message = f"{finding.id} dispatched to {finding.assignee} as {finding.awaiting_invocation}"
        return self._result(message, finding, finding.awaiting_invocation)

    @workflow.update(name=c.UPDATE_REVALIDATE)
    async def revalidate(self, raw: Any) -> PlanActionResult:
        """Update `revalidate` (RevalidateInput): close a remediated finding or send it back."""
        return await self._act(lambda: self._revalidate(self._decode(RevalidateInput, raw)))

    @revalidate.validator
    def _validate_revalidate(self, raw: Any) -> None:
        self._dry_run(lambda: self._revalidate(self._decode(RevalidateInput, raw)))

    def _revalidate(self, request: RevalidateInput) -> PlanActionResult:
        finding = ledger.revalidate(self._state, request, workflow.now())
        return self._result(f"{finding.id} {finding.status}", finding)

    @workflow.update(name=c.UPDATE_WAIVE)
    async def waive(self, raw: Any) -> PlanActionResult:
        """Update `waive` (WaiveInput): waive a required role or skill, with a reason."""
        return await self._act(lambda: self._waive(self._decode(WaiveInput, raw)))

    @waive.validator
    def _validate_waive(self, raw: Any) -> None:
        self._dry_run(lambda: self._waive(self._decode(WaiveInput, raw)))

    def _waive(self, request: WaiveInput) -> PlanActionResult:
        now = workflow.now()
        waiver = Waiver(
            kind=request.kind,
            name=request.name,
            role=request.role,
            reason=request.reason.strip(),
            approved_by=request.by,
            at=now,
            expires_at=request.expires_at,
        )
        message = team.waive(self._state, waiver, self._roles(), now)
        team.queue_directives(self._state, now, takes_batches=self._takes_batches)
        return self._result(message)

    @workflow.update(name=c.UPDATE_SET_BUDGET)
    async def set_budget(self, raw: Any) -> PlanActionResult:
        """Update `set_budget` (BudgetInput): set the plan's or a role's token budget."""
        return await self._act(lambda: self._set_budget(self._decode(BudgetInput, raw)))

    @set_budget.validator
    def _validate_set_budget(self, raw: Any) -> None:
        self._dry_run(lambda: self._set_budget(self._decode(BudgetInput, raw)))

    def _set_budget(self, request: BudgetInput) -> PlanActionResult:
        if request.role is not None and request.role not in self._roles():
            roles = ", ".join(sorted(self._roles()))
            raise ledger.Refusal(f"role {request.role!r} is not a role of this plan; use one of {roles}")
        message = team.set_budget(self._state, request.role, request.tokens)
        team.queue_directives(self._state, workflow.now(), takes_batches=self._takes_batches)
        return self._result(message)

    @workflow.update(name=c.UPDATE_HALT)
    async def halt(self, raw: Any) -> PlanActionResult:
        """Update `halt` (PlanLifecycleInput): retire every role; invocations are refused until resume."""
        return await self._act(lambda: self._halt(self._decode(PlanLifecycleInput, raw)))

    @halt.validator
    def _validate_halt(self, raw: Any) -> None:
        self._dry_run(lambda: self._halt(self._decode(PlanLifecycleInput, raw)))

    def _halt(self, request: PlanLifecycleInput) -> PlanActionResult:
        reason = self._reason(request, "halt")
        if self._state.status != "active":
            raise ledger.Refusal(f"plan is {self._state.status}; only an active plan can be halted")
        self._state.status, self._state.status_reason = "halted", f"{reason} (by {request.by})"
        roles = team.queue_lifecycle(self._state, "retire", f"plan halted: {reason}")
        return self._result(f"plan halted; retiring {', '.join(roles) or 'no roles yet'}")

    @workflow.update(name=c.UPDATE_RESUME)
    async def resume(self, raw: Any) -> PlanActionResult:
        """Update `resume` (PlanLifecycleInput): reopen the roles a halt retired."""
        return await self._act(lambda: self._resume(self._decode(PlanLifecycleInput, raw)))

    @resume.validator
    def _validate_resume(self, raw: Any) -> None:
        self._dry_run(lambda: self._resume(self._decode(PlanLifecycleInput, raw)))

    def _resume(self, request: PlanLifecycleInput) -> PlanActionResult:
        reason = self._reason(request, "resume")
        if self._state.status != "halted":
            raise ledger.Refusal(f"plan is {self._state.status}, not halted; nothing to resume")
        self._state.status, self._state.status_reason = "active", None
        roles = team.queue_lifecycle(self._state, "reopen", f"plan resumed: {reason}")
        return self._result(f"plan resumed; reopening {', '.join(roles) or 'no roles'}")

    @workflow.update(name=c.UPDATE_COMPLETE)
    async def complete(self, raw: Any = None) -> PlanActionResult:
        """Update `complete` (PlanLifecycleInput): mark the plan completed if the gate is open."""
        return await self._act(
            lambda: self._complete(self._decode(PlanLifecycleInput, raw if raw is not None else {}))
        )

    @complete.validator
    def _validate_complete(self, raw: Any = None) -> None:
        self._dry_run(
            lambda: self._complete(self._decode(PlanLifecycleInput, raw if raw is not None else {}))
        )

    def _complete(self, request: PlanLifecycleInput) -> PlanActionResult:
        if self._state.status == "completed":
            raise ledger.Refusal("plan is already completed")
        gate = team.gate(self._state, workflow.now())
        if not gate.can_complete:
            listed = "; ".join(f"{b.kind} {b.subject}: {b.reason}" for b in gate.blockers[:10])
            more = f" (and {len(gate.blockers) - 10} more)" if len(gate.blockers) > 10 else ""
            raise ledger.Refusal(f"plan cannot complete, {len(gate.blockers)} blockers: {listed}{more}")
        reason = request.reason.strip() or "plan completed"
        self._state.status, self._state.status_reason = "completed", f"{reason} (by {request.by})"
        roles = team.queue_lifecycle(self._state, "retire", "plan completed")
        return self._result(f"plan completed; retiring {', '.join(roles) or 'no roles'}")

    # --- helpers for updates ---------------------------------------------------------------

    async def _act(self, action) -> PlanActionResult:
        await workflow.wait_condition(lambda: self._state is not None)
        self._dirty = True
        try:
            return action()
        except ledger.Refusal as refusal:
            # The validator saw the same state, so this is rare (an update accepted before the
            # template loaded); it fails the update, never the workflow task.
            raise ApplicationError(str(refusal), type=c.PLAN_REFUSED_ERROR, non_retryable=True) from None

    def _dry_run(self, action) -> None:
        """Run an update's action on a copy of the state, so a refusal rejects it untouched."""
        if self._state is None:
            return  # still loading its template: the handler decides
        real = self._state
        self._state = real.model_copy(deep=True)
        try:
            action()
        except ledger.Refusal as refusal:
            raise ApplicationError(str(refusal), type=c.PLAN_REFUSED_ERROR, non_retryable=True) from None
        finally:
            self._state = real

    def _decode(self, model, raw):
        request = parse_wire(model, raw)
        if isinstance(request, str):
            raise ledger.Refusal(request)
        return request

    def _reason(self, request: PlanLifecycleInput, action: str) -> str:
        reason = request.reason.strip()[: c.MAX_REASON_CHARS]
        if not reason:
            raise ledger.Refusal(f"{action}: give a reason (it is kept in the plan and the roles' trails)")
        return reason

    def _require_active(self, what: str) -> None:
        if self._state.status == "completed":
            raise ledger.Refusal(f"plan is completed; it no longer takes requests to {what}")

    def _roles(self) -> set[str]:
        return set(self._state.template.roles) | set(self._state.roster)

    def _result(self, message: str, finding=None, dispatched: str | None = None) -> PlanActionResult:
        return PlanActionResult(
            message=message,
            finding=finding,
            gate=team.gate(self._state, workflow.now()),
            dispatched=dispatched,
        )

    # --- queries ---------------------------------------------------------------------------

    @workflow.query(name=c.QUERY_STATE)
    def state(self) -> PlanState:
        """Query `state` (→ PlanState): roster, findings, waivers, lineage, budgets, gate."""
        if self._state is None:
            raise ApplicationError("plan is starting (loading its team template); ask again in a moment")
        s = self._state
        now = workflow.now()
        info = workflow.info()
        by_status: dict[str, int] = {}
        for finding in s.findings:
            by_status[finding.status] = by_status.get(finding.status, 0) + 1
        return PlanState(
            plan_id=self._input.plan_id,
            team=s.template.name,
            status=s.status,
            status_reason=s.status_reason,
            roster=list(s.roster.values()),
            findings=s.findings,
            findings_by_status=by_status,
            waivers=team.active_waivers(s, now),
            lineage=LineageView(
                entries=s.lineage[-LINEAGE_IN_QUERY:],
                total=s.lineage_total,
                by_status=s.lineage_by_status,
                retained=len(s.lineage),
            ),
            missing_required_roles=team.missing_required_roles(s, now),
            mode_mismatches=s.mode_mismatches,
            mode_mismatch_total=s.mode_mismatch_total,
            budgets=team.budgets(s),
            halted=s.status == "halted",
            gate=team.gate(s, now),
            template=s.template,
            runs=s.runs,
            history_events=info.get_current_history_length(),
            history_bytes=info.get_current_history_size(),
            outbox=len(s.outbox),
            recovered_from_run=s.recovered_from_run,
        )

    @workflow.query(name=c.QUERY_CARRIED)
    def carried(self) -> PlanCarried | None:
        """Query `carried` (internal): the state this run would hand on; read to recover it."""
        return self._state
