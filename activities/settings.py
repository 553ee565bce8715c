"""Provider settings, read from the worker's environment (never from workflow history)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from roleteam.errors import InvalidInputError

PROVIDERS = ("echo", "openai")
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


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


def check_provider_settings() -> str:
    """Fail at worker start when the provider cannot work; else describe what it serves.

    Returns one line naming provider, model and base URL (never the key, nor credentials or a
    query string embedded in the URL), for the worker's log.
    """
    settings = ProviderSettings.from_env()
    if settings.provider == "echo":
        return "provider echo (offline, deterministic)"
    if not os.environ.get("OPENAI_API_KEY", "").strip():
        raise InvalidInputError(
            "OPENAI_API_KEY is not set: the openai provider needs it (any value for a local "
            "endpoint); set it, or use ROLETEAM_PROVIDER=echo"
        )
    raw_url = os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL
    url = urlsplit(raw_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidInputError(
            f"OPENAI_BASE_URL={safe_url(raw_url)!r} is not an http(s) URL; use e.g. {DEFAULT_OPENAI_BASE_URL}"
        )
    model = settings.model or DEFAULT_OPENAI_MODEL
    return f"provider openai, model {model} (a role's policy may name another), base URL {safe_url(raw_url)}"


def safe_url(raw: str) -> str:
    """`raw` without user:password@ and without a query string, for logs and messages."""
    try:
        url = urlsplit(raw)
        host = url.hostname or ""
        port = f":{url.port}" if url.port else ""
    except ValueError:
        return "(unparseable URL)"
    return urlunsplit((url.scheme, host + port, url.path, "", ""))
