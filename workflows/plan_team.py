"""The team side of a plan: roster, lineage, waivers, budgets, mode mismatches and the gate.

Pure and deterministic (used by the Plan workflow; time is passed in). Messages for role
sessions (directives, retire, reopen) go into the plan's outbox; the workflow delivers them.
"""

from __future__ import annotations

from datetime import datetime

import roleteam.constants as c
from roleteam.plan_models import (
    CLOSED_STATUSES,
    BudgetView,
    Gate,
    GateBlocker,
    ModeMismatch,
    OutboxItem,
    PlanCarried,
    RosterEntry,
    Waiver,
)
from roleteam.report_models import (
    LineageEntry,
    PlanDirective,
    PlanSkillWaiver,
    RoleEvent,
)
from roleteam.workflows.carry import digest
from roleteam.workflows.plan_findings import Refusal, severity_rank

PLAN_SCOPE = "plan"


# --- roster and lineage ----------------------------------------------------------------------


def roster_entry(state: PlanCarried, role: str) -> RosterEntry:
    entry = state.roster.get(role)
    if entry is None:
        planned = state.template.roles.get(role)
        entry = RosterEntry(
            role=role,
            required=role in state.template.required,
            planned_mode=planned.mode if planned else None,
        )
        state.roster[role] = entry
    return entry


def seen_before(state: PlanCarried, role: str, invocation_id: str) -> bool:
    """Whether this artifact was already recorded (a redelivered report); remembers it if not."""
    key = digest(f"{role}\n{invocation_id}")
    if key in state.seen:
        return True
    state.seen.append(key)
    del state.seen[: -c.PLAN_IDEMPOTENCY_WINDOW]
    return False


def apply_snapshot(state: PlanCarried, event: RoleEvent) -> RosterEntry:
    """Update the roster from a role's report; an older report never rolls it back."""
    entry = roster_entry(state, event.role)
    if event.seq >= entry.seq:
        entry.seq = event.seq
        entry.status = event.snapshot.status
        entry.generation = event.snapshot.generation
        entry.turns = event.snapshot.turns
        entry.queued = max(0, min(event.snapshot.queued, c.MAX_PENDING_INVOCATIONS))
        if event.kind == "artifact" and event.snapshot.compliance is not None:
            entry.compliance = event.snapshot.compliance
            entry.missing_required_skills = event.snapshot.missing_required_skills[:20]
    entry.last_activity_at = max(filter(None, (entry.last_activity_at, event.at)))
    return entry


def record_lineage(state: PlanCarried, entry: LineageEntry) -> None:
    state.lineage.append(entry)
    del state.lineage[: -c.MAX_LINEAGE_ENTRIES]
    state.lineage_total += 1
    state.lineage_by_status[entry.status] = state.lineage_by_status.get(entry.status, 0) + 1


def note_mode(state: PlanCarried, entry: LineageEntry) -> None:
    planned = state.template.roles.get(entry.role)
    if planned is None or entry.status == "refused" or planned.mode == entry.mode:
        return
    state.mode_mismatches.append(
        ModeMismatch(
            role=entry.role,
            invocation_id=entry.invocation_id,
            planned=planned.mode,
            actual=entry.mode,
            at=entry.finished_at,
        )
    )
    del state.mode_mismatches[: -c.MAX_MODE_MISMATCHES]
    state.mode_mismatch_total += 1


# --- budgets ---------------------------------------------------------------------------------


def budget_limit(state: PlanCarried, scope: str) -> int | None:
    if scope in state.budget_limits:
        return state.budget_limits[scope]
    if scope == PLAN_SCOPE:
        return state.template.plan_budget_tokens
    planned = state.template.roles.get(scope)
    return planned.budget_tokens if planned else None


def budget_view(state: PlanCarried, scope: str) -> BudgetView:
    limit = budget_limit(state, scope)
    used = state.budget_used.get(scope, 0)
    if limit is None:
        status = "ok"
    elif used >= limit:
        status = "exhausted"
    elif used >= limit * c.BUDGET_WARNING_SHARE:
        status = "warning"
    else:
        status = "ok"
    return BudgetView(scope=scope, limit=limit, used=used, state=status)


def add_usage(state: PlanCarried, role: str, tokens: int) -> None:
    if tokens <= 0:
        return
    state.budget_used[role] = state.budget_used.get(role, 0) + tokens
    state.budget_used[PLAN_SCOPE] = state.budget_used.get(PLAN_SCOPE, 0) + tokens


def budgets(state: PlanCarried) -> list[BudgetView]:
    scopes = [PLAN_SCOPE] + sorted(
        set(state.roster) | set(state.template.roles) | (set(state.budget_limits) - {PLAN_SCOPE})
    )
    return [budget_view(state, s) for s in scopes]


def set_budget(state: PlanCarried, role: str | None, tokens: int | None) -> str:
    if tokens is not None and not 0 < tokens <= 10**12:
        raise Refusal(f"tokens={tokens}: give a budget from 1 to 10^12 tokens, or none to lift it")
    scope = role or PLAN_SCOPE
    state.budget_limits[scope] = tokens
    view = budget_view(state, scope)
    limit = "no limit" if tokens is None else f"{tokens} tokens"
    return f"budget of {scope} set to {limit}; {view.used} used ({view.state})"


# --- waivers ---------------------------------------------------------------------------------


def active_waivers(state: PlanCarried, now: datetime) -> list[Waiver]:
    return [w for w in state.waivers if w.expires_at is None or w.expires_at > now]


def waive(state: PlanCarried, waiver: Waiver, roles: set[str], now: datetime) -> str:
    if not waiver.reason.strip():
        raise Refusal("a waiver needs a reason (it is kept in the plan and in later skill evidence)")
    if waiver.expires_at is not None and waiver.expires_at <= now:
        raise Refusal(f"expires_at {waiver.expires_at.isoformat()} is in the past; give a later time or none")
    if waiver.kind == "role" and waiver.name not in state.template.required:
        raise Refusal(
            f"role {waiver.name!r} is not required by team {state.template.name!r} "
            f"(required: {', '.join(state.template.required) or 'none'}); nothing to waive"
        )
    if waiver.role is not None and waiver.role not in roles:
        raise Refusal(
            f"role {waiver.role!r} is not a role of this plan; use one of {', '.join(sorted(roles))}"
        )
    state.waivers = [
        w
        for w in state.waivers
        if not (w.kind == waiver.kind and w.name == waiver.name and w.role == waiver.role)
    ]
    if len(state.waivers) >= c.MAX_WAIVERS:
        raise Refusal(f"the plan holds {c.MAX_WAIVERS} waivers already; that is the limit")
    state.waivers.append(waiver)
    scope = f" for {waiver.role}" if waiver.role else ""
    return f"{waiver.kind} {waiver.name!r} waived{scope}: {waiver.reason}"


def skill_waivers_for(state: PlanCarried, role: str, now: datetime) -> list[PlanSkillWaiver]:
    return [
        PlanSkillWaiver(skill=w.name, role=w.role, reason=w.reason, approved_by=w.approved_by)
        for w in active_waivers(state, now)
        if w.kind == "skill" and w.role in (None, role)
    ]


# --- directives: what each role session must know --------------------------------------------


def directive_for(state: PlanCarried, role: str, now: datetime, takes_batches: bool = False) -> PlanDirective:
    warning = refusal = None
    for scope in (role, PLAN_SCOPE):
        view = budget_view(state, scope)
        what = "the plan's" if scope == PLAN_SCOPE else f"the {role} role's"
        if view.state == "exhausted" and refusal is None:
            refusal = (
                f"{what} token budget is used up ({view.used} of {view.limit}); the Lead raises it "
                f"with 'roleteam plan budget'"
            )
        elif view.state == "warning" and warning is None:
            warning = (
                f"{what} token budget is {view.used * 100 // view.limit}% used ({view.used} of {view.limit})"
            )
    return PlanDirective(
        skill_waivers=skill_waivers_for(state, role, now),
        budget_warning=warning,
        budget_refusal=refusal,
        takes_role_events=takes_batches,
    )


def queue_directives(
    state: PlanCarried, now: datetime, roles: list[str] | None = None, takes_batches: bool = False
) -> None:
    """Queue a directive for each started role whose directive changed since last sent.

    `takes_batches`: the plan's run handles `role_events` (see PlanDirective.takes_role_events).
    """
    for role in roles if roles is not None else list(state.roster):
        if state.roster.get(role) is None or state.roster[role].status == "not_started":
            continue
        directive = directive_for(state, role, now, takes_batches)
        if takes_batches and _nothing_to_say_yet(state, role, directive):
            continue
        # Runs before plan-v2 fingerprinted directives without `takes_role_events`; their carried
        # fingerprints must still match, or replay would find a directive it never sent.
        key = digest(directive.model_dump_json(exclude=None if takes_batches else {"takes_role_events"}))
        if state.directives.get(role) == key:
            continue
        state.directives[role] = key
        state.directive_version += 1
        directive.version = state.directive_version
        state.outbox = [o for o in state.outbox if not (o.role == role and o.kind == "directive")]
        state.outbox.append(OutboxItem(role=role, kind="directive", directive=directive))


def _nothing_to_say_yet(state: PlanCarried, role: str, directive: PlanDirective) -> bool:
    """A role that has run or queued at most one invocation and was never sent a directive needs
    none while it would only say that the plan takes batches: a one-off role costs no signal
    back. A role with more work queued, or from its second invocation on, is told (its routine
    reports then go in batches)."""
    plain = PlanDirective(takes_role_events=directive.takes_role_events)
    entry = state.roster[role]
    one_off = entry.invocations + entry.queued < 2  # run and waiting, as the role last said
    return role not in state.directives and one_off and directive == plain


def queue_lifecycle(state: PlanCarried, kind: str, reason: str) -> list[str]:
    """Queue retire or reopen for every started role of the plan; returns the roles."""
    roles = [r for r, e in state.roster.items() if e.status != "not_started"]
    for role in roles:
        state.outbox.append(OutboxItem(role=role, kind=kind, reason=reason))
    return roles


# --- the gate --------------------------------------------------------------------------------


def missing_required_roles(state: PlanCarried, now: datetime) -> list[str]:
    waived = {w.name for w in active_waivers(state, now) if w.kind == "role"}
    return [
        role
        for role in state.template.required
        if role not in waived and (state.roster.get(role) is None or state.roster[role].completed == 0)
    ]


def gate(state: PlanCarried, now: datetime) -> Gate:
    blockers: list[GateBlocker] = []
    if state.status == "halted":
        blockers.append(
            GateBlocker(kind="halted", subject=PLAN_SCOPE, reason=state.status_reason or "plan is halted")
        )
    threshold = severity_rank(state.template.blocking_severity)
    for finding in state.findings:
        if finding.status in CLOSED_STATUSES or finding.status == "deferred":
            continue
        if severity_rank(finding.severity) <= threshold:
            blockers.append(
                GateBlocker(
                    kind="finding",
                    subject=finding.id,
                    reason=f"{finding.severity} finding {finding.title[:80]!r} is {finding.status}",
                )
            )
    for role in missing_required_roles(state, now):
        blockers.append(
            GateBlocker(
                kind="missing_role",
                subject=role,
                reason=f"required role {role!r} has no completed invocation; invoke it or waive it",
            )
        )
    waivers = active_waivers(state, now)
    for role in state.template.required:
        entry = state.roster.get(role)
        if entry is None:
            continue
        for skill in entry.missing_required_skills:
            if any(w.kind == "skill" and w.name == skill and w.role in (None, role) for w in waivers):
                continue
            if any(w.kind == "role" and w.name == role for w in waivers):
                continue
            blockers.append(
                GateBlocker(
                    kind="skill",
                    subject=f"{role}:{skill}",
                    reason=f"role {role!r} ran without required skill {skill!r}; fix the skill or waive it",
                )
            )
    return Gate(can_complete=not blockers, blockers=blockers)
