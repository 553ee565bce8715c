"""Run a roleteam worker: `python worker.py` (same as `roleteam worker`).

Connects with Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS,
API key; default localhost:7233) and serves the `roleteam` task queue until interrupted.
"""

from __future__ import annotations

import asyncio
import logging

from roleteam.client import connect
from roleteam.errors import RoleteamError
from roleteam.exit import hard_exit
from roleteam.output import print_error
from roleteam.worker_runtime import build_worker


async def run_worker(address: str | None = None) -> None:
    client = await connect(address)
    worker = build_worker(client)
    logging.getLogger("roleteam").info(
        "worker serving task queue %r on %s; Ctrl-C stops it",
        worker.task_queue,
        client.service_client.config.target_host,
    )
    await worker.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = 0
    try:
        asyncio.run(run_worker())
    except KeyboardInterrupt:
        pass
    except RoleteamError as err:
        print_error(str(err))
        code = 1
    except Exception as err:  # e.g. an unknown namespace: still one line, no traceback
        print_error(f"{type(err).__name__}: {err}")
        code = 1
    hard_exit(code)


if __name__ == "__main__":
    main()
