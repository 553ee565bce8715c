"""Run a roleteam worker: `roleteam worker` (same as `python worker.py` in a checkout).

Connects with Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS,
API key; default localhost:7233) and serves the `roleteam` task queue until interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from roleteam.activities.settings import check_provider_settings
from roleteam.client import connect
from roleteam.exit import run_main
from roleteam.worker_runtime import build_worker


async def run_worker(address: str | None = None) -> None:
    serving = check_provider_settings()  # before connecting: a bad setting fails at once
    client = await connect(address)
    worker = build_worker(client, graceful_shutdown_timeout=timedelta(seconds=20))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    logging.getLogger("roleteam").info(
        "worker serving task queue %r on %s with %s; Ctrl-C stops it",
        worker.task_queue,
        client.service_client.config.target_host,
        serving,
    )
    await warn_on_short_retention(client)
    async with worker:  # on SIGINT/SIGTERM: stop polling, let running tasks finish, leave
        await stop.wait()
    logging.getLogger("roleteam").info("worker stopped")


async def warn_on_short_retention(client) -> None:
    """Closed runs hold a role's earlier turns; a short retention deletes them."""
    response = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    retention = response.config.workflow_execution_retention_ttl.ToTimedelta()
    if retention < timedelta(days=30):
        logging.getLogger("roleteam").warning(
            "namespace %r keeps closed runs for %s only: older turns of long-lived roles will "
            "expire from 'roleteam history'; raise it with 'temporal operator namespace update "
            "--namespace %s --retention 8760h'",
            client.namespace,
            retention,
            client.namespace,
        )


def serve(address: str | None = None) -> None:
    """Log to stderr and run a worker until Ctrl-C or SIGTERM (its normal end: exit 0)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run_worker(address))
    except KeyboardInterrupt:
        pass


def main() -> None:
    """`python worker.py`: errors are one line and exit codes as for `roleteam` (roleteam.exit)."""
    run_main(serve)


if __name__ == "__main__":
    main()
