"""Request ids: one per request, the caller's own if it is a short safe token.

The id is returned in the ``X-Request-Id`` response header and stamped on every log line
written while the request is handled, so an operator can follow one request through the
logs and a caller can quote it.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["HEADER", "current_request_id", "request_id_for", "request_id_scope"]

HEADER = "X-Request-Id"
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
_CURRENT: ContextVar[str | None] = ContextVar("marac_hub_request_id", default=None)


def request_id_for(incoming: str | None) -> str:
    """``incoming`` if it is 8-64 letters, digits, dots, dashes or underscores (starting
    with a letter or digit); otherwise a new random id (32 hex digits)."""
    if incoming and _SAFE.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)


@contextlib.contextmanager
def request_id_scope(request_id: str) -> Iterator[None]:
    """``request_id`` is the current one inside the block."""
    token = _CURRENT.set(request_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return _CURRENT.get()
