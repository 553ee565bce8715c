"""Each worker-side overhead lever measured alone, in process, without Temporal.

    python bench/levers.py [--n 200]

1. Policy parse cache (roleteam/policy_cache.py): the work of the `load_role_brief` activity
   with the cache emptied before every call (what every invocation paid before) and with it warm.
2. One long-lived HTTP client for the openai provider: `chat_completion` against the fake
   OpenAI-compatible server (tests/fake_openai.py, plain HTTP on localhost, one connection per
   request) with a new client per call (as before) and with the worker's shared client. Over TLS
   to a real endpoint the shared client also saves the handshake, so the gain there is larger.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a fresh clone

from roleteam import policy_cache  # noqa: E402
from roleteam.activities.brief import load_role_brief  # noqa: E402
from roleteam.activities.providers import openai_compat  # noqa: E402
from roleteam.models import RoleBriefInput  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402


async def timed(n: int, call, before=None) -> dict:
    samples = []
    for _ in range(n):
        if before is not None:
            await before()
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "mean_ms": round(statistics.fmean(samples), 3),
    }


async def policy_lever(n: int) -> dict:
    request = RoleBriefInput(
        plan_id="bench", role="developer", invocation_id="i", prompt="task 1 " + "x" * 193
    )

    async def brief() -> None:
        await load_role_brief(request)

    async def forget() -> None:
        policy_cache.clear()

    await brief()
    return {"parse_every_call": await timed(n, brief, forget), "cached": await timed(n, brief)}


async def client_lever(n: int) -> dict:
    server = FakeOpenAI().start()
    os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench-not-a-secret")
    messages = [{"role": "system", "content": "You are a bench."}, {"role": "user", "content": "x" * 200}]

    async def call() -> None:
        await openai_compat.chat_completion(messages, "fake-model", 30.0)

    async def new_client() -> None:
        for _, client in openai_compat._clients.values():
            await client.close()
        openai_compat._clients.clear()

    try:
        await call()
        return {
            "new_client_per_call": await timed(n, call, new_client),
            "shared_client": await timed(n, call),
        }
    finally:
        server.stop()


async def run(n: int) -> dict:
    return {"n": n, "policy_cache": await policy_lever(n), "http_client": await client_lever(n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.n)), indent=2), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
