"""The plan bundle on disk: every invocation's artifact, and the plan's roster, findings and
lineage, as JSON files an auditor can read without Temporal.

Layout under the root (`$ROLETEAM_BUNDLE_DIR`, default `~/.roleteam/plans`):

    <plan_id>/plan.json                              the plan's state (PlanState)
    <plan_id>/roster.json, findings.json, lineage.json
    <plan_id>/roles/<role>/<turn>-<invocation_id>.json   one artifact per invocation
    <plan_id>/roles/<role>/transcript.json           (`roleteam plan export` only)

Writes are atomic (temp file, fsync, rename) and idempotent; ids are encoded into safe file
names and every path is checked to stay inside the root, whatever the ids hold.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from roleteam.errors import InvalidInputError

BUNDLE_DIR_ENV = "ROLETEAM_BUNDLE_DIR"
DEFAULT_BUNDLE_DIR = Path("~/.roleteam/plans")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def bundle_root() -> Path | None:
    """The configured root, or None when bundles are off (`ROLETEAM_BUNDLE_DIR=off`)."""
    configured = os.environ.get(BUNDLE_DIR_ENV, "").strip()
    if configured.lower() in ("off", "none", "0", "false"):
        return None
    return Path(configured or DEFAULT_BUNDLE_DIR).expanduser()


def safe_name(value: str) -> str:
    """A file name for an id: anything but letters, digits, '.', '_', '-' is %-encoded, and a
    leading dot is too, so no id becomes a path, a hidden file, '.' or '..'."""
    encoded = UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded[:200] or "%00"


def confined(root: Path, *parts: str) -> Path:
    """`root/parts…` with each part made safe, refused if it would leave the root."""
    base = root.resolve()
    path = base.joinpath(*(safe_name(p) for p in parts))
    if not path.resolve().is_relative_to(base):
        raise InvalidInputError(f"bundle path {path} would leave {base}")
    return path


def write_json(path: Path, value: Any) -> Path:
    """Write `value` as JSON atomically: a reader sees the old file or the new one, never half."""
    if _replace(path, value):
        _sync_directory(path.parent)
    return path


def write_json_many(items: list[tuple[Path, Any]]) -> list[Path]:
    """write_json for several files, syncing each directory once (a batch of artifacts)."""
    changed = {path.parent for path, value in items if _replace(path, value)}
    for directory in changed:
        _sync_directory(directory)
    return [path for path, _ in items]


def _replace(path: Path, value: Any) -> bool:
    """Write the file's new bytes (temp file, fsync, rename); False when it already held them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(_plain(value), indent=2, ensure_ascii=False, sort_keys=False).encode()
    if _holds(path, data):
        return False  # the plan rewrites its files on every change; most of them did not change
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


def _sync_directory(directory: Path) -> None:
    """Make the renames in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` already holds exactly `data` (a cheap size check first)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def artifact_path(root: Path, artifact) -> Path:
    """Where one invocation's artifact lives: `<plan>/roles/<role>/<turn>-<id>.json`."""
    slot = f"{artifact.turn:06d}" if artifact.turn is not None else artifact.status
    return confined(root, artifact.plan_id, "roles", artifact.role, f"{slot}-{artifact.invocation_id}.json")


def write_artifact(root: Path, artifact) -> Path:
    return write_json(artifact_path(root, artifact), artifact)


def write_artifacts(root: Path, artifacts: list) -> list[Path]:
    return write_json_many([(artifact_path(root, artifact), artifact) for artifact in artifacts])


def write_plan(root: Path, state) -> list[Path]:
    """The plan's own files: its whole state, and roster, findings and lineage on their own."""
    base = (state.plan_id,)
    return [
        write_json(confined(root, *base, "plan.json"), state),
        write_json(confined(root, *base, "roster.json"), state.roster),
        write_json(confined(root, *base, "findings.json"), state.findings),
        write_json(confined(root, *base, "lineage.json"), state.lineage),
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
