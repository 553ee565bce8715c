"""The session's id bookkeeping on its own (workflows/ledger.py): what it holds, what it lets go."""

from __future__ import annotations

from datetime import UTC, datetime

from roleteam.models import ExecutionArtifact
from roleteam.workflows.carry import digest, payload_bytes
from roleteam.workflows.ledger import ArtifactLedger, remember

AT = datetime(2026, 11, 25, tzinfo=UTC)


def artifact(invocation_id: str, status: str = "completed", reply: str = "ok") -> ExecutionArtifact:
    return ExecutionArtifact(
        plan_id="p",
        role="developer",
        workflow_id="role:p:developer",
        run_id="r",
        invocation_id=invocation_id,
        generation=1,
        status=status,
        mode="persistent",
        prompt="do it",
        reply=reply,
        started_at=AT,
        finished_at=AT,
        duration_ms=0,
    )


def test_unbounded_until_bound_keeps_every_artifact_in_order():
    ledger = ArtifactLedger(artifact(f"inv-{n}") for n in range(50))
    assert [a.invocation_id for a in ledger.values()] == [f"inv-{n}" for n in range(50)]
    assert ledger.get("inv-0").invocation_id == "inv-0"


def test_a_bounded_ledger_keeps_the_newest_and_says_which_it_let_go():
    ledger = ArtifactLedger()
    ledger.bound(max_count=10, max_bytes=10**9)
    for n in range(25):
        ledger.put(artifact(f"inv-{n}"))
    assert len(ledger) == 10
    assert [a.invocation_id for a in ledger.values()] == [f"inv-{n}" for n in range(15, 25)]
    assert ledger.get("inv-3") is None and ledger.dropped("inv-3")
    assert not ledger.dropped("inv-20") and not ledger.dropped("never-ran")


def test_the_byte_bound_counts_what_is_held_and_a_replaced_artifact_once():
    one = payload_bytes(artifact("inv-0", reply="x" * 1000))
    ledger = ArtifactLedger()
    ledger.bound(max_count=1000, max_bytes=one * 3)
    for n in range(6):
        ledger.put(artifact(f"inv-{n}", reply="x" * 1000))
    assert len(ledger) == 3 and ledger.held_bytes <= one * 3
    ledger.put(artifact("inv-5", status="failed", reply="x" * 1000))  # same id: replaced in place
    assert len(ledger) == 3 and ledger.get("inv-5").status == "failed"
    assert [a.invocation_id for a in ledger.values()] == ["inv-3", "inv-4", "inv-5"]


def test_pinned_artifacts_are_held_until_released_and_recording_again_undrops():
    ledger = ArtifactLedger()
    ledger.bound(max_count=2, max_bytes=10**9)
    ledger.put(artifact("unwritten"))
    for n in range(4):
        ledger.put(artifact(f"inv-{n}"), pinned=["unwritten"])
    assert ledger.get("unwritten") is not None  # a bundle file still to write keeps it
    ledger.put(artifact("inv-0"))  # ran again (a retry): held and no longer reported dropped
    assert ledger.get("inv-0") is not None and not ledger.dropped("inv-0")
    ledger.pop("inv-0")
    assert ledger.get("inv-0") is None


def test_remember_keeps_a_window_of_digests_with_their_status():
    seen: dict[str, str] = {}
    for n in range(8):
        remember(seen, f"inv-{n}", "completed", window=5)
    remember(seen, "inv-7", "failed", window=5)
    assert list(seen) == [digest(f"inv-{n}") for n in range(3, 8)]
    assert seen[digest("inv-7")] == "failed"
