"""Leaving the process without the temporalio native runtime's exit-time abort.

The SDK's Rust runtime can abort the interpreter during finalisation ("PyGILState_Release ...
finalizing", exit 134/139). Every entry point flushes and leaves with os._exit once its work is
done, so scripts and CI never see a false failure.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def hard_exit(code: int) -> NoReturn:
    tracing = sys.modules.get("roleteam.tracing")
    if tracing is not None:  # buffered spans would be lost: os._exit skips atexit handlers
        tracing.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)
