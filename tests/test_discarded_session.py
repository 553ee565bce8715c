"""A session instance the SDK has discarded must not touch the workflow API when the garbage
collector closes its coroutine: it would raise outside a workflow loop (logged as an
unraisable exception) or add a command to another workflow whose loop happens to be running."""

from __future__ import annotations

import gc
import sys

from roleteam.workflows.role_session import RoleSession


def test_a_discarded_session_closed_outside_its_loop_publishes_nothing_and_raises_nothing(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda raised: seen.append(raised.exc_value))
    discarded = object.__new__(RoleSession)  # what the SDK leaves behind: no loop of its own

    async def suspended_turn() -> None:
        try:
            await _forever()
        finally:
            discarded._publish()  # as `_run_next`'s finally blocks do

    turn = suspended_turn()
    turn.send(None)  # suspended mid-turn, as an evicted session's coroutine is
    del turn
    gc.collect()  # closes it: GeneratorExit runs the finally outside any workflow loop
    assert seen == []


class _Forever:
    def __await__(self):
        yield


async def _forever() -> None:
    await _Forever()
