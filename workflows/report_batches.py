"""Which of a role session's plan reports go at once, and how they are cut into batches.

Pure functions (unit-tested in tests/test_report_batches.py). A session sends routine lineage
(a plain completed artifact) in batches, a `role_events` signal every second or every few dozen
artifacts; anything the plan acts on goes at once, with everything queued before it, in order.
"""

from __future__ import annotations

from roleteam.report_models import PlanDirective, RoleEvent, RoleSnapshot
from roleteam.workflows.carry import payload_bytes

# Invocation ids the plan dispatches itself: their artifacts move a finding along.
PLAN_DISPATCHED_PREFIXES = ("fix:", "clarify:")


def is_urgent(event: RoleEvent, directive: PlanDirective | None, before: RoleSnapshot | None) -> bool:
    """Whether the plan may act on this report (it goes at once) or it is routine lineage.

    At once: every lifecycle and `joined` report; the session's first turn (and, see any_urgent,
    each run's first completed artifact: a required role counts for the gate from then on); a
    report whose snapshot changes anything but the turn count against the report `before` it
    (status, generation, skill compliance: the gate reads them); an artifact whose reply
    submitted findings or decisions, answered a clarification, remediated a finding, or did not
    complete; and every artifact while the plan says a budget is near or past its limit (so
    usage is counted in time).
    """
    entry = event.entry
    if event.kind != "artifact" or entry is None or event.reply is not None or event.excerpt:
        return True
    if entry.status != "completed" or entry.invocation_id.startswith(PLAN_DISPATCHED_PREFIXES):
        return True
    if event.snapshot.turns <= 1 or before is None or _moved(before, event.snapshot):
        return True
    return directive is not None and bool(directive.budget_warning or directive.budget_refusal)


def any_urgent(
    outbox: list[RoleEvent],
    directive: PlanDirective | None,
    delivered: RoleSnapshot | None,
    first_completed_seq: int | None = None,
) -> bool:
    """Whether any queued report goes at once; `delivered` is the snapshot last delivered, and
    `first_completed_seq` the report of the run's first completed artifact (it goes at once even
    after failed turns: the gate waits for a required role's first completion)."""
    before = delivered
    for event in outbox:
        if event.seq == first_completed_seq or is_urgent(event, directive, before):
            return True
        before = event.snapshot
    return False


def _moved(before: RoleSnapshot, now: RoleSnapshot) -> bool:
    """Whether anything the gate reads changed (checked on every workflow activation: no dumps)."""
    return (before.status, before.generation, before.compliance, before.missing_required_skills) != (
        now.status,
        now.generation,
        now.compliance,
        now.missing_required_skills,
    )


def next_batch(
    outbox: list[RoleEvent], directive: PlanDirective | None, max_items: int, max_bytes: int
) -> list[RoleEvent]:
    """The reports to send next, from the head of `outbox`, in order.

    One report when the plan has not said it takes `role_events` (plans from before it know only
    `role_event`); else up to `max_items` within `max_bytes` (a larger single report goes alone).
    """
    if not outbox:
        return []
    if directive is None or not directive.takes_role_events:
        return outbox[:1]
    batch: list[RoleEvent] = []
    room = max_bytes
    for event in outbox[:max_items]:
        size = payload_bytes(event)
        if batch and size > room:
            break
        batch.append(event)
        room -= size
    return batch
