"""What a session hands to its next run, and how it is kept within one payload.

Pure and deterministic: used by the workflow at continue-as-new.
"""

from __future__ import annotations

import hashlib

from roleteam import constants as c
from roleteam.models import CarriedState


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
