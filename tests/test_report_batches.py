"""Which plan reports a role session sends at once, and how the rest are batched
(workflows/report_batches.py; the workflow side is tested in tests/test_plan_reporting.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from roleteam import constants as c
from roleteam.report_models import (
    LineageEntry,
    PlanDirective,
    ReplyFindings,
    RoleEvent,
    RoleSnapshot,
    SubmittedFinding,
)
from roleteam.workflows.carry import payload_bytes
from roleteam.workflows.report_batches import any_urgent, is_urgent, next_batch

NOW = datetime(2026, 11, 25, tzinfo=UTC)
TAKES_BATCHES = PlanDirective(takes_role_events=True)


def report(
    seq: int,
    kind: str = "artifact",
    invocation_id: str | None = None,
    status: str = "completed",
    snapshot: RoleSnapshot | None = None,
    **fields,
):
    """A report of the session's turn seq + 2 (so not its first), unchanged but for turns."""
    entry = None
    if kind == "artifact":
        entry = LineageEntry(
            invocation_id=invocation_id or f"inv-{seq}",
            role="developer",
            status=status,
            started_at=NOW,
            finished_at=NOW,
        )
    return RoleEvent(
        plan_id="p",
        role="developer",
        seq=seq,
        kind=kind,
        snapshot=snapshot or RoleSnapshot(turns=seq + 2),
        entry=entry,
        at=NOW,
        **fields,
    )


BEFORE = RoleSnapshot(turns=1)


def test_a_plain_completed_artifact_is_routine():
    assert not is_urgent(report(1), None, BEFORE)
    assert not is_urgent(report(1), TAKES_BATCHES, BEFORE)
    assert not any_urgent([report(n) for n in range(5)], None, BEFORE)


def test_the_first_completed_artifact_and_any_change_the_gate_reads_go_at_once():
    assert is_urgent(report(1, snapshot=RoleSnapshot(turns=1)), None, RoleSnapshot(turns=0))
    assert is_urgent(report(1), None, None)  # nothing delivered yet in this run
    assert is_urgent(report(1, snapshot=RoleSnapshot(turns=5, compliance="missing")), None, BEFORE)
    assert is_urgent(report(1, snapshot=RoleSnapshot(turns=5, generation=2)), None, BEFORE)
    # The change is judged against the report before it in the queue, not only the delivered one.
    moved = [report(1), report(2, snapshot=RoleSnapshot(turns=6, compliance="waived"))]
    assert any_urgent(moved, None, BEFORE)


def test_what_the_plan_acts_on_goes_at_once():
    finding = SubmittedFinding(title="t", severity="high", description="d")
    assert is_urgent(report(1, kind="joined"), None, BEFORE)
    assert is_urgent(report(1, kind="lifecycle"), None, BEFORE)
    assert is_urgent(report(1, reply=ReplyFindings(findings=[finding])), None, BEFORE)
    assert is_urgent(report(1, invocation_id="clarify:F-0001:q1", excerpt="the answer"), None, BEFORE)
    assert is_urgent(report(1, invocation_id="fix:F-0001:r1"), None, BEFORE)
    assert is_urgent(report(1, status="failed"), None, BEFORE)
    assert is_urgent(report(1, status="refused"), None, BEFORE)


def test_every_artifact_goes_at_once_while_a_budget_is_near_its_limit():
    assert is_urgent(report(1), PlanDirective(budget_warning="80% used"), BEFORE)
    assert is_urgent(report(1), PlanDirective(budget_refusal="used up"), BEFORE)


def test_a_plan_that_never_said_it_takes_batches_gets_one_report_at_a_time():
    outbox = [report(n) for n in range(5)]
    assert next_batch(outbox, None, 64, 1 << 20) == outbox[:1]
    assert next_batch(outbox, PlanDirective(), 64, 1 << 20) == outbox[:1]
    assert next_batch([], TAKES_BATCHES, 64, 1 << 20) == []


def test_batches_keep_order_and_their_bounds():
    outbox = [report(n) for n in range(100)]
    batch = next_batch(outbox, TAKES_BATCHES, c.MAX_REPORTS_PER_BATCH, c.MAX_REPORT_BATCH_BYTES)
    assert [e.seq for e in batch] == list(range(c.MAX_REPORTS_PER_BATCH))
    size = payload_bytes(outbox[0])
    batch = next_batch(outbox, TAKES_BATCHES, 64, 3 * size)
    assert [e.seq for e in batch] == [0, 1, 2]


def test_a_report_larger_than_a_batch_goes_alone():
    big = report(
        0, reply=ReplyFindings(findings=[SubmittedFinding(title="t", severity="low", description="x" * 4000)])
    )
    outbox = [big, report(1)]
    assert next_batch(outbox, TAKES_BATCHES, 64, 100) == [big]
    assert next_batch(outbox[1:], TAKES_BATCHES, 64, 100) == [outbox[1]]
