"""MCP tools over a plan's `Plan` workflow: findings, the Lead's review and dispatch, revalidation,
waivers, the completion gate.

Each tool mirrors a `roleteam plan …` command (same validation, same one-line errors) through
`PlanTeam`. A refused transition (accepting a resolved finding, completing a blocked plan) is a
tool error carrying the workflow's message, which names the finding and what to do instead.
"""

# No `from __future__ import annotations`: the tool signatures use the `Role` type built at
# registration, which the SDK resolves from the evaluated annotations.
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from roleteam.errors import RoleteamError
from roleteam.mcp_role_tools import Plan, _check, _role_field
from roleteam.mcp_server import TeamConnection, fill_page, tool
from roleteam.output import to_jsonable
from roleteam.plan_client import PlanNotFoundError, PlanTeam
from roleteam.plan_models import Finding, FindingStatus, FindingTransition, PlanActionResult, PlanState
from roleteam.registry import RoleRegistry

FINDINGS_MAX_LIMIT = 100
FINDING_MAX_CHARS = 4_000
# Characters of JSON one findings page returns at most, whatever the limits; next_offset pages on.
FINDINGS_PAGE_CHARS = 100_000
# Blockers and finding ids an overview lists at most; the counts are always whole.
OVERVIEW_MAX_ITEMS = 20
CLIP_NOTE = (
    "\n[clipped: {shown} of {total} characters shown; ask list_findings with finding_id {id} and a "
    "larger max_chars (up to 4000, the longest a finding's text can be)]"
)
# Where the whole loop is explained once; each tool's description repeats what it needs.
LOOP = (
    "Findings wait for the Lead: a reporting role's finding stays open until the Lead reviews "
    "it, and nothing is remediated without review (accept) and dispatch."
)

FindingId = Annotated[str, Field(description="Finding id, e.g. F-0001 (list them with list_findings).")]
LeadBy = Annotated[str, Field(description="Who decides; kept in the plan's record.")]


class FindingRow(BaseModel):
    """A finding as list_findings shows it; texts clipped, history only for one finding."""

    id: str
    title: str
    severity: str
    status: str
    review: str
    raised_by: str
    assignee: str | None
    rounds: int
    description: str
    evidence: str
    files: list[str]
    source_id: str | None
    invocation_id: str
    awaiting_invocation: str | None
    updated_at: datetime
    history: list[FindingTransition] | None = None


class FindingsPage(BaseModel):
    """A page of a plan's findings in ledger order (oldest first)."""

    plan_id: str
    status_filter: str | None
    total: int = Field(description="Findings matching the filter.")
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")
    findings_by_status: dict[str, int]
    findings: list[FindingRow]


def _clip(text: str, limit: int, finding_id: str) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + CLIP_NOTE.format(shown=limit, total=len(text), id=finding_id)


def _row(finding: Finding, max_chars: int, history: bool) -> FindingRow:
    return FindingRow(
        id=finding.id,
        title=finding.title,
        severity=finding.severity,
        status=finding.status,
        review=finding.review,
        raised_by=finding.raised_by,
        assignee=finding.assignee,
        rounds=finding.rounds,
        description=_clip(finding.description, max_chars, finding.id),
        evidence=_clip(finding.evidence, max_chars, finding.id),
        files=finding.files,
        source_id=finding.source_id,
        invocation_id=finding.invocation_id,
        awaiting_invocation=finding.awaiting_invocation,
        updated_at=finding.updated_at,
        history=finding.history if history else None,
    )


def overview(state: PlanState) -> dict[str, Any]:
    """The plan at a glance, bounded: roster, finding counts, what waits for the Lead, budgets, gate."""
    waiting = [f.id for f in state.findings if f.status in ("open", "escalated")]
    blockers = state.gate.blockers
    return {
        "team": state.team,
        "status": state.status,
        "status_reason": state.status_reason,
        "roster": [
            {
                "role": e.role,
                "required": e.required,
                "planned_mode": e.planned_mode,
                "status": e.status,
                "completed": e.completed,
                "compliance": e.compliance,
                "tokens_used": e.tokens_used,
            }
            for e in state.roster
        ],
        "findings_by_status": state.findings_by_status,
        "awaiting_lead": waiting[:OVERVIEW_MAX_ITEMS],
        "awaiting_lead_total": len(waiting),
        "missing_required_roles": state.missing_required_roles,
        "waivers": len(state.waivers),
        "budgets": to_jsonable(state.budgets),
        "gate": {
            "can_complete": state.gate.can_complete,
            "blockers": to_jsonable(blockers[:OVERVIEW_MAX_ITEMS]),
            "blockers_total": len(blockers),
        },
    }


async def plan_overview(plans: PlanTeam, plan: str) -> dict[str, Any] | None:
    """`overview` of the plan, or None while its Plan workflow does not exist."""
    try:
        return overview(await plans.state(plan))
    except PlanNotFoundError:
        return None


def register(server: MCPServer, connection: TeamConnection) -> None:
    Role = _role_field()

    @contextlib.asynccontextmanager
    async def plan_team(registry: RoleRegistry, update: bool = True) -> AsyncIterator[PlanTeam]:
        """A `PlanTeam` for one call.

        An update no worker accepts would wait forever, so update tools refuse at once when no
        worker polls; a query fails by itself (at once for a missing plan, else after a timeout).
        """
        async with connection.team(registry) as team:
            if update and not await team.worker_polling():
                raise RoleteamError(
                    f"no worker polls task queue {team.task_queue!r}, so the plan cannot answer; "
                    "start one with 'roleteam worker'"
                )
            yield PlanTeam(team.client, task_queue=team.task_queue)

    def action(result: PlanActionResult) -> dict[str, Any]:
        return to_jsonable(result)

    @tool(
        server,
        description=(
            "A plan's findings (reported by its validating roles), oldest first, with status "
            "(open, clarifying, accepted, in_remediation, awaiting_revalidation, resolved, rejected, "
            "deferred, escalated) and the Lead's review. Filter by status; give finding_id for one "
            "finding with its full history. Texts are clipped to max_chars. " + LOOP
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def list_findings(
        plan: Plan,
        status: Annotated[FindingStatus | None, Field(description="Only findings in this status.")] = None,
        finding_id: Annotated[
            str | None, Field(description="Only this finding, with its history (e.g. F-0001).")
        ] = None,
        offset: Annotated[int, Field(ge=0, description="Index of the first finding to return.")] = 0,
        limit: Annotated[int, Field(ge=1, le=FINDINGS_MAX_LIMIT, description="Findings per page.")] = 20,
        max_chars: Annotated[
            int, Field(ge=200, le=FINDING_MAX_CHARS, description="Characters kept of each text.")
        ] = 1_000,
    ) -> FindingsPage:
        registry = _check(plan)
        async with plan_team(registry, update=False) as plans:
            state = await plans.state(plan)
        chosen = [f for f in state.findings if status is None or f.status == status]
        if finding_id is not None:
            chosen = [f for f in state.findings if f.id == finding_id]
            if not chosen:
                raise RoleteamError(
                    f"no finding {finding_id!r} in plan {plan!r}; "
                    f"list them with 'roleteam plan findings {plan}'"
                )
        rows = (_row(f, max_chars, history=finding_id is not None) for f in chosen[offset : offset + limit])
        page = fill_page(rows, FINDINGS_PAGE_CHARS, lambda row: len(row.model_dump_json()))
        end = offset + len(page)
        return FindingsPage(
            plan_id=plan,
            status_filter=status,
            total=len(chosen),
            offset=offset,
            next_offset=end if end < len(chosen) else None,
            findings_by_status=state.findings_by_status,
            findings=page,
        )

    @tool(
        server,
        description=(
            "Record the Lead's decision on a finding: accept (assign a role to fix it; default the "
            "team's default assignee, usually developer), reject, defer, or clarify (the reason is "
            "sent to the role that raised it as a question). Accepting alone invokes nobody: pass "
            "dispatch=true, or call dispatch_finding, to send the fix to the assignee. "
            "Returns the finding and the completion gate after the decision. " + LOOP
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False),
    )
    async def review_finding(
        plan: Plan,
        finding_id: FindingId,
        decision: Annotated[
            Literal["accept", "reject", "defer", "clarify"], Field(description="The Lead's decision.")
        ],
        reason: Annotated[
            str,
            Field(
                description="Why; for accept these are the fix instructions the assignee receives, "
                "for clarify the question. Kept in the finding's history."
            ),
        ],
        assign: Annotated[
            str | None, Field(description="accept: the role that fixes it (role id, title or alias).")
        ] = None,
        dispatch: Annotated[bool, Field(description="accept: send the fix to the assignee now.")] = False,
        by: LeadBy = "lead",
    ) -> dict[str, Any]:
        registry = _check(plan, assign)
        role = None if assign is None else registry.resolve(assign).id
        async with plan_team(registry) as plans:
            return action(await plans.review(plan, finding_id, decision, reason, role, dispatch, by))

    @tool(
        server,
        description=(
            "Send an accepted finding's fix to its assignee, under the invocation id "
            "fix:FINDING:rROUND; it never runs twice (a second dispatch is refused). The finding is "
            "then in_remediation, and awaiting_revalidation once the fix is delivered. " + LOOP
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    )
    async def dispatch_finding(plan: Plan, finding_id: FindingId, by: LeadBy = "lead") -> dict[str, Any]:
        registry = _check(plan)
        async with plan_team(registry) as plans:
            return action(await plans.dispatch(plan, finding_id, by))

    @tool(
        server,
        description=(
            "A revalidating role's verdict on a remediated finding (status awaiting_revalidation): "
            "resolved closes it; not_resolved sends it back to the Lead (never straight to the "
            "assignee), and after the team's maximum rounds escalates it to a person. `by` is the "
            "revalidating role: only the team's revalidators (or the role that raised it) may give a verdict."
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False),
    )
    async def revalidate_finding(
        plan: Plan,
        finding_id: FindingId,
        verdict: Annotated[Literal["resolved", "not_resolved"], Field(description="The verdict.")],
        by: Role,
        reason: Annotated[str, Field(description="Why; kept in the finding's history.")] = "",
    ) -> dict[str, Any]:
        registry = _check(plan, by)
        role = registry.resolve(by).id
        async with plan_team(registry) as plans:
            return action(await plans.revalidate(plan, finding_id, verdict, role, reason))

    @tool(
        server,
        description=(
            "The Lead waives, for this plan, a required role (the plan may complete without it) or a "
            "required skill (optionally only for one role), with a reason kept in the plan's record. "
            "Returns the completion gate after the waiver."
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False),
    )
    async def waive(
        plan: Plan,
        kind: Annotated[Literal["role", "skill"], Field(description="Waive a required role or skill.")],
        name: Annotated[str, Field(description="The role (id, title or alias) or the skill's name.")],
        reason: Annotated[str, Field(description="Why; a waiver always says why.")],
        role: Annotated[
            str | None, Field(description="skill waivers: only for this role (default: every role).")
        ] = None,
        by: LeadBy = "lead",
    ) -> dict[str, Any]:
        registry = _check(plan, role)
        subject = registry.resolve(name).id if kind == "role" else name
        scope = None if role is None else registry.resolve(role).id
        async with plan_team(registry) as plans:
            return action(await plans.waive(plan, kind, subject, reason, scope, by))

    @tool(
        server,
        description=(
            "Whether the plan can complete, and what blocks it: open findings at or above the "
            "team's blocking severity (resolve, reject or defer them), required roles without a "
            "completed invocation (invoke or waive them), missing required skills, a halt, an "
            "exhausted budget."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def plan_gate(plan: Plan) -> dict[str, Any]:
        registry = _check(plan)
        async with plan_team(registry, update=False) as plans:
            state = await plans.state(plan)
        return {"plan_id": plan, "status": state.status, **to_jsonable(state.gate)}

    @tool(
        server,
        description=(
            "Mark the plan completed and retire its roles. Refused (a tool error listing the "
            "blockers) while plan_gate is blocked."
        ),
        annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=False),
    )
    async def complete_plan(
        plan: Plan,
        reason: Annotated[str, Field(description="Why; kept in the plan's record.")] = "",
        by: LeadBy = "lead",
    ) -> dict[str, Any]:
        registry = _check(plan)
        async with plan_team(registry) as plans:
            return action(await plans.complete(plan, reason, by))
