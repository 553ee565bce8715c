"""Payload encryption: with a key file set, Temporal holds no prompt, reply or skill text, and the
codec server decrypts payloads for the Web UI and the `temporal` CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request

import pytest
from temporalio.api.common.v1 import Payload

from roleteam.client import RoleTeam, connect
from roleteam.codec import KEY_FILE_ENV, load_key_file, new_key_line
from roleteam.codec_server import CodecServer
from roleteam.errors import InvalidInputError
from roleteam.history import read_transcript
from roleteam.worker_runtime import build_worker
from tests.helpers import ROLETEAM, artifact_when_ready, clean_env, run, temporal

PROMPT = "Migrate the PELICAN-7731 ledger without downtime."
SKILL_TEXT = b"Write a test for the next behaviour of the planned step"  # skills/test-first-development


def raw_bytes(history) -> bytes:
    """The history as Temporal stores it: payload data unencoded, no codec applied."""
    return b"".join(event.SerializeToString() for event in history.events)


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path = tmp_path / "keys"
    path.write_text(f"# roleteam keys\n{new_key_line('k2')}\n{new_key_line('k1')}\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    return path


async def test_encrypted_history_holds_no_prompt_reply_or_skill_text(
    client, task_queue, plan_id, fake_openai, key_file
):
    address = client.service_client.config.target_host
    encrypted = await connect(address)
    team = RoleTeam(encrypted, task_queue=task_queue)
    async with build_worker(encrypted, task_queue):
        artifact = await team.invoke(plan_id, "developer", team.request(PROMPT, "enc-1"))
        transcript = await read_transcript(encrypted, team.handle(plan_id, "developer").id)
    assert artifact.status == "completed" and PROMPT in artifact.reply
    assert transcript.turns[0].prompt == PROMPT  # roleteam's own clients decrypt

    # `client` has no codec: it sees what Temporal stores.
    history = await client.get_workflow_handle(team.handle(plan_id, "developer").id).fetch_history()
    stored = raw_bytes(history)
    assert b"binary/encrypted" in stored
    for secret in (PROMPT.encode(), b"PELICAN", b"fake reply", SKILL_TEXT, b"sk-test-not-a-secret"):
        assert secret not in stored, secret
    assert key_file.read_text().split()[-1].encode() not in stored  # nor any key

    # The codec server decodes those payloads over HTTP, with CORS for the Web UI.
    codec = load_key_file(key_file)
    server = CodecServer(codec, port=0).start()
    try:
        scheduled = [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
        call = next(
            e.activity_task_scheduled_event_attributes
            for e in scheduled
            if e.activity_task_scheduled_event_attributes.activity_type.name == "run_turn"
        )
        body = {
            "payloads": [
                {
                    "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                    "data": base64.b64encode(p.data).decode(),
                }
                for p in call.input.payloads
            ]
        }
        status, headers, answer = await asyncio.to_thread(
            post, f"{server.url}/decode", body, origin="http://localhost:8233"
        )
        assert status == 200
        assert headers["access-control-allow-origin"] == "http://localhost:8233"
        [decoded] = json.loads(answer)["payloads"]
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
        assert PROMPT in base64.b64decode(decoded["data"]).decode()

        preflight = await asyncio.to_thread(options, f"{server.url}/decode", "http://localhost:8233")
        assert "x-namespace" in preflight["access-control-allow-headers"]
        assert "POST" in preflight["access-control-allow-methods"]

        # The `temporal` CLI with --codec-endpoint shows the decrypted prompt.
        shown = await temporal(
            client,
            "workflow",
            "show",
            "--workflow-id",
            team.handle(plan_id, "developer").id,
            "--codec-endpoint",
            server.url,
        )
        assert shown.code == 0, shown.err
        assert PROMPT in payload_texts(json.loads(shown.out))

        # ... and encrypts what it sends: a raw client can drive an encrypted role.
        async with build_worker(encrypted, task_queue):
            sent = await temporal(
                client,
                "workflow",
                "signal",
                "--workflow-id",
                team.handle(plan_id, "developer").id,
                "--name",
                "invoke",
                "--input",
                json.dumps({"invocation_id": "enc-cli", "prompt": "From the CLI: OSPREY-55"}),
                "--codec-endpoint",
                server.url,
            )
            assert sent.code == 0, sent.err
            artifact = await artifact_when_ready(team, plan_id, "developer", "enc-cli")
        assert artifact.status == "completed" and "OSPREY-55" in artifact.reply
        later = await client.get_workflow_handle(team.handle(plan_id, "developer").id).fetch_history()
        assert b"OSPREY-55" not in raw_bytes(later)
    finally:
        server.stop()


async def test_rotated_keys_still_decrypt_and_unknown_keys_are_named(tmp_path):
    old = tmp_path / "old"
    old.write_text(new_key_line("2025-a") + "\n")
    rotated = tmp_path / "rotated"
    rotated.write_text(new_key_line("2026-b") + "\n" + old.read_text())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"prompt": "PELICAN"}')

    sealed_old = await load_key_file(old).encode([plain])
    codec = load_key_file(rotated)
    assert codec.active == "2026-b"
    assert await codec.decode(sealed_old) == [plain]
    sealed_new = await codec.encode([plain])
    assert sealed_new[0].metadata["encryption-key-id"] == b"2026-b"
    assert b"PELICAN" not in sealed_new[0].SerializeToString()
    with pytest.raises(ValueError, match="'2026-b', which is not in"):
        await load_key_file(old).decode(sealed_new)


def test_bad_key_files_are_named_by_file_and_line_without_the_key(tmp_path):
    path = tmp_path / "keys"
    path.write_text("k1 c2hvcnQ=\n")
    with pytest.raises(InvalidInputError, match=r"line 1: key 'k1' is 5 bytes") as err:
        load_key_file(path)
    assert "c2hvcnQ" not in str(err.value)
    path.write_text("just-one-field\n")
    with pytest.raises(InvalidInputError, match="line 1: write 'KEY_ID BASE64_KEY'"):
        load_key_file(path)


def payload_texts(node) -> str:
    """Every payload `data` in a proto-JSON document, base64-decoded, joined."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and "metadata" in node:
            found.append(base64.b64decode(node["data"]).decode(errors="replace"))
        found.extend(payload_texts(v) for v in node.values())
    elif isinstance(node, list):
        found.extend(payload_texts(v) for v in node)
    return "\n".join(found)


def post(url: str, body: dict, origin: str):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "origin": origin, "x-namespace": "default"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def options(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(url, headers={"origin": origin}, method="OPTIONS")
    with urllib.request.urlopen(request, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}


async def test_cli_without_the_key_file_says_the_payloads_are_encrypted(
    client, task_queue, plan_id, key_file, monkeypatch
):
    encrypted = await connect(client.service_client.config.target_host)
    team = RoleTeam(encrypted, task_queue=task_queue)
    async with build_worker(encrypted, task_queue):
        await team.invoke(plan_id, "developer", team.request(PROMPT, "enc-2"))
        env = clean_env(
            TEMPORAL_ADDRESS=client.service_client.config.target_host, ROLETEAM_TASK_QUEUE=task_queue
        )
        result = await run([*ROLETEAM, "history", plan_id, "developer"], env, key_file.parent)
    assert result.code == 1
    assert result.err_lines == [
        "error: the session's payloads are encrypted: set ROLETEAM_ENCRYPTION_KEY_FILE to the key "
        "file its workers use"
    ]
