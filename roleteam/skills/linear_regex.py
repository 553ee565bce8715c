"""Policy regexes run on RE2, a linear-time engine: no pattern can stall a worker on a prompt.

Python's `re` backtracks, so a policy pattern like `(a+)+$` takes exponential time on a short
prompt. RE2 never backtracks; patterns it cannot run (lookaround, backreferences) are refused
when the policy is loaded, naming the pattern.
"""

from __future__ import annotations

from functools import lru_cache

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the refusal carries the reason; no stray lines on stderr


def re2_problem(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern`, or None when it can."""
    try:
        compile_linear(pattern)
    except re2.error as err:
        reason = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else err
        return str(reason)
    return None


@lru_cache(maxsize=1024)
def compile_linear(pattern: str):
    """`pattern` compiled with RE2 (cached: policies are re-read for every invocation)."""
    return re2.compile(pattern, _OPTIONS)
