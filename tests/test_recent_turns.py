"""The worker's hold of recent turns (activities/turn.py RecentTurns): a reference resolves only
to the very turn it names, and what is held stays bounded."""

from __future__ import annotations

from roleteam.activities.turn import RecentTurns
from roleteam.models import Turn, TurnRef, TurnSpan, span_digest, text_digest, turn_digest


def turn(n: int, reply: str = "ok") -> Turn:
    return Turn(turn=n, invocation_id=f"inv-{n}", prompt=f"step {n}", reply=reply)


def ref(t: Turn) -> TurnRef:
    return TurnRef(turn=t.turn, invocation_id=t.invocation_id, digest=turn_digest(t))


def test_references_resolve_to_the_held_turns_in_the_order_named():
    held = RecentTurns()
    held.hold("role:p:developer", [turn(1), turn(2), turn(3)])
    assert held.resolve("role:p:developer", [ref(turn(2)), ref(turn(3))]) == [turn(2), turn(3)]
    assert held.resolve("role:p:developer", []) == []


def test_a_reference_to_other_content_another_session_or_a_missing_turn_resolves_to_none():
    held = RecentTurns()
    held.hold("role:p:developer", [turn(1), turn(2)])
    assert held.resolve("role:p:developer", [ref(turn(2, reply="different"))]) is None
    assert held.resolve("role:p:lead", [ref(turn(1))]) is None
    assert held.resolve("role:p:developer", [ref(turn(1)), ref(turn(4))]) is None


def test_least_recently_used_sessions_go_first_past_the_bounds():
    held = RecentTurns(max_sessions=2, max_bytes=10**6)
    held.hold("a", [turn(1)])
    held.hold("b", [turn(1)])
    assert held.resolve("a", [ref(turn(1))])  # "a" is now the most recently used
    held.hold("c", [turn(1)])
    assert held.resolve("b", [ref(turn(1))]) is None
    assert held.resolve("a", [ref(turn(1))]) and held.resolve("c", [ref(turn(1))])

    small = RecentTurns(max_sessions=100, max_bytes=50)
    small.hold("a", [turn(1, reply="x" * 30)])
    small.hold("b", [turn(1, reply="x" * 30)])
    assert small.resolve("a", [ref(turn(1, reply="x" * 30))]) is None
    assert small.resolve("b", [ref(turn(1, reply="x" * 30))]) is not None


def test_a_span_names_the_held_turns_from_its_first_by_one_digest_gaps_and_all():
    held = RecentTurns()
    kept = [turn(1), turn(2), turn(4), turn(5)]  # turn 3 failed: it never entered the context
    held.hold("s", kept)
    assert held.resolve_span("s", TurnSpan(first_turn=2, count=3, digest=span_digest(kept[1:]))) == kept[1:]
    assert held.resolve_span("s", TurnSpan(first_turn=2, count=3, digest=span_digest(kept[:3]))) is None
    assert held.resolve_span("s", TurnSpan(first_turn=2, count=4, digest=span_digest(kept[1:]))) is None
    assert held.resolve_span("other", TurnSpan(first_turn=1, count=1, digest=span_digest(kept[:1]))) is None


def test_a_summary_resolves_only_by_the_digest_of_the_one_held_and_stays_bounded():
    held = RecentTurns(max_sessions=2, max_bytes=100)
    held.hold_summary("a", "older turns, folded")
    assert held.summary("a", text_digest("older turns, folded")) == "older turns, folded"
    assert held.summary("a", text_digest("a newer summary")) is None
    assert held.summary("b", text_digest("older turns, folded")) is None
    held.hold_summary("a", "a newer summary")  # replaces the older one
    assert held.summary("a", text_digest("older turns, folded")) is None
    held.hold_summary("b", "b")
    held.hold_summary("c", "c")  # past max_sessions: "a", the least recently used, goes
    assert held.summary("a", text_digest("a newer summary")) is None
    held.hold_summary("d", "x" * 101)  # past max_bytes on its own: not kept
    assert held.summary("d", text_digest("x" * 101)) is None
