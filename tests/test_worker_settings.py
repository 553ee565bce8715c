"""The worker checks its provider settings at start: a setting that cannot work stops it with one
line, and a working one is logged (provider, model, base URL) without the key."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from tests.helpers import ROLETEAM, ROOT, clean_env, run

WORKERS = pytest.mark.parametrize(
    "argv",
    [[sys.executable, str(ROOT / "worker.py")], [*ROLETEAM, "worker"]],
    ids=["python-worker.py", "roleteam-worker"],
)


NO_SETTINGS = ("TEMPORAL_", "ROLETEAM_", "OPENAI_")  # the worker sees only what a test sets


@WORKERS
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"ROLETEAM_PROVIDER": "bogus"}, "ROLETEAM_PROVIDER='bogus' is not a provider"),
        ({"ROLETEAM_PROVIDER": "openai"}, "OPENAI_API_KEY is not set"),
        (
            {"ROLETEAM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "localhost:8000"},
            "OPENAI_BASE_URL='localhost:8000' is not an http(s) URL",
        ),
        (
            {"ROLETEAM_ENCRYPTION_KEY_FILE": "/nonexistent/keys"},
            "ROLETEAM_ENCRYPTION_KEY_FILE='/nonexistent/keys' cannot be read",
        ),
    ],
    ids=["unknown-provider", "missing-key", "bad-base-url", "missing-key-file"],
)
async def test_worker_with_unworkable_settings_exits_with_one_line(argv, settings, named, tmp_path):
    # No server is reachable either: the provider check comes first, so it is what is reported.
    result = await run(argv, clean_env(NO_SETTINGS, TEMPORAL_ADDRESS="127.0.0.1:1", **settings), tmp_path)

    assert result.code == 1
    assert "Traceback" not in result.err + result.out
    assert len(result.err_lines) == 1, result.err
    assert named in result.err_lines[0]


async def test_worker_logs_provider_model_and_base_url_but_never_the_key(client, task_queue, tmp_path):
    env = clean_env(
        NO_SETTINGS,
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        ROLETEAM_TASK_QUEUE=task_queue,
        ROLETEAM_PROVIDER="openai",
        ROLETEAM_MODEL="some-model",
        OPENAI_API_KEY="sk-very-secret-key",
        OPENAI_BASE_URL="http://user:hunter2@127.0.0.1:9/v1?token=abc",
    )
    proc = await asyncio.create_subprocess_exec(
        *ROLETEAM,
        "worker",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    lines = []
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "".join(lines)
            lines.append(line)
            if "worker serving" in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = await proc.communicate()
    log = "".join(lines) + rest.decode()

    assert "provider openai, model some-model" in log
    assert "base URL http://127.0.0.1:9/v1" in log
    for secret in ("sk-very-secret-key", "hunter2", "token=abc"):
        assert secret not in log
    assert proc.returncode == 0
