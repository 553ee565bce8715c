"""roleteam side by side with the naive entity workflow, on one dev server, in one run.

    python bench/compare.py                 # defaults finish in a few minutes on 2 cores
    python bench/compare.py --json          # machine-readable result on stdout

The baseline is `bench/naive.py` (clearly NOT roleteam: one workflow per role, update -> one
activity -> reply, no continue-as-new). roleteam is driven through `RoleTeam.invoke` / `send`,
with everything a real worker runs: the policy and skill activity, the model activity, summaries,
roll-overs and the `Plan` workflow every role session reports each artifact to. Both workers run
in this process on one dev server (SQLite file in a temp dir), echo model, 200-byte prompts.
Worker RSS is measured in a separate worker process per system, so it is that worker's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a fresh clone

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowExecutionStatus  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench.naive import (  # noqa: E402
    NAIVE_WORKFLOW,
    NaiveReply,
    NaiveRequest,
    NaiveRole,
    NaiveStart,
    naive_call_model,
)
from roleteam.client import RoleTeam  # noqa: E402
from roleteam.codec import data_converter  # noqa: E402
from roleteam.constants import plan_workflow_id, session_workflow_id  # noqa: E402
from roleteam.devserver import temporal_binary  # noqa: E402
from roleteam.exit import hard_exit  # noqa: E402
from roleteam.models import SessionOptions  # noqa: E402
from roleteam.plan_client import PlanTeam  # noqa: E402
from roleteam.worker_runtime import build_worker  # noqa: E402

SYSTEMS = ("naive", "roleteam")
SETTLE_SECONDS = 0.5
SHUTDOWN_SECONDS = 20.0


def prompt_of(n: int, size: int) -> str:
    head = f"task {n} "
    return head + "x" * max(size - len(head), 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def chain_sizes(client: Client, workflow_id: str) -> list[tuple[int, int]]:
    """(events, bytes) of every run of a continue-as-new chain, newest first; [] if none."""
    sizes, run_id = [], None
    while True:
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        except Exception:  # noqa: BLE001 - no such workflow
            return sizes
        first = history.events[0].workflow_execution_started_event_attributes
        sizes.append((len(history.events), sum(e.ByteSize() for e in history.events)))
        run_id = first.continued_execution_run_id
        if not run_id:
            return sizes


async def breakdown(client: Client, workflow_id: str, turns: int) -> dict[str, int]:
    """History bytes per turn by what wrote them, over every run of the chain (biggest first).

    Activity events are named after their activity type, so the cost of each round trip shows.
    """
    totals: dict[str, int] = {}
    run_id = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        activity_types: dict[int, str] = {}
        for event in history.events:
            name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
            if event.HasField("activity_task_scheduled_event_attributes"):
                scheduled = event.activity_task_scheduled_event_attributes
                activity_types[event.event_id] = scheduled.activity_type.name
                name = f"activity {activity_types[event.event_id]}: scheduled (input)"
            for field_name in ("activity_task_started", "activity_task_completed"):
                attrs = f"{field_name}_event_attributes"
                if event.HasField(attrs):
                    kind = activity_types.get(getattr(event, attrs).scheduled_event_id, "?")
                    suffix = "completed (result)" if "completed" in field_name else "started"
                    name = f"activity {kind}: {suffix}"
            totals[name] = totals.get(name, 0) + event.ByteSize()
        first = history.events[0].workflow_execution_started_event_attributes
        run_id = first.continued_execution_run_id
        if not run_id:
            break
    per_turn = {k: round(v / turns) for k, v in totals.items()}
    return dict(sorted(per_turn.items(), key=lambda kv: -kv[1]))


# --- the two systems behind one interface -----------------------------------------------------


@dataclass
class System:
    name: str
    client: Client
    queue: str
    roles: list[str]
    worker: Worker | None = None
    task: asyncio.Task | None = None
    team: RoleTeam | None = field(default=None)
    stuck_shutdowns: int = 0

    def build(self, **kwargs) -> Worker:
        if self.name == "naive":
            return Worker(
                self.client,
                task_queue=self.queue,
                workflows=[NaiveRole],
                activities=[naive_call_model],
                **kwargs,
            )
        return build_worker(self.client, self.queue, **kwargs)

    async def start(self, **kwargs) -> None:
        self.worker = self.build(**kwargs)
        self.task = asyncio.create_task(self.worker.run())
        await asyncio.sleep(0.2)

    async def restart(self, plan: str | None = None, role: str | None = None) -> None:
        """A fresh worker: empty workflow cache, so the next task replays the whole run.

        Waits first until the role's trailing work (roleteam's batched reports to its Plan and
        bundle files) is done, and a moment more: a workflow task left to a stopped worker's
        sticky queue costs a 5 s schedule-to-start timeout (10 s for a task it abandoned) instead.
        """
        if self.name == "roleteam" and plan and role:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                state = await self.team.state(plan, role)
                if not (state.unreported or state.unwritten or state.pending or state.running_invocation_id):
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_SECONDS)
        try:
            await asyncio.wait_for(self.worker.shutdown(), SHUTDOWN_SECONDS)
            await asyncio.wait_for(self.task, SHUTDOWN_SECONDS)
        except TimeoutError:
            self.stuck_shutdowns += 1  # reported; the new worker takes over the queue anyway
        await self.start()

    def key(self, n: int, plan: str) -> tuple[str, str]:
        """Role n of a bench: plans of len(roles) roles each, like a real team."""
        return f"{plan}-{n // len(self.roles)}", self.roles[n % len(self.roles)]

    def workflow_id(self, plan: str, role: str) -> str:
        return f"naive:{plan}:{role}" if self.name == "naive" else session_workflow_id(plan, role)

    async def lift_budgets(self, plan: str, role: str) -> None:
        """Create the plan and lift its token budgets (a long bench run is not a budget test)."""
        if self.name == "roleteam":
            plans = PlanTeam(self.client, task_queue=self.queue)
            await plans.open(plan)
            await plans.set_budget(plan, None)
            await plans.set_budget(plan, None, role=role)

    async def invoke(self, plan: str, role: str, prompt: str, inv: str) -> None:
        if self.name == "roleteam":
            artifact = await self.team.invoke(plan, role, self.team.request(prompt, inv))
            if artifact.status != "completed":
                raise RuntimeError(f"{inv}: {artifact.status} {artifact.reason or artifact.error}")
            return
        await self.client.execute_update_with_start_workflow(
            "invoke",
            NaiveRequest(invocation_id=inv, prompt=prompt),
            start_workflow_operation=WithStartWorkflowOperation(
                NAIVE_WORKFLOW,
                NaiveStart(role=role),
                id=self.workflow_id(plan, role),
                task_queue=self.queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),
            result_type=NaiveReply,
        )

    async def send(self, plan: str, role: str, prompt: str, inv: str, check: bool = False) -> None:
        """Queue one invocation by signal-with-start, as automation from any Temporal client does
        (both systems alike); `check` is RoleTeam.send's default: ask right after for a refusal."""
        if self.name == "roleteam":
            await self.team.send(plan, role, self.team.request(prompt, inv), check=check)
            return
        await self.client.start_workflow(
            NAIVE_WORKFLOW,
            NaiveStart(role=role),
            id=self.workflow_id(plan, role),
            task_queue=self.queue,
            start_signal="enqueue",
            start_signal_args=[NaiveRequest(invocation_id=inv, prompt=prompt)],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def turns(self, plan: str, role: str) -> int:
        if self.name == "roleteam":
            state = await self.team.state(plan, role)
            return state.turns if state.pending == 0 else -1
        return await self.client.get_workflow_handle(self.workflow_id(plan, role)).query("turns")

    async def wait_turns(self, plan: str, role: str, turns: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        polls = 0
        while time.monotonic() < deadline:
            if await self.turns(plan, role) >= turns:
                return
            polls += 1
            if self.name == "naive" and polls % 40 == 0:
                # The naive run never rolls over: Temporal ends it at its history limit, and then
                # no turn ever comes (waiting out the timeout only made the run minutes longer).
                described = await self.client.get_workflow_handle(self.workflow_id(plan, role)).describe()
                if described.status != WorkflowExecutionStatus.RUNNING:
                    raise RuntimeError(
                        f"naive: {plan}/{role} ended ({described.status.name}) before {turns} turns: "
                        "Temporal's history limit"
                    )
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name}: {plan}/{role} did not reach {turns} turns in {timeout}s")

    async def wait_idle(self, plan: str, role: str, last: str, turns: int, timeout: float = 300) -> int:
        """Wait until the role ran everything queued (the last id included); its turn count."""
        if self.name == "naive":
            await self.wait_turns(plan, role, turns, timeout)
            return turns
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = await self.team.state(plan, role)
            if state.pending == 0 and state.last_invocation_id == last:
                return state.turns
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{plan}/{role} did not finish its queue in {timeout}s")

    async def history(self, plan: str, role: str) -> dict:
        session = await chain_sizes(self.client, self.workflow_id(plan, role))
        plan_runs = await chain_sizes(self.client, plan_workflow_id(plan)) if self.name == "roleteam" else []
        return {
            "runs": len(session),
            "bytes": sum(b for _, b in session),
            "events": sum(e for e, _ in session),
            "largest_run_events": max((e for e, _ in session), default=0),
            "plan_runs": len(plan_runs),
            "plan_bytes": sum(b for _, b in plan_runs),
        }


# --- the scenarios ----------------------------------------------------------------------------


async def drive(system: System, plan: str, role: str, start: int, count: int, size: int, batch: int = 100):
    """Queue `count` invocations by signal in batches (within roleteam's queue cap), waiting each."""
    for first in range(start, start + count, batch):
        last = min(first + batch, start + count)
        for n in range(first, last):
            await system.send(plan, role, prompt_of(n, size), f"deep-{n}")
        await system.wait_turns(plan, role, last)


async def cold(system: System, plan: str, role: str, args, tag: str) -> dict:
    """The first invocation of a role on a fresh worker, and on a warmed-up worker that does not
    have the role cached (evicted): the difference is the worker's own start-up (sandbox imports)."""
    fresh, evicted = [], []
    for n in range(args.cold_samples):
        await system.restart(plan, role)
        began = time.perf_counter()
        await system.invoke(plan, role, prompt_of(n, args.prompt_bytes), f"{tag}-fresh-{n}")
        fresh.append((time.perf_counter() - began) * 1000)
        await system.restart(plan, role)
        await system.invoke(f"{plan}-other", role, prompt_of(n, args.prompt_bytes), f"{tag}-warm-{n}")
        began = time.perf_counter()
        await system.invoke(plan, role, prompt_of(n, args.prompt_bytes), f"{tag}-evicted-{n}")
        evicted.append((time.perf_counter() - began) * 1000)
    return {
        "fresh_worker_ms": round(statistics.median(fresh), 1),
        "evicted_ms": round(statistics.median(evicted), 1),
        "fresh_samples_ms": [round(x, 1) for x in fresh],
        "evicted_samples_ms": [round(x, 1) for x in evicted],
        "current_run_events": (await chain_sizes(system.client, system.workflow_id(plan, role)))[0][0],
    }


async def sequential(system: System, args) -> dict:
    plan, role = f"seq-{uuid.uuid4().hex[:6]}", "developer"
    await system.lift_budgets(plan, role)
    for n in range(args.warmup):
        await system.invoke(plan, role, prompt_of(n, args.prompt_bytes), f"w-{n}")
    latencies = []
    for n in range(args.turns):
        began = time.perf_counter()
        await system.invoke(plan, role, prompt_of(n, args.prompt_bytes), f"s-{n}")
        latencies.append((time.perf_counter() - began) * 1000)
    turns = args.warmup + args.turns
    hist = await system.history(plan, role)
    where = await breakdown(system.client, system.workflow_id(plan, role), turns)
    resumed = await cold(system, plan, role, args, "c")
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "turns": turns,
        "history_bytes_per_turn": round(hist["bytes"] / turns),
        "plan_history_bytes_per_turn": round(hist["plan_bytes"] / turns),
        "turns_per_run": round(turns / hist["runs"], 1),
        "rollovers_per_1000_turns": round((hist["runs"] - 1) * 1000 / turns, 1),
        "largest_run_events": hist["largest_run_events"],
        "fresh_worker_first_invocation_ms": resumed["fresh_worker_ms"],
        "cold": resumed,
        "history_bytes_per_turn_by_source": where,
    }


async def burst(system: System, args) -> dict:
    plan = f"burst-{uuid.uuid4().hex[:6]}"
    keys = [system.key(n, plan) for n in range(args.roles)]
    began = time.perf_counter()
    await asyncio.gather(
        *(system.invoke(p, r, prompt_of(n, args.prompt_bytes), f"b-{n}") for n, (p, r) in enumerate(keys))
    )
    elapsed = time.perf_counter() - began
    return {"roles": args.roles, "seconds": round(elapsed, 2), "per_second": round(args.roles / elapsed, 1)}


async def queued(system: System, args, check: bool = False) -> dict:
    """One role, `--queued` invocations sent by signal at once; the rate at which they complete.
    With `check`, each send also asks the session whether it refused the invocation."""
    plan, role = f"queue-{uuid.uuid4().hex[:6]}", "developer"
    await system.lift_budgets(plan, role)
    await system.invoke(plan, role, prompt_of(0, args.prompt_bytes), "q-start")  # started, warm
    began = time.perf_counter()
    for n in range(args.queued):
        await system.send(plan, role, prompt_of(n, args.prompt_bytes), f"q-{n}", check=check)
    last = f"q-{args.queued - 1}"
    done = await system.wait_idle(plan, role, last, args.queued + 1)
    elapsed = time.perf_counter() - began
    return {
        "queued": args.queued,
        "refused": args.queued + 1 - done,
        "seconds": round(elapsed, 2),
        "per_second": round(args.queued / elapsed, 1),
        "plan": plan,
    }


async def deep_cold(system: System, args, plan: str) -> dict:
    """Cold resume (fresh worker, first invocation) of one role at each of `--cold-turns`."""
    role, results = "developer", {}
    done = await system.turns(plan, role)
    for target in args.cold_turns:
        if target > done:
            try:
                await drive(system, plan, role, done, target - done, args.prompt_bytes)
            except Exception as err:  # noqa: BLE001 - the naive run hits Temporal's limits
                results[str(target)] = f"failed: {str(err)[:200]}"
                break
            done = target
        results[str(target)] = await cold(system, plan, role, args, f"d-{target}")
        results[str(target)]["runs"] = (await system.history(plan, role))["runs"]
        done += 2 * args.cold_samples
    return results


# --- worker RSS, in a worker process of its own -------------------------------------------------


def rss_kib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def worker_rss(name: str, env: WorkflowEnvironment, args, address: str) -> dict:
    queue = f"rss-{name}-{uuid.uuid4().hex[:6]}"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", name, "--address", address, "--task-queue", queue],
        stdout=subprocess.PIPE,
        env={**os.environ, "ROLETEAM_PROVIDER": "echo"},
    )
    try:
        line = await asyncio.to_thread(proc.stdout.readline)
        if b"ready" not in line:
            raise RuntimeError(f"{name} worker process did not start")
        system = System(name, client_of(name, env.client), queue, ROLES)
        system.team = RoleTeam(system.client, task_queue=queue, options=SessionOptions())
        idle = rss_kib(proc.pid)
        plan = f"rss-{uuid.uuid4().hex[:6]}"
        gate = asyncio.Semaphore(args.rss_concurrency)

        async def touch(n: int) -> None:
            p, r = system.key(n, plan)
            async with gate:
                for t in range(3):
                    await system.invoke(p, r, prompt_of(n, args.rss_prompt_bytes), f"m-{n}-{t}")

        began = time.perf_counter()
        await asyncio.gather(*(touch(n) for n in range(args.rss_roles)))
        seconds = time.perf_counter() - began
        await asyncio.sleep(1.0)
        loaded = rss_kib(proc.pid)
        return {
            "roles": args.rss_roles,
            "idle_rss_mib": round(idle["VmRSS"] / 1024, 1),
            "rss_mib": round(loaded["VmRSS"] / 1024, 1),
            "peak_rss_mib": round(loaded["VmHWM"] / 1024, 1),
            "seconds": round(seconds, 1),
        }
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)


def converter_of(name: str):
    """Each system's data converter: the SDK's stock pydantic one for the naive design, the one
    roleteam's own clients and workers use (`roleteam.codec.data_converter`) for roleteam."""
    return data_converter() if name == "roleteam" else pydantic_data_converter


def client_of(name: str, client: Client) -> Client:
    """The bench's client, speaking through the system's own data converter."""
    return Client(client.service_client, namespace=client.namespace, data_converter=converter_of(name))


async def serve(name: str, address: str, queue: str) -> None:
    client = await Client.connect(address, data_converter=converter_of(name))
    system = System(name, client, queue, ROLES)
    async with system.build():
        print("ready", flush=True)
        await asyncio.Event().wait()


# --- the run ----------------------------------------------------------------------------------

ROLES = ["lead", "planner", "developer", "validator", "release-manager"]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def start_server(tmp: Path) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_database_filename=str(tmp / "temporal.db"),
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="never",
        dev_server_startup_timeout=timedelta(seconds=60),  # the machine may be busy
    )


async def compare(args) -> dict:
    os.environ["ROLETEAM_PROVIDER"] = "echo"
    tmp = Path(tempfile.mkdtemp(prefix="roleteam-bench-"))
    # The dev server prints a banner on its stdout: give it our stderr, keep stdout for results.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        env = await start_server(tmp)
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    address = env.client.service_client.config.target_host
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_before": load_average(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "serve", "address")},
    }
    systems = {}
    for name in SYSTEMS:
        system = System(name, client_of(name, env.client), f"bench-{name}-{uuid.uuid4().hex[:6]}", ROLES)
        system.team = RoleTeam(system.client, task_queue=system.queue, options=SessionOptions())
        await system.start()
        systems[name] = system
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    for name, system in systems.items():
        result.setdefault(name, {})
        log(f"{name}: sequential, {args.turns} turns")
        result[name]["sequential"] = await sequential(system, args)
        log(f"{name}: {args.roles} roles at once")
        result[name]["burst"] = await burst(system, args)
        log(f"{name}: {args.queued} queued on one role")
        result[name]["queued"] = queue = await queued(system, args)
        if name == "roleteam":
            log(f"{name}: {args.queued} queued on one role, each send checked")
            result[name]["queued_checked"] = await queued(system, args, check=True)
            result[name]["queued_checked"].pop("plan")
        log(f"{name}: cold resume at {args.cold_turns}")
        result[name]["cold_resume"] = await deep_cold(system, args, queue.pop("plan"))
    for name, system in systems.items():
        result[name]["stuck_worker_shutdowns"] = system.stuck_shutdowns
        await asyncio.wait_for(system.worker.shutdown(), SHUTDOWN_SECONDS)
    if args.rss_roles:
        for name in SYSTEMS:
            log(f"{name}: worker RSS with {args.rss_roles} roles x 3 turns")
            result[name]["rss"] = await worker_rss(name, env, args, address)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["load_average_after"] = load_average()
    await env.shutdown()
    return result


def table(result: dict) -> str:
    n, r = result["naive"], result["roleteam"]

    def row(label, a, b, unit, better_low):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a and b:
            ratio = (a / b) if better_low else (b / a)
            verdict = f"{ratio:.2f}x" + (" (good)" if ratio >= 1 else "")
        else:
            verdict = "-"
        # A figure that could not be measured is a sentence (why), shown without a unit.
        shown = [f"{v}{unit}" if isinstance(v, (int, float)) else str(v) for v in (a, b)]
        return f"| {label} | {shown[0]} | {shown[1]} | {verdict} |"

    s_n, s_r = n["sequential"], r["sequential"]
    lines = [
        "| figure | naive | roleteam | roleteam vs naive (>=1 good) |",
        "| --- | --- | --- | --- |",
        row("sequential invoke-and-wait p50, one warm role", s_n["p50_ms"], s_r["p50_ms"], " ms", True),
        row("  p95", s_n["p95_ms"], s_r["p95_ms"], " ms", True),
        row("  p99", s_n["p99_ms"], s_r["p99_ms"], " ms", True),
        row(
            f"{n['burst']['roles']} roles, one update-with-start each, at once",
            n["burst"]["per_second"],
            r["burst"]["per_second"],
            "/s",
            False,
        ),
        row(
            f"one role, {n['queued']['queued']} queued invocations",
            n["queued"]["per_second"],
            r["queued"]["per_second"],
            "/s",
            False,
        ),
        row(
            "  same, each RoleTeam.send checked for a refusal (its default)",
            "-",
            r.get("queued_checked", {}).get("per_second", "-"),
            "/s",
            False,
        ),
        row(
            f"first invocation after a fresh worker, {s_n['turns']} turns in",
            s_n["fresh_worker_first_invocation_ms"],
            s_r["fresh_worker_first_invocation_ms"],
            " ms",
            True,
        ),
        row(
            "history bytes per turn (session)",
            s_n["history_bytes_per_turn"],
            s_r["history_bytes_per_turn"],
            " B",
            True,
        ),
        f"| history bytes per turn (Plan workflow) | - | {s_r['plan_history_bytes_per_turn']} B | - |",
        f"| turns per run | {s_n['turns_per_run']} | {s_r['turns_per_run']} | - |",
        f"| roll-overs per 1,000 turns | {s_n['rollovers_per_1000_turns']} | "
        f"{s_r['rollovers_per_1000_turns']} | - |",
    ]
    lines.append(
        row(
            f"  same, worker warm but role not cached (evicted), {s_n['turns']} turns in",
            s_n["cold"]["evicted_ms"],
            s_r["cold"]["evicted_ms"],
            " ms",
            True,
        )
    )
    for turns in sorted(n["cold_resume"].keys() | r["cold_resume"].keys(), key=int):
        for key, label in (("fresh_worker_ms", "fresh worker"), ("evicted_ms", "evicted")):
            a, b = n["cold_resume"].get(turns, "-"), r["cold_resume"].get(turns, "-")
            a = a[key] if isinstance(a, dict) else a
            b = b[key] if isinstance(b, dict) else b
            lines.append(row(f"cold resume at {turns} turns of one role ({label})", a, b, " ms", True))
    if "rss" in n:
        lines.append(
            row(
                f"worker RSS, {n['rss']['roles']} roles x 3 turns of 2 KB",
                n["rss"]["rss_mib"],
                r["rss"]["rss_mib"],
                " MiB",
                True,
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100, help="sequential turns on one warm role")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--roles", type=int, default=100, help="roles started at once")
    parser.add_argument("--queued", type=int, default=100, help="invocations queued on one role")
    parser.add_argument(
        "--cold-turns",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[300],
        help="comma-separated turn counts for cold resume, e.g. 1000,10000",
    )
    parser.add_argument("--cold-samples", type=int, default=2)
    parser.add_argument("--prompt-bytes", type=int, default=200)
    parser.add_argument("--rss-roles", type=int, default=200, help="0 skips the RSS measurement")
    parser.add_argument("--rss-prompt-bytes", type=int, default=2048)
    parser.add_argument("--rss-concurrency", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.address, args.task_queue))
        return
    result = asyncio.run(compare(args))
    print(json.dumps(result, indent=2) if args.json else table(result), flush=True)
    hard_exit(0)


if __name__ == "__main__":
    main()
