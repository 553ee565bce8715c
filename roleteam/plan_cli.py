"""`roleteam plan …` and `roleteam schedule …`: govern a plan and schedule its roles.

Every command takes --json; errors are one line (exit 1), usage errors exit 2, and a refused
completion or a blocked gate exits 3 (roleteam.exit lists the codes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Optional

import typer

from roleteam.errors import RoleteamError
from roleteam.exit import EXIT_REFUSED
from roleteam.output import console, print_json

plan_app = typer.Typer(help="Govern a plan: findings, waivers, budgets, halt and the completion gate.")
schedule_app = typer.Typer(help="Invoke a role on a schedule (mode 'scheduled').", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AddressOpt = Annotated[
    Optional[str], typer.Option("--address", envvar="TEMPORAL_ADDRESS", help="Temporal frontend host:port.")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the plan's record).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (kept in the record).")]
DECISIONS = ("accept", "reject", "defer", "clarify")
VERDICTS = ("resolved", "not-resolved")


def _registry():
    from roleteam.registry import load_role_registry

    return load_role_registry()


def _role(name: str | None) -> str | None:
    return None if name is None else _registry().resolve(name).id


async def _plans(address: str | None):
    from roleteam.client import connect
    from roleteam.plan_client import PlanTeam

    return PlanTeam(await connect(address))


def _run(address, action):
    async def go():
        return await action(await _plans(address))

    return asyncio.run(go())


def _print_action(result, json_out: bool) -> None:
    from roleteam.plan_output import action_text

    print_json(result) if json_out else console.print(action_text(result))


def _check_plan(plan: str) -> None:
    from roleteam.registry import validate_plan_id

    validate_plan_id(plan)


@plan_app.command("create")
def create(
    plan: str,
    team: Annotated[Optional[str], typer.Option(help="Team template from policies/teams.yaml.")] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Create PLAN with a team template (a plan also starts with its first role invocation)."""
    from roleteam.plan_output import plan_text
    from roleteam.teams import load_team_policy

    _check_plan(plan)
    load_team_policy().template(team)  # an unknown team is named before anything starts
    state = _run(address, lambda p: p.open(plan, team))
    print_json(state) if json_out else console.print(plan_text(state))


@plan_app.command("status")
def status(plan: str, json_out: JsonOpt = False, address: AddressOpt = None) -> None:
    """Show PLAN: roster, findings, budgets, waivers, lineage and the gate."""
    from roleteam.plan_output import plan_text

    _check_plan(plan)
    state = _run(address, lambda p: p.state(plan))
    print_json(state) if json_out else console.print(plan_text(state))


@plan_app.command("findings")
def findings(
    plan: str,
    finding: Annotated[Optional[str], typer.Argument(help="Show one finding in full.")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only findings in this status.")] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """List PLAN's findings (or show one with its history)."""
    from roleteam.plan_output import finding_text, findings_table

    _check_plan(plan)
    state = _run(address, lambda p: p.state(plan))
    chosen = [f for f in state.findings if status is None or f.status == status]
    if finding is not None:
        chosen = [f for f in state.findings if f.id == finding]
        if not chosen:
            raise RoleteamError(
                f"no finding {finding!r} in plan {plan!r}; list them with 'roleteam plan findings {plan}'"
            )
    if json_out:
        print_json(chosen[0] if finding else chosen)
    elif finding:
        console.print(finding_text(chosen[0]))
    else:
        console.print(findings_table(chosen, f"findings of plan {plan}"))


@plan_app.command("review")
def review(
    plan: str,
    finding: str,
    decision: Annotated[str, typer.Argument(help="accept, reject, defer or clarify.")],
    reason: ReasonOpt,
    assign: Annotated[
        Optional[str], typer.Option(help="accept: the role that fixes it (default developer).")
    ] = None,
    dispatch: Annotated[
        bool, typer.Option("--dispatch", help="accept: send it to the assignee now.")
    ] = False,
    by: ByOpt = "lead",
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Record the Lead's decision on FINDING: accept, reject, defer or clarify."""
    _check_plan(plan)
    if decision not in DECISIONS:
        raise RoleteamError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    role = _role(assign)
    result = _run(address, lambda p: p.review(plan, finding, decision, reason, role, dispatch, by))
    _print_action(result, json_out)


@plan_app.command("dispatch")
def dispatch(
    plan: str, finding: str, by: ByOpt = "lead", json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Send an accepted FINDING's remediation packet to its assignee (never twice)."""
    _check_plan(plan)
    _print_action(_run(address, lambda p: p.dispatch(plan, finding, by)), json_out)


@plan_app.command("revalidate")
def revalidate(
    plan: str,
    finding: str,
    verdict: Annotated[str, typer.Argument(help="resolved or not-resolved.")],
    by: Annotated[str, typer.Option("--by", help="The revalidating role.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Close a remediated FINDING (resolved) or send it back to the Lead (not-resolved)."""
    _check_plan(plan)
    if verdict not in VERDICTS:
        raise RoleteamError(f"verdict {verdict!r}: use resolved or not-resolved")
    role = _role(by)
    result = _run(address, lambda p: p.revalidate(plan, finding, verdict.replace("-", "_"), role, reason))
    _print_action(result, json_out)


@plan_app.command("waive")
def waive(
    plan: str,
    kind: Annotated[str, typer.Argument(help="role or skill.")],
    name: str,
    reason: ReasonOpt,
    role: Annotated[Optional[str], typer.Option(help="skill waivers: only for this role.")] = None,
    by: ByOpt = "lead",
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Waive a required role or a required skill for PLAN, with a reason."""
    _check_plan(plan)
    if kind not in ("role", "skill"):
        raise RoleteamError(f"{kind!r}: waive a 'role' or a 'skill'")
    subject = _role(name) if kind == "role" else name
    _print_action(_run(address, lambda p: p.waive(plan, kind, subject, reason, _role(role), by)), json_out)


@plan_app.command("export")
def export(
    plan: str,
    folder: Annotated[Path, typer.Argument(help="Where to write the bundle (created if missing).")],
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Write PLAN's whole bundle (state, findings, lineage, every role's verbatim turns) to FOLDER."""
    from roleteam.plan_export import export_plan

    _check_plan(plan)
    summary = _run(address, lambda p: export_plan(p, plan, folder.expanduser()))
    if json_out:
        print_json(summary)
        return
    turns = ", ".join(f"{role} {n}" for role, n in summary.roles.items()) or "none"
    console.print(f"wrote {summary.files} files to {summary.folder} (turns: {turns})")
    if summary.earlier_runs_expired:
        console.print(
            "earlier runs of " + ", ".join(summary.earlier_runs_expired) + " have passed the namespace's "
            "retention; their turns are not in the export"
        )


@plan_app.command("gate")
def gate(plan: str, json_out: JsonOpt = False, address: AddressOpt = None) -> None:
    """Show whether PLAN can complete and what blocks it (exit 3 while blocked)."""
    from roleteam.plan_output import gate_text

    _check_plan(plan)
    state = _run(address, lambda p: p.state(plan))
    print_json(state.gate) if json_out else console.print(gate_text(state.gate))
    if not state.gate.can_complete:
        raise typer.Exit(EXIT_REFUSED)


@plan_app.command("complete")
def complete(
    plan: str,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    by: ByOpt = "lead",
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Mark PLAN completed (refused while the gate is blocked) and retire its roles."""
    _check_plan(plan)
    try:
        result = _run(address, lambda p: p.complete(plan, reason, by))
    except RoleteamError as err:
        if "cannot complete" not in str(err):
            raise
        print_json({"completed": False, "error": str(err)}) if json_out else console.print(f"refused: {err}")
        raise typer.Exit(EXIT_REFUSED) from None
    _print_action(result, json_out)


@plan_app.command("budget")
def budget(
    plan: str,
    tokens: Annotated[Optional[int], typer.Option(help="New budget in tokens.")] = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="Lift the budget.")] = False,
    role: Annotated[Optional[str], typer.Option(help="A role's budget instead of the plan's.")] = None,
    by: ByOpt = "lead",
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Set PLAN's (or a role's) token budget."""
    _check_plan(plan)
    if (tokens is None) == (not unlimited):
        raise RoleteamError("give --tokens N or --unlimited")
    if tokens is not None and tokens <= 0:
        raise RoleteamError(f"--tokens {tokens}: give a number of tokens above 0")
    _print_action(_run(address, lambda p: p.set_budget(plan, tokens, _role(role), by)), json_out)


@plan_app.command("halt")
def halt(
    plan: str, reason: ReasonOpt, by: ByOpt = "lead", json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Halt PLAN: retire every role; invocations are refused (not lost) until resume."""
    _check_plan(plan)
    _print_action(_run(address, lambda p: p.halt(plan, reason, by)), json_out)


@plan_app.command("resume")
def resume(
    plan: str, reason: ReasonOpt, by: ByOpt = "lead", json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Resume a halted PLAN: reopen its roles."""
    _check_plan(plan)
    _print_action(_run(address, lambda p: p.resume(plan, reason, by)), json_out)


def watch_command(
    plan: str,
    interval: Annotated[float, typer.Option(help="Seconds between looks.", min=0.2, max=60)] = 1.0,
    seconds: Annotated[
        Optional[float], typer.Option(help="Stop after this many seconds (default: until Ctrl-C).", min=0.1)
    ] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Follow PLAN live: new artifacts, findings and lifecycle changes (--json: one object a line)."""
    from roleteam.output import err_console, print_json_line
    from roleteam.watch import watch_plan

    _check_plan(plan)

    async def go(plans):
        async for event in watch_plan(plans, plan, interval, seconds):
            if isinstance(event, str):
                err_console.print(event)
            elif json_out:
                print_json_line(event)
            else:
                console.print(event.line())

    try:
        _run(address, go)
    except KeyboardInterrupt:
        pass


# --- schedules -------------------------------------------------------------------------------


def _schedules(address, action):
    from roleteam.client import configured_task_queue, connect
    from roleteam.schedules import RoleSchedules

    async def go():
        return await action(RoleSchedules(await connect(address), _registry(), configured_task_queue()))

    return asyncio.run(go())


def _print_schedules(items, json_out: bool) -> None:
    if json_out:
        print_json(items)
        return
    for s in items:
        state = "paused" if s.paused else "active"
        nxt = s.next_runs[0] if s.next_runs and not s.paused else "-"
        console.print(f"{s.schedule_id}  {s.spec}  {state}  next {nxt}  fired {s.recent_runs}")
    if not items:
        console.print("no schedules")


@schedule_app.command("create")
def schedule_create(
    plan: str,
    role: str,
    name: str,
    prompt: str,
    every: Annotated[Optional[str], typer.Option(help="Interval, e.g. 30s, 15m, 2h, 1d.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Cron expression, e.g. '0 9 * * 1-5'.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Who asks (kept in each artifact).")] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Invoke ROLE in PLAN with PROMPT on a schedule NAME (--every or --cron)."""
    _print_schedules(
        [_schedules(address, lambda s: s.create(plan, role, name, prompt, every, cron, by))], json_out
    )


@schedule_app.command("list")
def schedule_list(
    plan: Annotated[Optional[str], typer.Argument(help="Only this plan's schedules.")] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """List role schedules."""
    _print_schedules(_schedules(address, lambda s: s.list(plan)), json_out)


def _sid(plan: str, role: str, name: str) -> str:
    from roleteam.schedules import schedule_id

    _check_plan(plan)
    return schedule_id(plan, _role(role), name)


@schedule_app.command("pause")
def schedule_pause(
    plan: str, role: str, name: str, json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Pause a role schedule."""
    sid = _sid(plan, role, name)
    _print_schedules([_schedules(address, lambda s: s.pause(sid, "paused with roleteam"))], json_out)


@schedule_app.command("unpause")
def schedule_unpause(
    plan: str, role: str, name: str, json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Resume a paused role schedule."""
    sid = _sid(plan, role, name)
    _print_schedules([_schedules(address, lambda s: s.unpause(sid, "resumed with roleteam"))], json_out)


@schedule_app.command("delete")
def schedule_delete(
    plan: str, role: str, name: str, json_out: JsonOpt = False, address: AddressOpt = None
) -> None:
    """Delete a role schedule (invocations it already queued stay)."""
    sid = _sid(plan, role, name)
    _schedules(address, lambda s: s.delete(sid))
    print_json({"deleted": sid}) if json_out else console.print(f"deleted {sid}")
