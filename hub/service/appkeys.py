"""The application's typed keys (they live in ``hub.http.appkeys``, shared with the web UI)."""

from hub.http.appkeys import (
    CHECKER,
    ENGINE,
    KEYS,
    NOTICES,
    POLICY,
    RUNTIME,
    SETTINGS,
    TOKENS,
    WAITERS,
)

__all__ = [
    "CHECKER",
    "ENGINE",
    "KEYS",
    "NOTICES",
    "POLICY",
    "RUNTIME",
    "SETTINGS",
    "TOKENS",
    "WAITERS",
]
