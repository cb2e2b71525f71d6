"""Request ids: one per request, the caller's own if it is a short safe token.

The id is returned in the ``X-Request-Id`` response header and stamped on every log line
written while the request is handled, so an operator can follow one request through the
logs and a caller can quote it. The request's concrete path and its route's template are
kept beside it, so that a log line never names the path (which can hold a case
reference or a member of staff's name), only the template.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["HEADER", "RequestInfo", "current_request", "request_id_for", "request_scope"]

HEADER = "X-Request-Id"
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The request being handled: its id, its concrete path and its route's template."""

    id: str
    path: str
    route: str


_CURRENT: ContextVar[RequestInfo | None] = ContextVar("marac_hub_request", default=None)


def request_id_for(incoming: str | None) -> str:
    """``incoming`` if it is 8-64 letters, digits, dots, dashes or underscores (starting
    with a letter or digit); otherwise a new random id (32 hex digits)."""
    if incoming and _SAFE.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)


@contextlib.contextmanager
def request_scope(info: RequestInfo) -> Iterator[None]:
    """``info`` is the request being handled inside the block."""
    token = _CURRENT.set(info)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_request() -> RequestInfo | None:
    """The request being handled, if any."""
    return _CURRENT.get()
