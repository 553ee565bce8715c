"""MCP tools over role sessions: invoke, status, history, retire, reopen.

Each tool mirrors a CLI command (same validation, same one-line errors) and returns the same
JSON the command prints with --json. `register` adds them to a server; a new tool group (the
plan tools) follows the same shape in its own module.
"""

# No `from __future__ import annotations`: the tool signatures use the `Role` type built at
# registration, which the SDK resolves from the evaluated annotations.
import asyncio
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from roleteam.client import RoleTeam
from roleteam.errors import RoleteamError
from roleteam.history import TranscriptTurn, read_transcript
from roleteam.mcp_server import TeamConnection, fill_page, tool
from roleteam.models import ExecutionMode, RoleState
from roleteam.output import to_jsonable
from roleteam.registry import load_role_registry, validate_plan_id

HISTORY_MAX_LIMIT = 50
HISTORY_MAX_CHARS = 16_000
# Characters of prompt/reply/error text one history page returns at most, whatever the limits.
HISTORY_PAGE_CHARS = 100_000
CLIP_NOTE = (
    "\n[clipped: {shown} of {total} characters shown; ask role_history with a larger max_chars, "
    "or run 'roleteam history' for every turn in full]"
)

Plan = Annotated[
    str, Field(description="Plan id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")
]
Reason = Annotated[str, Field(description="Why; kept in the role's retire/reopen trail.")]
By = Annotated[str | None, Field(description="Who decides or asks; kept in the record.")]


class HistoryPage(BaseModel):
    """One page of a role's verbatim transcript, oldest turn first."""

    plan_id: str
    role: str
    workflow_id: str
    total_turns: int
    runs: int
    offset: int
    turns: list[TranscriptTurn]
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")
    earlier_runs_expired: bool = False


def _role_field() -> Any:
    """The `role` argument, described with the roles the registry knows right now."""
    try:
        roles = load_role_registry().roles.values()
        known = "; ".join(f"{r.id} ({r.title}; aliases {', '.join(r.aliases) or 'none'})" for r in roles)
    except RoleteamError:
        known = "see `roleteam roles`"
    return Annotated[str, Field(description=f"Role id, title or alias. Roles: {known}.")]


def _check(plan: str, role: str | None = None):
    """Validate names before connecting, as the CLI does: a typo is reported with no server up."""
    validate_plan_id(plan)
    registry = load_role_registry()
    if role is not None:
        registry.resolve(role)
    return registry


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + CLIP_NOTE.format(shown=limit, total=len(text))


def register(server: MCPServer, connection: TeamConnection) -> None:
    Role = _role_field()

    @tool(
        server,
        description=(
            "Ask a role in a plan to act on a prompt. The role keeps its conversation across "
            "invocations. With wait=true (default) returns the execution artifact: status "
            "completed (reply), failed (error) or refused (reason). With wait=false queues the "
            "invocation and returns its id at once; call again with that invocation_id and "
            "wait=true to get its artifact (an id never runs twice)."
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )
    async def invoke_role(
        plan: Plan,
        role: Role,
        prompt: Annotated[str, Field(description="What the role should do (up to 96 KiB).")],
        invocation_id: Annotated[
            str | None,
            Field(description="Idempotency key, 1-128 of letters, digits, '._:@/-'. Default: a new id."),
        ] = None,
        mode: Annotated[ExecutionMode, Field(description="Execution mode.")] = "persistent",
        wait: Annotated[
            bool, Field(description="Wait for the artifact (true) or only queue (false).")
        ] = True,
        requested_by: By = None,
        domains: Annotated[
            list[str] | None, Field(description="Declared domains of the work (select governed skills).")
        ] = None,
        files: Annotated[
            list[str] | None, Field(description="Files the work touches (select governed skills).")
        ] = None,
        timeout_seconds: Annotated[
            float,
            Field(
                ge=1,
                le=3600,
                description="Seconds to wait for the artifact; keep below your client's tool timeout. "
                "On timeout the invocation keeps running: call again with its invocation_id.",
            ),
        ] = 100.0,
    ) -> dict[str, Any]:
        registry = _check(plan, role)
        request = RoleTeam.request(
            prompt,
            invocation_id,
            mode=mode,
            requested_by=requested_by,
            domains=domains or [],
            files=files or [],
        )
        async with connection.team(registry) as team:
            idle = not await team.worker_polling()
            if not wait or idle:
                # An update no worker has accepted yet is not durable; the signal is.
                await team.send(plan, role, request)
            if not wait:
                return {"invocation_id": request.invocation_id, "queued": True}
            try:
                artifact = await asyncio.wait_for(team.invoke(plan, role, request), timeout_seconds)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                raise RoleteamError(
                    f"no result within {timeout_seconds:.0f}s for invocation {request.invocation_id!r}; "
                    "is a worker running? Call invoke_role again with invocation_id "
                    f"{request.invocation_id} to wait again (it never runs twice)"
                ) from None
            return to_jsonable(artifact)

    @tool(
        server,
        description="A role's session in a plan: status (active/retired), generation, turns, pending "
        "invocations, runs, context and history size, retire/reopen trail.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def role_status(plan: Plan, role: Role) -> RoleState:
        registry = _check(plan, role)
        async with connection.team(registry) as team:
            return await team.state(plan, role)

    @tool(
        server,
        description="Every role of the registry in a plan: its session state, or null where the role "
        "was never invoked; and `plan`, the plan's governance at a glance (team, status, roster, "
        "finding counts, findings awaiting the Lead, budgets, completion gate), or null before the "
        "plan exists (it starts with its first role invocation) or, with `plan_error` saying why, "
        "when the plan could not answer.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def plan_status(plan: Plan) -> dict[str, Any]:
        from roleteam.mcp_plan_tools import plan_overview
        from roleteam.plan_client import PlanTeam

        registry = _check(plan)
        async with connection.team(registry) as team:
            if not await team.worker_polling():
                raise RoleteamError(
                    f"no worker polls task queue {team.task_queue!r}, so no role can answer; "
                    "start one with 'roleteam worker'"
                )
            roles, governance = await asyncio.gather(
                team.plan_status(plan),
                plan_overview(PlanTeam(team.client, task_queue=team.task_queue), plan),
                return_exceptions=True,
            )
            if isinstance(roles, BaseException):
                raise roles
            status = {"plan_id": plan, "roles": to_jsonable(roles), "plan": None}
            if isinstance(governance, RoleteamError):
                # The roles' states stand on their own; say why the plan's picture is missing.
                status["plan_error"] = str(governance)
            elif isinstance(governance, BaseException):
                raise governance
            else:
                status["plan"] = governance
            return status

    @tool(
        server,
        description=(
            "A page of a role's verbatim transcript in a plan, across all its runs, oldest first: "
            "each turn's prompt, reply (or error), status, provider and model. Without offset, "
            "returns the newest `limit` turns. Long texts are clipped to max_chars with a note; "
            "next_offset pages forward."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def role_history(
        plan: Plan,
        role: Role,
        offset: Annotated[
            int | None, Field(ge=0, description="Index of the first turn (0 = oldest). Default: newest page.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=HISTORY_MAX_LIMIT, description="Turns per page.")] = 10,
        max_chars: Annotated[
            int, Field(ge=200, le=HISTORY_MAX_CHARS, description="Characters kept of each text.")
        ] = 2_000,
    ) -> HistoryPage:
        registry = _check(plan, role)
        async with connection.team(registry) as team:
            handle = team.handle(plan, role)
            transcript = await read_transcript(team.client, handle.id)
        total = len(transcript.turns)
        start = max(total - limit, 0) if offset is None else min(offset, total)
        clipped = (
            turn.model_copy(
                update={
                    "prompt": _clip(turn.prompt, max_chars),
                    "reply": _clip(turn.reply, max_chars),
                    "error": _clip(turn.error, max_chars),
                }
            )
            for turn in transcript.turns[start : start + limit]
        )
        page = fill_page(clipped, HISTORY_PAGE_CHARS, _text_chars)
        end = start + len(page)
        return HistoryPage(
            plan_id=plan,
            role=registry.resolve(role).id,
            workflow_id=handle.id,
            total_turns=total,
            runs=transcript.runs,
            offset=start,
            turns=page,
            next_offset=end if end < total else None,
            earlier_runs_expired=transcript.earlier_runs_expired,
        )

    async def lifecycle(action: str, plan: str, role: str, reason: str, by: str | None) -> dict[str, Any]:
        registry = _check(plan, role)
        async with connection.team(registry) as team:
            await getattr(team, action)(plan, role, reason, by)
            if not await team.worker_polling():
                # The signal is durable; it takes effect when a worker runs the session.
                return {"signalled": action, "state": None}
            return {"signalled": action, "state": to_jsonable(await team.state(plan, role))}

    @tool(
        server,
        description="Retire a role in a plan: its history is kept, new invocations are refused "
        "(with the reason) until it is reopened. Returns the role's state after the change.",
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False),
    )
    async def retire_role(plan: Plan, role: Role, reason: Reason, requested_by: By = None) -> dict[str, Any]:
        return await lifecycle("retire", plan, role, reason, requested_by)

    @tool(
        server,
        description="Reopen a retired role in a plan: same history, next generation. Returns the "
        "role's state after the change.",
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=False),
    )
    async def reopen_role(plan: Plan, role: Role, reason: Reason, requested_by: By = None) -> dict[str, Any]:
        return await lifecycle("reopen", plan, role, reason, requested_by)


def _text_chars(turn: TranscriptTurn) -> int:
    """What a turn weighs against a history page's budget: its prompt, reply and error."""
    return sum(len(text or "") for text in (turn.prompt, turn.reply, turn.error))
