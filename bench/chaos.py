"""Chaos suite: many roles, many invocations, and faults everywhere; then count from Temporal alone.

    python bench/chaos.py                      # 100 roles over 10 plans, 1,000 invocations
    python bench/chaos.py --plans 2 --roles-per-plan 3 --invocations 60   # the CI size

Starts its own dev server (SQLite file, so it can be restarted), the fake OpenAI-compatible
server and `worker.py` as a subprocess, then drives the invocations through a mix of
`invoke_and_wait` (update) and `invoke` (signal) clients. Meanwhile it SIGKILLs the worker twice
(starting a new one each time), restarts the dev server once, and the model endpoint answers a
share of calls with 429 + retry-after, 500, 502, a hang past the call's timeout, malformed JSON
or an empty `choices`, and 401 for every call of one role. Clients send again with the same id
whenever a call fails (ids are idempotency keys), as a real one would.

Afterwards only Temporal is asked: every id's artifact (query), every run's transcript (history)
and every session's pending workflow task (describe). It prints a table and exits 1 if an
invocation is lost, ran twice, or a session is stuck.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from roleteam.client import RoleTeam, connect  # noqa: E402
from roleteam.constants import session_workflow_id  # noqa: E402
from roleteam.devserver import DevServer  # noqa: E402
from roleteam.exit import hard_exit  # noqa: E402
from roleteam.history import read_transcript  # noqa: E402
from roleteam.models import SessionOptions  # noqa: E402
from tests.fake_openai import FakeOpenAI, Scripted  # noqa: E402

ROLES = ("lead", "planner", "developer", "validator", "release-manager")
TAG = re.compile(r"\[chaos (\S+)\]")
# Short call timeouts so a hang or a killed worker costs seconds, not minutes.
OPTIONS = SessionOptions(model_timeout_seconds=4, model_heartbeat_timeout_seconds=2, model_max_attempts=8)
HANG_SECONDS = 6.0
RETRYABLE_FAULTS = {"429", "500", "502", "hang", "malformed"}  # the rest fail the invocation


@dataclass
class Config:
    plans: int = 20
    roles_per_plan: int = 5  # the registry has five roles, so 100 sessions take 20 plans
    invocations: int = 1000
    concurrency: int = 24
    fault_rate: float = 0.12
    seed: int = 7
    worker_kills: int = 2
    server_restarts: int = 1
    settle_seconds: float = 300.0
    # Bound on sending every invocation: a run with no worker serving fails instead of hanging.
    drive_seconds: float = 600.0


@dataclass
class Figures:
    invocations: int = 0
    sessions: int = 0
    worker_kills: int = 0
    server_restarts: int = 0
    worker_restarts: int = 0  # workers that exited on their own and were started again
    faults: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    failures: dict[str, str] = field(default_factory=dict)  # failed id → error
    lost: list[str] = field(default_factory=list)
    ran_twice: list[str] = field(default_factory=list)
    not_in_transcript: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    workflow_task_failures: int = 0
    client_retries: int = 0
    provider_calls: collections.Counter = field(default_factory=collections.Counter)  # calls → ids
    extra_provider_calls: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.ran_twice or self.not_in_transcript or self.stuck)

    def table(self) -> str:
        rows = [
            ("invocations", self.invocations),
            ("role sessions", self.sessions),
            ("worker SIGKILLs", self.worker_kills),
            ("dev server restarts", self.server_restarts),
            ("workers started again after exiting on their own", self.worker_restarts),
            ("model faults injected", sum(self.faults.values())),
            *((f"  {kind}", n) for kind, n in sorted(self.faults.items())),
            ("final artifacts", dict(sorted(self.statuses.items()))),
            ("lost", len(self.lost)),
            ("ran twice (transcript)", len(self.ran_twice)),
            ("ran without a transcript turn", len(self.not_in_transcript)),
            ("stuck sessions", len(self.stuck)),
            ("workflow task failures (worker log)", self.workflow_task_failures),
            ("client sends repeated after an error", self.client_retries),
            ("provider calls per invocation", dict(sorted(self.provider_calls.items()))),
            ("extra provider calls (not from a fault)", self.extra_provider_calls),
            ("wall time", f"{self.seconds:.0f}s"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChaosModel:
    """Decides each model call's answer: mostly fine, a share of faults, one role always 401."""

    def __init__(self, rng: random.Random, rate: float, unauthorised_session: str) -> None:
        self.rng, self.rate, self.unauthorised = rng, rate, unauthorised_session
        self.faults: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()  # invocation id → calls

    def __call__(self, body: dict) -> Scripted | None:
        messages = body.get("messages") or [{}]
        if "working memory" in str(messages[0].get("content", "")):
            return None  # summarisation: always answered
        found = TAG.search(str(messages[-1].get("content", "")))
        if not found:
            return None
        invocation_id = found.group(1)
        self.calls[invocation_id] += 1
        if invocation_id.startswith(self.unauthorised + "/"):
            self.faults["401 (one role)"] += 1
            return Scripted(status=401, body={"error": {"message": "invalid api key"}})
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(["429", "500", "502", "hang", "malformed", "empty"])
        self.faults[kind] += 1
        return {
            "429": Scripted(status=429, headers={"retry-after": "1"}),
            "500": Scripted(status=500),
            "502": Scripted(status=502),
            "hang": Scripted(delay=HANG_SECONDS),
            "malformed": Scripted(raw=b'{"id": "x", "choices": [ {"mess'),
            "empty": Scripted(
                body={"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
            ),
        }[kind]


class Worker:
    """`worker.py` as a subprocess, so it can be SIGKILLed like a crashed host.

    Supervised as a service manager would run it: a worker that exits on its own is started
    again. That happens when a new worker comes up while the dev server is down for its restart:
    `roleteam worker` exits at once when it cannot reach Temporal (a CLI's clear error), and
    without a supervisor no worker would be left and every invocation would wait forever.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.proc = env, log, None
        self.restarts = 0  # started again by the supervisor after exiting on its own
        self._killed = None  # the process kill() ended: havoc starts its successor
        self._stopping = False
        self._supervisor: asyncio.Task | None = None

    async def start(self) -> None:
        await self._spawn()
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 (kept for the process's life)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), env=self.env, stdout=out, stderr=out, cwd=ROOT
        )

    async def _supervise(self) -> None:
        while not self._stopping:
            proc = self.proc
            await proc.wait()
            if self._stopping:
                return
            if proc is self._killed or proc is not self.proc:
                await asyncio.sleep(0.05)  # havoc's kill: it starts the next worker itself
                continue
            self.restarts += 1
            await asyncio.sleep(0.5)
            await self._spawn()

    def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self._killed = self.proc
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def run_chaos(config: Config, workdir: Path, log=print) -> Figures:
    figures = Figures(invocations=config.invocations)
    t0 = time.monotonic()
    say = lambda text: log(f"[{time.monotonic() - t0:5.1f}s] {text}")  # noqa: E731
    rng = random.Random(config.seed)
    started = time.monotonic()
    server = DevServer(db_file=workdir / "temporal.db", port=free_port(), ui_port=free_port())
    await asyncio.to_thread(server.start, 60.0, workdir / "server.log")
    fake = FakeOpenAI().start()
    queue = f"chaos-{uuid.uuid4().hex[:8]}"
    sessions = [
        (f"chaos-plan-{p}", role) for p in range(config.plans) for role in ROLES[: config.roles_per_plan]
    ]
    figures.sessions = len(sessions)
    unauthorised = "s1"  # every call of the second session answers 401
    model = ChaosModel(rng, config.fault_rate, unauthorised)
    fake.decide = model
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "ROLETEAM_", "OPENAI_"))}
    env |= {
        "TEMPORAL_ADDRESS": server.address,
        "ROLETEAM_TASK_QUEUE": queue,
        "ROLETEAM_PROVIDER": "openai",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-chaos",
        "ROLETEAM_MODEL": "fake-model",
    }
    if os.environ.get("ROLETEAM_ENCRYPTION_KEY_FILE"):
        env["ROLETEAM_ENCRYPTION_KEY_FILE"] = os.environ["ROLETEAM_ENCRYPTION_KEY_FILE"]
    worker = Worker(env, workdir / "worker.log")
    await worker.start()
    client = await connect(server.address)
    team = RoleTeam(client, task_queue=queue, options=OPTIONS)

    # Invocation i goes to session i % sessions; ids carry their session's index for the 401 role.
    work = []
    for i in range(config.invocations):
        s = i % len(sessions)
        plan, role = sessions[s]
        invocation_id = f"s{s}/inv-{i}"
        work.append((plan, role, invocation_id, "update" if rng.random() < 0.5 else "signal"))
    done = 0
    pending = asyncio.Queue()
    for item in work:
        pending.put_nowait(item)

    async def drive() -> None:
        nonlocal done
        while not pending.empty():
            plan, role, invocation_id, how = pending.get_nowait()
            request = team.request(f"[chaos {invocation_id}] do step {invocation_id}", invocation_id)
            for attempt in range(10_000):
                try:
                    if how == "update":
                        await asyncio.wait_for(team.invoke(plan, role, request), 60)
                    else:
                        await team.send(plan, role, request, check=False)
                    break
                except Exception:  # noqa: BLE001 (server down, worker gone: send the same id again)
                    figures.client_retries += 1
                    await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
            done += 1

    async def havoc() -> None:
        actions = ["kill"] * config.worker_kills
        for n in range(config.server_restarts):  # restarts between the kills
            actions.insert(min(len(actions), 2 * n + 1), "restart")
        marks = [(0.8 * (n + 1) / (len(actions) + 1), a) for n, a in enumerate(actions)]
        for share, action in marks:
            while done < share * config.invocations:
                await asyncio.sleep(0.05)
            if action == "kill":
                say(f"SIGKILL worker at {done} invocations sent")
                worker.kill()
                figures.worker_kills += 1
                await worker.start()
            else:
                say(f"restarting the dev server at {done} invocations sent")
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(server.start, 60.0, workdir / "server.log")
                figures.server_restarts += 1

    try:
        chaos = asyncio.create_task(havoc())
        try:
            await asyncio.wait_for(
                asyncio.gather(*(drive() for _ in range(config.concurrency))), config.drive_seconds
            )
        except TimeoutError:
            chaos.cancel()
            raise RuntimeError(
                f"only {done} of {config.invocations} invocations sent in {config.drive_seconds:.0f}s: "
                f"is a worker serving? see {workdir / 'worker.log'}"
            ) from None
        await chaos
        say("all invocations sent; waiting for every one to settle")
        await settle(team, work, config.settle_seconds)
        await account(client, team, work, sessions, figures)
    finally:
        await worker.stop()
        figures.worker_restarts = worker.restarts
        await asyncio.to_thread(server.stop)
        fake.stop()
    figures.faults = model.faults
    figures.workflow_task_failures = (
        (workdir / "worker.log").read_text(errors="replace").count("Failed activation on workflow")
    )
    ids = [invocation_id for _, _, invocation_id, _ in work]
    figures.provider_calls = collections.Counter(model.calls[i] for i in ids)
    # Calls beyond one per invocation that no injected fault explains: an activity run again
    # after its worker was killed or its result was lost (activities are at-least-once).
    retried_faults = sum(n for kind, n in model.faults.items() if kind in RETRYABLE_FAULTS)
    called = sum(1 for i in ids if model.calls[i])
    figures.extra_provider_calls = sum(model.calls[i] for i in ids) - called - retried_faults
    figures.seconds = time.monotonic() - started
    return figures


async def settle(team: RoleTeam, work, timeout: float) -> None:
    """Wait until every session has drained its queue and is not running anything."""
    by_session = collections.defaultdict(list)
    for plan, role, invocation_id, _ in work:
        by_session[(plan, role)].append(invocation_id)
    deadline = time.monotonic() + timeout
    for (plan, role), ids in by_session.items():
        while time.monotonic() < deadline:
            try:
                state = await team.state(plan, role)
                last = await team.artifact(plan, role, ids[-1])
                if state.pending == 0 and last is not None:
                    break
            except Exception:  # noqa: BLE001 (a worker still catching up)
                pass
            await asyncio.sleep(0.3)


async def account(client, team: RoleTeam, work, sessions, figures: Figures) -> None:
    """Count from Temporal alone: artifacts by query, turns by history, stuck by describe."""
    status: dict[str, str] = {}
    for plan, role, invocation_id, _ in work:
        artifact = await team.artifact(plan, role, invocation_id)
        if artifact is None:
            figures.lost.append(invocation_id)
        else:
            status[invocation_id] = artifact.status
            figures.statuses[artifact.status] += 1
            if artifact.status == "failed":
                figures.failures[invocation_id] = artifact.error or ""
    turns: collections.Counter = collections.Counter()
    for plan, role in sessions:
        workflow_id = session_workflow_id(plan, role)
        transcript = await read_transcript(client, workflow_id)
        turns.update(t.invocation_id for t in transcript.turns)
        description = await client.get_workflow_handle(workflow_id).describe()
        if description.raw_description.pending_workflow_task.attempt > 1:
            figures.stuck.append(workflow_id)
    figures.ran_twice = sorted(i for i, n in turns.items() if n > 1)
    # Completed and failed invocations each took exactly one turn; refusals never reach the model.
    figures.not_in_transcript = sorted(i for i, s in status.items() if s != "refused" and turns[i] == 0)


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0, e.g. 600")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--roles-per-plan", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--fault-rate", type=float, default=0.12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker-kills", type=int, default=2)
    parser.add_argument("--server-restarts", type=int, default=1)
    parser.add_argument(
        "--drive-seconds",
        type=positive_seconds,
        default=600.0,
        help="fail if sending every invocation takes longer",
    )
    args = parser.parse_args()
    config = Config(
        plans=args.plans,
        roles_per_plan=args.roles_per_plan,
        invocations=args.invocations,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        worker_kills=args.worker_kills,
        server_restarts=args.server_restarts,
        drive_seconds=args.drive_seconds,
    )
    with tempfile.TemporaryDirectory(prefix="roleteam-chaos-") as tmp:
        figures = asyncio.run(run_chaos(config, Path(tmp)))
    print(figures.table())
    print("OK" if figures.ok else "FAILED: " + ", ".join(figures.lost + figures.ran_twice + figures.stuck))
    hard_exit(0 if figures.ok else 1)


if __name__ == "__main__":
    main()
