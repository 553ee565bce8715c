"""Parse a policy file once per process; parse it again only when its bytes change.

Parsing `roles.yaml` and `skills.yaml` (YAML plus pydantic validation) was most of the CPU of
every invocation. The file is still read and hashed on every load, so an edit takes effect at the
next invocation, and a cached model is returned only when the bytes just read hash to the same
sha256 the model records: the evidence always names exactly the content that was used.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Protocol, TypeVar

# A worker reads a handful of policy files; tests and `policy check` may read many more.
MAX_ENTRIES = 64


class _Hashed(Protocol):
    sha256: str


M = TypeVar("M", bound=_Hashed)

_entries: OrderedDict[tuple, tuple[str, object]] = OrderedDict()
_lock = threading.Lock()  # policy loads may run in the activity thread pool


def file_sha256(path: Path) -> str | None:
    """The sha256 of the file's bytes, or None when it cannot be read (the loader will say why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_cached(kind: str, path: Path, depends_on: tuple[Hashable, ...], load: Callable[[], M]) -> M:
    """`load()`'s model for the file's current content, parsing only when the content changed.

    Args:
        kind: What the file is (part of the key, so one path never serves two loaders).
        path: The policy file.
        depends_on: Everything else the parse depends on (e.g. the role registry's sha256).
        load: Reads and parses the file; its model's `sha256` is the hash of the bytes it read.

    Raises:
        Whatever `load` raises (a broken file is parsed, and fails, every time).
    """
    key = (kind, str(path), *depends_on)
    current = file_sha256(path)
    with _lock:
        hit = _entries.get(key)
        if hit is not None and current is not None and hit[0] == current:
            _entries.move_to_end(key)
            return hit[1]  # type: ignore[return-value]
    model = load()
    with _lock:
        _entries[key] = (model.sha256, model)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return model


def clear() -> None:
    """Forget every parsed policy (the next load of each file parses it again)."""
    with _lock:
        _entries.clear()
