"""The workflow sandbox runner roleteam's workers use: the SDK's, minus a per-payload toll.

The SDK (temporalio 1.35) asks the sandboxed workflow instance for a serialization context and
an external-store context for every payload of every activation completion, live and in replay.
Each ask compiles a small code string and enters the sandbox's import guard around it, though
the answer is plain data read from the workflow's info and its pending commands (no import, no
workflow code). In a profile of a 949-event replay, those asks were about half of the time spent
handling activations, and 97 % of each ask was the compile and the guard.

`FastContextSandboxedRunner` answers those two asks from the in-sandbox instance directly, and
caches the compiled code of the strings the sandbox runs. Workflow code itself still runs inside
the sandbox, under its guard, exactly as before. It relies on the SDK's private `_Instance`; when
an SDK release no longer has the parts it needs, it falls back to the SDK's own runner unchanged
(`fast_contexts_available` says which is in use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.worker import WorkflowInstance
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

try:  # the SDK's private sandbox instance; absent or changed in a future release
    from temporalio.worker.workflow_sandbox._runner import _Instance as _SdkInstance
except ImportError:  # pragma: no cover - depends on the installed SDK
    _SdkInstance = None

_IN_SANDBOX = "__temporal_in_sandbox"
_COMPILED: dict[str, Any] = {}  # code strings the sandbox runs: a handful, fixed by the SDK
_MAX_COMPILED = 64  # one import string per workflow type, plus the SDK's few calls


# Whether the installed SDK has the parts the fast instance overrides (decided once, at import).
_FAST_PARTS = _SdkInstance is not None and all(
    callable(getattr(_SdkInstance, name, None))
    for name in ("_run_code", "get_serialization_context", "get_external_store_context")
)


def fast_contexts_available() -> bool:
    """Whether workers run the fast-context sandbox (False: the SDK's own, on an SDK that changed)."""
    return _FAST_PARTS


if _FAST_PARTS:

    class _FastContextInstance(_SdkInstance):  # type: ignore[misc, valid-type]
        """The SDK's sandboxed instance, answering payload contexts without entering the sandbox."""

        def _run_code(self, code: str, **extra_globals: Any) -> None:
            compiled = _COMPILED.get(code)
            if compiled is None:
                compiled = compile(code, "<string>", "exec")  # as exec(code) names it
                if len(_COMPILED) < _MAX_COMPILED:
                    _COMPILED[code] = compiled
            super()._run_code(compiled, **extra_globals)  # exec takes code objects as well

        def _in_sandbox_instance(self):
            in_sandbox = self.globals_and_locals.get(_IN_SANDBOX)
            return getattr(in_sandbox, "instance", None)

        def get_serialization_context(self, command_info):
            instance = self._in_sandbox_instance()
            if instance is None:
                return super().get_serialization_context(command_info)
            return instance.get_serialization_context(command_info)

        def get_external_store_context(self, command_info):
            instance = self._in_sandbox_instance()
            if instance is None:
                return super().get_external_store_context(command_info)
            return instance.get_external_store_context(command_info)


@dataclass(frozen=True)
class FastContextSandboxedRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances answer payload contexts without the sandbox toll."""

    def create_instance(self, det) -> WorkflowInstance:
        """Implements `WorkflowRunner.create_instance` (the SDK's own when the fast one is unavailable)."""
        if not _FAST_PARTS:
            return super().create_instance(det)
        return _FastContextInstance(det, self.runner_class, self.restrictions)
