"""The `roleteam` command line. Every command takes --json; errors are one line (see roleteam.exit)."""

from __future__ import annotations

import asyncio
import math
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from roleteam.constants import EXECUTION_MODES
from roleteam.errors import (
    CommandInterrupted,
    InvocationRefusedError,
    RoleteamError,
    SessionNotFoundError,
    UsageError,
    no_session_message,
)
from roleteam.exit import EXIT_REFUSED, EXIT_USAGE, run_main
from roleteam.output import (
    artifact_text,
    console,
    err_console,
    print_json,
    status_table,
)
from roleteam.plan_cli import plan_app, schedule_app, watch_command
from roleteam.registry import RoleRegistry
from roleteam.timefmt import format_time

app = typer.Typer(
    help="Durable AI role sessions on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Check governed policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(plan_app, name="plan", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
app.command("watch")(watch_command)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AddressOpt = Annotated[
    Optional[str], typer.Option("--address", envvar="TEMPORAL_ADDRESS", help="Temporal frontend host:port.")
]


def _read_stdin_text() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RoleteamError(
            f"stdin is not UTF-8 text (byte {err.start} of {len(data)}); pipe a text prompt to 'invoke -'"
        ) from None


def _check(plan: str, role: str | None = None) -> RoleRegistry:
    """Validate names before connecting, so a typo is reported even with no server up."""
    from roleteam.registry import load_role_registry, validate_plan_id

    validate_plan_id(plan)
    registry = load_role_registry()
    if role is not None:
        registry.resolve(role)
    return registry


async def _team(address: str | None, registry: RoleRegistry | None = None):
    from roleteam.client import RoleTeam, connect

    return RoleTeam(await connect(address), registry=registry)


@app.command()
def invoke(
    plan: str,
    role: str,
    prompt: str,
    invocation_id: Annotated[
        Optional[str], typer.Option("--id", help="Idempotency key (default: new uuid).")
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Queue by signal and return at once.")] = False,
    mode: Annotated[str, typer.Option(help=f"One of {', '.join(EXECUTION_MODES)}.")] = "persistent",
    requested_by: Annotated[
        Optional[str], typer.Option("--by", help="Who asks (kept in the artifact).")
    ] = None,
    domain: Annotated[Optional[list[str]], typer.Option(help="Declared domain (repeatable).")] = None,
    file: Annotated[Optional[list[str]], typer.Option(help="File the work touches (repeatable).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the artifact.")] = 900.0,
    retry: Annotated[
        bool, typer.Option("--retry", help="Run again an --id whose stored status is failed.")
    ] = False,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Ask ROLE in PLAN to act on PROMPT ('-' reads it from stdin); waits and prints the artifact."""
    if prompt == "-":
        prompt = _read_stdin_text()
    from roleteam.client import RoleTeam

    if not math.isfinite(timeout) or timeout <= 0:
        raise RoleteamError(f"--timeout {timeout:g}: give a number of seconds above 0")
    if mode not in EXECUTION_MODES:
        raise RoleteamError(f"--mode {mode!r} is not a mode; use one of {', '.join(EXECUTION_MODES)}")
    registry = _check(plan, role)
    if retry and not invocation_id:
        raise RoleteamError("--retry needs --id: name the failed invocation to run again")
    request = RoleTeam.request(
        prompt,
        invocation_id,
        mode=mode,
        requested_by=requested_by,
        domains=domain or [],
        files=file or [],
        retry=retry,
    )

    async def go():
        team = await _team(address, registry)
        await team.check_holder(plan, role)
        idle = not await team.worker_polling()
        if idle:
            err_console.print(
                f"warning: no worker polls task queue {team.task_queue!r}; the "
                "invocation runs when one starts ('roleteam worker')"
            )
        if no_wait or idle:
            # An update no worker has accepted yet is not durable; the signal is. A refusal on
            # arrival (queue full, role retired) is reported rather than passed over.
            try:
                await team.send(plan, role, request)
            except InvocationRefusedError as err:
                return err.artifact
        if no_wait:
            # A retired role refuses on arrival; say so instead of "queued".
            return (await team.refusal_on_arrival(plan, role, request.invocation_id)) if not idle else None
        try:
            return await asyncio.wait_for(_invoke_showing_progress(team, plan, role, request), timeout)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise RoleteamError(
                f"no result within {timeout:.0f}s for invocation {request.invocation_id!r}; is a "
                "worker running? Run the same command with --id "
                f"{request.invocation_id} to wait again (it never runs twice)"
            ) from None

    try:
        result = asyncio.run(go())
    except KeyboardInterrupt:
        if no_wait:
            raise
        raise CommandInterrupted(
            f"interrupted while waiting for invocation {request.invocation_id!r}, which goes on in its "
            f"session; run the same command with --id {request.invocation_id} to wait again (it never "
            "runs twice)"
        ) from None
    if no_wait and result is None:
        queued = request.invocation_id
        print_json({"invocation_id": queued, "queued": True}) if json_out else console.print(
            f"queued {queued}"
        )
        return
    if json_out:
        print_json(result)
    else:
        console.print(artifact_text(result))
    if result.status == "failed" and not retry:
        err_console.print(
            f"invocation {result.invocation_id!r} failed; once the cause is fixed, run it again "
            f"with: roleteam invoke {plan} {role} PROMPT --id {result.invocation_id} --retry"
        )
    if result.status != "completed":
        raise typer.Exit(EXIT_REFUSED)


async def _invoke_showing_progress(team, plan: str, role: str, request):
    """Wait for the artifact; on a terminal, show on stderr what the invocation is doing.

    Ctrl-C cancels the wait, and the SDK ends a cancelled update call with its own error: that
    error is taken as the cancellation it is, so asyncio prints no "exception was never retrieved"
    traceback on the way out.
    """
    waiting = asyncio.ensure_future(team.invoke(plan, role, request))
    waiting.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        if not err_console.is_terminal:
            return await waiting
        from roleteam.progress import read_progress

        try:
            with err_console.status(f"{request.invocation_id}: sent") as shown:
                while not waiting.done():
                    progress = await read_progress(team, plan, role, request.invocation_id)
                    shown.update(f"{request.invocation_id}: {progress.line()}")
                    await asyncio.wait({waiting}, timeout=PROGRESS_EVERY_SECONDS)
        finally:
            if not waiting.done():
                waiting.cancel()
        return await waiting
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        if asyncio.current_task().cancelling():
            raise asyncio.CancelledError from None
        raise


PROGRESS_EVERY_SECONDS = 1.0


@app.command()
def status(plan: str, json_out: JsonOpt = False, address: AddressOpt = None) -> None:
    """Show every role's session in PLAN, and what a running invocation is doing."""
    from roleteam.progress import running_now

    registry = _check(plan)

    async def go():
        team = await _team(address, registry)
        await asyncio.gather(*(team.check_holder(plan, role) for role in registry.roles))
        if not await team.worker_polling():
            raise RoleteamError(
                f"no worker polls task queue {team.task_queue!r}, so no role can answer; "
                "start one with 'roleteam worker'"
            )
        states = await team.plan_status(plan)
        return states, await running_now(team, plan, states), await _plan_or_none(team, plan)

    states, running, plan_state = asyncio.run(go())
    if json_out:
        print_json(
            {
                "plan_id": plan,
                "roles": states,
                "running": {role: progress.as_json() for role, progress in running.items()},
                "findings_by_status": plan_state.findings_by_status if plan_state else None,
                "gate": plan_state.gate if plan_state else None,
            }
        )
    else:
        titles = {spec.id: spec.title for spec in registry.roles.values()}
        console.print(status_table(plan, states, titles, {r: p.line() for r, p in running.items()}))
        if plan_state is not None:
            from roleteam.plan_output import gate_text

            counts = ", ".join(
                f"{n} {s.replace('_', ' ')}" for s, n in sorted(plan_state.findings_by_status.items())
            )
            console.print(f"findings: {counts or 'none'}")
            console.print(gate_text(plan_state.gate))


async def _plan_or_none(team, plan: str):
    """The plan's state when its Plan workflow exists (plans started before it have none)."""
    from roleteam.plan_client import PlanNotFoundError, PlanTeam

    try:
        return await PlanTeam(team.client, task_queue=team.task_queue).state(plan)
    except PlanNotFoundError:
        return None


@app.command()
def history(plan: str, role: str, json_out: JsonOpt = False, address: AddressOpt = None) -> None:
    """Print ROLE's full verbatim transcript in PLAN, across all runs."""
    from roleteam.history import read_transcript

    registry = _check(plan, role)

    async def go():
        team = await _team(address, registry)
        await team.check_holder(plan, role, any_queue=True)
        handle = team.handle(plan, role)
        try:
            return await read_transcript(team.client, handle.id)
        except SessionNotFoundError:
            raise SessionNotFoundError(no_session_message(plan, team.role_id(role))) from None

    transcript = asyncio.run(go())
    if json_out:
        print_json(transcript)
        return
    if transcript.earlier_runs_expired:
        console.print("(earlier runs have passed the namespace's retention; their turns are gone)")
    for turn in transcript.turns:
        console.print(f"--- turn {turn.turn} · {turn.invocation_id} · {turn.status}")
        console.print(f"> {turn.prompt}")
        console.print(turn.reply if turn.reply is not None else f"error: {turn.error}")
    console.print(f"{len(transcript.turns)} turns in {transcript.runs} runs")


def _lifecycle(action: str, plan: str, role: str, reason: str, by, json_out, address) -> None:
    registry = _check(plan, role)

    target = "retired" if action == "retire" else "active"

    async def go():
        team = await _team(address, registry)
        polling = await team.worker_polling()
        if polling:
            before = await team.state(plan, role)
            if before.status == target:
                return before, False
        await getattr(team, action)(plan, role, reason, by)
        if not polling:
            return None, True  # the signal is durable; it takes effect when a worker runs the session
        return await team.state(plan, role), True

    state, changed = asyncio.run(go())
    if state is None:
        note = f"{action} signal sent; it takes effect when a worker runs the session"
        print_json({"signalled": action, "state": None}) if json_out else console.print(note)
    elif json_out:
        print_json(state)
    elif not changed:
        since = next((e.at for e in reversed(state.lifecycle) if e.action == action), None)
        when = f" since {format_time(since)}" if since else ""
        console.print(f"{state.role} in plan {plan} is already {target}{when}; nothing to do")
    else:
        console.print(f"{state.role} in plan {plan}: {state.status}, generation {state.generation}")


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the role's trail).")]
ByOpt = Annotated[Optional[str], typer.Option("--by", help="Who decides.")]


@app.command()
def retire(
    plan: str,
    role: str,
    reason: ReasonOpt,
    by: ByOpt = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Retire ROLE in PLAN: history kept, new invocations refused until reopened."""
    _lifecycle("retire", plan, role, reason, by, json_out, address)


@app.command()
def reopen(
    plan: str,
    role: str,
    reason: ReasonOpt,
    by: ByOpt = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Reopen a retired ROLE in PLAN with the same history, next generation."""
    _lifecycle("reopen", plan, role, reason, by, json_out, address)


@app.command()
def roles(json_out: JsonOpt = False) -> None:
    """List the roles of the registry (policies/roles.yaml)."""
    from roleteam.registry import load_role_registry

    registry = load_role_registry()
    if json_out:
        print_json(list(registry.roles.values()))
        return
    for spec in registry.roles.values():
        console.print(f"{spec.id:16} {spec.title:18} aliases: {', '.join(spec.aliases)}")


@app.command()
def worker(address: AddressOpt = None) -> None:
    """Run a worker on the `roleteam` task queue until interrupted (same as `python worker.py`)."""
    from roleteam.worker_main import serve

    serve(address)


@app.command("mcp")
def mcp_command(
    http: Annotated[
        Optional[str],
        typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP at http://HOST:PORT/mcp."),
    ] = None,
    address: AddressOpt = None,
) -> None:
    """Serve the role team as MCP tools over stdio (or streamable HTTP with --http); see docs/mcp.md."""
    from roleteam.mcp_server import serve

    serve(address=address, http=http)


def _interrupt(*_: object) -> None:
    """SIGTERM stops the server the way Ctrl-C does."""
    raise KeyboardInterrupt


@app.command()
def server(
    db: Annotated[Path, typer.Option(help="SQLite file that keeps the server's state.")] = Path(
        "~/.roleteam/temporal.db"
    ),
    port: Annotated[
        int, typer.Option(min=1, max=64535, help="gRPC port; the Web UI is on port+1000.")
    ] = 7233,
    ip: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Run the embedded Temporal dev server (SQLite + Web UI) in the foreground."""
    from roleteam.devserver import DevServer

    dev = DevServer(db_file=db.expanduser(), ip=ip, port=port, ui_port=port + 1000, log_level="warn")
    dev.start()
    err_console.print(
        f"Temporal dev server on {dev.address}, Web UI {dev.ui_url}, state in {dev.db_file}; Ctrl-C stops it"
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        dev.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        dev.stop()


@app.command()
def demo(
    plan: Annotated[Optional[str], typer.Option(help="Plan id (default: a new demo-… id).")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep server and worker up for the Web UI.")] = False,
    port: Annotated[
        Optional[int],
        typer.Option(min=1, max=64535, help="Use (or start) the server on this gRPC port of localhost."),
    ] = None,
    ui_port: Annotated[
        Optional[int],
        typer.Option("--ui-port", min=1, max=65535, help="Web UI port (default: the gRPC port + 1000)."),
    ] = None,
    json_out: JsonOpt = False,
    address: AddressOpt = None,
) -> None:
    """Run a small team on a plan end to end (starts a dev server and worker if needed)."""
    from roleteam.demo import run_demo

    asyncio.run(
        run_demo(plan_id=plan, keep=keep, json_out=json_out, address=address, port=port, ui_port=ui_port)
    )


@app.command("codec-server")
def codec_server(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8081,
    ip: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    origin: Annotated[
        Optional[list[str]],
        typer.Option(help="Web UI origin allowed by CORS (repeatable; default the dev server's UI)."),
    ] = None,
) -> None:
    """Serve the Temporal codec endpoint (/encode, /decode) with the keys of $ROLETEAM_ENCRYPTION_KEY_FILE."""
    from roleteam.codec import KEY_FILE_ENV, configured_codec
    from roleteam.codec_server import DEFAULT_ORIGINS, CodecServer

    codec = configured_codec()
    if codec is None:
        raise RoleteamError(f"{KEY_FILE_ENV} is not set: point it at the key file the workers use")
    try:
        server = CodecServer(codec, ip, port, tuple(origin or DEFAULT_ORIGINS))
    except OSError as err:
        raise RoleteamError(f"cannot listen on {ip}:{port} ({err.strerror}); pick another --port") from None
    err_console.print(
        f"codec server on {server.url} (keys {', '.join(codec.key_ids)}; encrypting with "
        f"{codec.active}); use it with 'temporal … --codec-endpoint {server.url}' or the Web UI's "
        "codec server setting; Ctrl-C stops it"
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


@app.command("codec-key")
def codec_key(key_id: str) -> None:
    """Print a new 'KEY_ID BASE64_KEY' line for $ROLETEAM_ENCRYPTION_KEY_FILE (first line encrypts)."""
    from roleteam.codec import new_key_line

    typer.echo(new_key_line(key_id))


@policy_app.command("check")
def policy_check(
    path: Annotated[
        Optional[Path], typer.Argument(help="Policy folder or skills.yaml (default: policies/).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate the role registry and skill policy; print a summary table."""
    from roleteam.policy_check import run_policy_check

    run_policy_check(path, json_out)


def main() -> None:
    """Console entry point: run the command; errors and exit codes as `roleteam.exit.run_main` says.

    With `--json`, an error is also printed on stdout as `{"error": ..., "exit_code": ...}`, so a
    script reading stdout always gets JSON.
    """
    run_main(run_app, json_errors="--json" in sys.argv[1:])


def run_app() -> int:
    """Run the typer app; a usage error becomes a `UsageError` (one line naming the fix, not a box)."""
    try:
        result = app(standalone_mode=False)
    except typer.TyperException as err:
        if type(err).__name__ == "NoArgsIsHelpError":
            err.show()
            return EXIT_USAGE
        ctx = getattr(err, "ctx", None)
        where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        usage = UsageError(f"{err.format_message().rstrip('.')}{where}")
        usage.exit_code = getattr(err, "exit_code", EXIT_USAGE)
        raise usage from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    main()
