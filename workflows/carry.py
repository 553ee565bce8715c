"""What a session hands to its next run, and how it is kept within one payload.

Pure and deterministic: used by the workflow at continue-as-new.
"""

from __future__ import annotations

import hashlib
import re

import roleteam.constants as c
from roleteam.models import CarriedState, ExecutionArtifact

_DIGEST = re.compile(r"[0-9a-f]{16}")


def digest(invocation_id: str) -> str:
    """The idempotency key as remembered: fixed size, whatever the id's length."""
    return hashlib.blake2b(invocation_id.encode(), digest_size=8).hexdigest()


def payload_bytes(model) -> int:
    """Size of a model as a JSON payload."""
    return len(model.model_dump_json().encode())


def fit_carry(state: CarriedState) -> None:
    """Trim what is merely convenient until the hand-over fits one payload.

    The queue, the idempotency ids and the memory are bounded on their own and never dropped;
    the trail is cut to its newest `MAX_TRAIL_BYTES` (older entries stay in the histories of the
    runs that received them), and carried artifacts go first when room is short (their turns stay
    readable with `roleteam history`).
    """
    while state.lifecycle and sum(payload_bytes(e) for e in state.lifecycle) > c.MAX_TRAIL_BYTES:
        state.lifecycle = state.lifecycle[1:]
    while payload_bytes(state) > c.MAX_CARRY_BYTES and state.recent_artifacts:
        state.recent_artifacts = state.recent_artifacts[1:]
    while payload_bytes(state) > c.MAX_CARRY_BYTES and state.recent_refusals:
        state.recent_refusals = state.recent_refusals[1:]


def refusals_to_carry(artifacts: list[ExecutionArtifact]) -> list[ExecutionArtifact]:
    """The newest refusals, slimmed, within `MAX_CARRIED_REFUSALS` and its byte bound (oldest first)."""
    carried: list[ExecutionArtifact] = []
    room = c.MAX_CARRIED_REFUSALS_BYTES
    for artifact in reversed(artifacts):
        if artifact.status != "refused":
            continue
        slim = artifact.model_copy(
            update={
                "prompt": artifact.prompt[: c.CARRIED_REFUSAL_PROMPT_CHARS],
                "reason": (artifact.reason or "")[: c.MAX_REASON_CHARS],
                "skills": None,
            }
        )
        size = payload_bytes(slim)
        if size > room or len(carried) >= c.MAX_CARRIED_REFUSALS:
            break
        room -= size
        carried.append(slim)
    return carried[::-1]


def bound_carry(state: CarriedState) -> list[str]:
    """Hold carried state to the bounds live state keeps, dropping what exceeds them.

    A session's own continue-as-new never exceeds them; this is the check that it really came
    from one. Returns a note per thing trimmed (empty when the state was within bounds).
    """
    notes: list[str] = []
    pending: list = []
    ids: set[str] = set()
    queued = 0
    for request in state.pending:
        size = payload_bytes(request)
        problems = request.problems()
        if problems or request.invocation_id in ids or len(pending) >= c.MAX_PENDING_INVOCATIONS:
            notes.append(
                f"queued invocation dropped ({'; '.join(problems) or 'duplicate or over the count'})"
            )
            continue
        if pending and queued + size > c.MAX_PENDING_BYTES:
            notes.append("queued invocation dropped (queue over its byte limit)")
            continue
        pending.append(request)
        ids.add(request.invocation_id)
        queued += size
    state.pending = pending
    seen = {k: v for k, v in state.seen.items() if _DIGEST.fullmatch(k)}
    if len(seen) > c.IDEMPOTENCY_WINDOW:
        seen = dict(list(seen.items())[-c.IDEMPOTENCY_WINDOW :])
    if len(seen) != len(state.seen):
        notes.append(f"{len(state.seen) - len(seen)} idempotency entries dropped")
    state.seen = seen
    turns = [
        t
        for t in state.recent_turns
        if len(t.prompt.encode()) <= c.MAX_PROMPT_BYTES and len(t.reply.encode()) <= c.MAX_REPLY_BYTES
    ]
    while turns and sum(payload_bytes(t) for t in turns) > c.MAX_RECENT_TURNS_BYTES:
        turns = turns[1:]
    if len(turns) != len(state.recent_turns):
        notes.append(f"{len(state.recent_turns) - len(turns)} recent turns dropped")
    state.recent_turns = turns
    if len(state.summary.encode()) > c.MAX_SUMMARY_BYTES:
        state.summary = state.summary.encode()[: c.MAX_SUMMARY_BYTES].decode(errors="ignore")
        notes.append("summary clipped")
    if len(state.lifecycle) > c.MAX_LIFECYCLE_EVENTS:
        state.lifecycle = state.lifecycle[-c.MAX_LIFECYCLE_EVENTS :]
        notes.append("trail clipped")
    for name in ("generation", "turns", "runs", "summarized_turns"):
        value = getattr(state, name)
        bounded = min(max(value, 1 if name in ("generation", "runs") else 0), c.MAX_TOKEN_COUNT)
        if bounded != value:
            setattr(state, name, bounded)
            notes.append(f"{name} out of range")
    if state.last_invocation_id is not None and not c.INVOCATION_ID_PATTERN.fullmatch(
        state.last_invocation_id
    ):
        state.last_invocation_id = None
    if state.compliance is not None and len(state.compliance) > 40:
        state.compliance = None
    artifacts = []
    room = c.CARRIED_ARTIFACTS_BYTES
    for artifact in reversed(state.recent_artifacts):
        size = payload_bytes(artifact)
        if size > room:
            notes.append("carried artifacts over their byte limit dropped")
            break
        room -= size
        artifacts.append(artifact)
    state.recent_artifacts = artifacts[::-1]
    refusals = refusals_to_carry([a for a in state.recent_refusals if a.status == "refused"])
    if len(refusals) != len(state.recent_refusals):
        notes.append("carried refusals over their bounds dropped")
    state.recent_refusals = refusals
    fit_carry(state)
    return notes
