"""The chaos suite at CI size (bench/chaos.py): worker SIGKILLs, a dev server restart and a
misbehaving model endpoint, then every invocation accounted for from Temporal alone."""

from __future__ import annotations

from bench.chaos import Config, run_chaos


async def test_no_invocation_is_lost_or_run_twice_under_faults(tmp_path):
    config = Config(
        plans=1, roles_per_plan=3, invocations=24, concurrency=6, fault_rate=0.25, seed=3, worker_kills=1
    )
    figures = await run_chaos(config, tmp_path, log=lambda _: None)
    print(figures.table())

    assert (figures.worker_kills, figures.server_restarts) == (1, 1)
    assert sum(figures.faults.values()) > figures.faults["401 (one role)"] > 0
    assert figures.lost == []
    assert figures.ran_twice == []
    assert figures.not_in_transcript == []
    assert figures.stuck == []
    assert figures.workflow_task_failures == 0
    assert sum(figures.statuses.values()) == config.invocations
    # Every call of the second session answers 401: each of its invocations failed saying so.
    unauthorised = [i for i in figures.failures if i.startswith("s1/")]
    assert len(unauthorised) == config.invocations // 3
    assert all("HTTP 401" in figures.failures[i] for i in unauthorised)
