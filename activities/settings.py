"""Provider settings, read from the worker's environment (never from workflow history)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from roleteam.errors import InvalidInputError

PROVIDERS = ("echo", "openai")
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class ProviderSettings:
    provider: str
    model: str | None

    @classmethod
    def from_env(cls) -> ProviderSettings:
        provider = os.environ.get("ROLETEAM_PROVIDER", "echo").strip().lower() or "echo"
        if provider not in PROVIDERS:
            raise InvalidInputError(
                f"ROLETEAM_PROVIDER={provider!r} is not a provider; use one of {', '.join(PROVIDERS)}"
            )
        return cls(provider=provider, model=os.environ.get("ROLETEAM_MODEL") or None)
