"""Decoding what arrives at a workflow from clients that may send anything.

Handlers take the raw JSON value (typed `Any`, so the SDK never fails a workflow task or drops a
message while decoding) and validate it here into the contract's model. A payload that does not
fit becomes a message naming the field, which the caller turns into a refusal or an
`ApplicationError`; nothing else is ever raised.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

MAX_PROBLEM_CHARS = 600


def parse_wire(model: type[M], raw: Any) -> M | str:
    """`raw` validated as `model`, or one line naming what is wrong with it.

    Unknown fields are ignored, as the contract promises (models only gain optional fields).
    """
    if isinstance(raw, model):
        return raw
    if raw is None:
        return f"no input: send a JSON object for {model.__name__}"
    if not isinstance(raw, dict):
        return f"input must be a JSON object for {model.__name__}, got {type(raw).__name__}"
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        return describe_validation_error(err)
    except (ValueError, TypeError, RecursionError) as err:  # a validator's own refusal
        return f"{type(err).__name__}: {err}"[:MAX_PROBLEM_CHARS]


def describe_validation_error(err: ValidationError) -> str:
    """`field.path: message (got value)` for each problem, on one bounded line."""
    parts = []
    for problem in err.errors()[:5]:
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        got = repr(problem.get("input"))
        if len(got) > 60:
            got = got[:57] + "..."
        parts.append(f"{where}: {message} (got {got})")
    return "; ".join(parts)[:MAX_PROBLEM_CHARS]


def raw_field(raw: Any, name: str, limit: int = 200) -> str | None:
    """A string field read from an undecodable payload (e.g. its invocation id), bounded."""
    if isinstance(raw, dict):
        value = raw.get(name)
        if isinstance(value, str) and 0 < len(value) <= limit:
            return value
    return None


def root_cause(err: BaseException) -> str:
    """The innermost failure message of an error chain (an activity or child workflow error):
    what actually went wrong."""
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__
