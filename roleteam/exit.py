"""How every roleteam entry point ends: a documented exit code, one line per error, then os._exit.

`run_main` wraps the body of every entry point (the `roleteam` command, `python worker.py`), so
each turns the same failures into the same line on stderr (`error: ...`, naming the problem and
the fix) and the same exit code. `error_message` is also how `roleteam mcp` words a tool error.

Exit codes (README.md "Exit codes" explains them with examples; a test keeps the two in step):

- 0: done;
- 1: an error to act on: a bad value, an unknown role, plan or team, no session yet, a policy
  error, Temporal unreachable or refusing the request, a worker that cannot start;
- 2: the command line itself: an unknown command or option, a missing argument;
- 3: the command ran and the answer is no: an invocation refused or failed, a blocked gate, a
  refused completion;
- 130: interrupted (Ctrl-C) while waiting; what was already sent to Temporal goes on.

Commands that serve until stopped (`worker`, `server`, `codec-server`, `watch`) stop on Ctrl-C or
SIGTERM as their normal end, with 0.

Leaving with `os._exit`: the SDK's Rust runtime can abort the interpreter during finalisation
("PyGILState_Release ... finalizing", exit 134/139), so scripts and CI would see a false failure.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_ERROR: "an error to act on",
    EXIT_USAGE: "the command line itself is wrong",
    EXIT_REFUSED: "the command ran and the answer is no",
    EXIT_INTERRUPTED: "interrupted",
}
"""Every exit code an entry point uses, as README.md's "Exit codes" table names them."""

INTERRUPTED = "interrupted before the command finished; what was already sent to Temporal goes on"
ENCRYPTED = (
    "the session's payloads are encrypted: set ROLETEAM_ENCRYPTION_KEY_FILE to the key file its workers use"
)


def error_message(err: BaseException) -> str:
    """The line a user sees for `err`: what was wrong and how to fix it (not yet folded to one line)."""
    from pydantic import ValidationError
    from temporalio.service import RPCError, RPCStatusCode

    from roleteam.errors import RoleteamError, format_validation_error

    if isinstance(err, RoleteamError):
        return str(err)
    if isinstance(err, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(err, ValidationError):
        return format_validation_error(err)
    if "binary/encrypted" in str(err):
        return ENCRYPTED
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.UNAVAILABLE:
            return (
                f"lost the connection to Temporal ({err.message}); check the server is up "
                "('roleteam server') and TEMPORAL_ADDRESS names it"
            )
        return f"Temporal refused the request: {err.message}"
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return f"{type(err).__name__}: {err}"


def exit_code_for(err: BaseException) -> int:
    """The exit code for a failure: a RoleteamError's own `exit_code`, 130 for Ctrl-C, else 1."""
    from roleteam.errors import RoleteamError

    if isinstance(err, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return err.exit_code if isinstance(err, RoleteamError) else EXIT_ERROR


def run_main(body: Callable[[], int | None], *, json_errors: bool = False) -> NoReturn:
    """Run an entry point's `body` and leave with its exit code (None counts as 0).

    A failure becomes one line `error: ...` on stderr and its exit code (see the table above);
    with `json_errors` (a command given `--json`) it is also printed on stdout as
    `{"error": ..., "exit_code": ...}`, so a script reading stdout always gets JSON. Nothing
    reaches the user as a traceback.
    """
    from roleteam.output import print_error, print_json

    message = None
    try:
        code = body() or EXIT_OK
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (EXIT_OK if exit_.code is None else EXIT_ERROR)
    except (Exception, KeyboardInterrupt) as err:  # the one place that reports them
        message, code = error_message(err), exit_code_for(err)
    if message is not None:
        print_error(message)
        if json_errors:
            print_json({"error": " ".join(message.split()), "exit_code": code})
    hard_exit(code)


def hard_exit(code: int) -> NoReturn:
    """Flush stdout, stderr, logs and buffered trace spans, then leave with `os._exit(code)`."""
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
