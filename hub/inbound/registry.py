"""Handlers for sealed messages from agencies, registered by message type.

The code that owns a message's meaning registers one handler per type::

    from hub.inbound import handler

    @handler("research_response")
    async def handle(conn, ctx, agency, message, envelope_id, now) -> dict:
        ...

``POST /api/v1/messages`` calls it in the same transaction as the row recording the
envelope, so a handler that raises rolls both back. Only the types in
:data:`INBOUND_TYPES` may be registered: the others travel from the hub, not to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency
from hub.hub_keys import HubKeys
from hub.protocol.messages import ActionUpdate, Message, ResearchResponse
from hub.settings import Settings

__all__ = [
    "INBOUND_TYPES",
    "Handler",
    "InboundContext",
    "handler",
    "registered",
    "replaced",
    "unregister",
]

INBOUND_TYPES: Final = frozenset({ResearchResponse.message_type, ActionUpdate.message_type})


@dataclass(frozen=True, slots=True)
class InboundContext:
    """What a handler gets as ``ctx`` from the running hub."""

    keys: HubKeys
    settings: Settings
    now: datetime


Handler = Callable[
    [AsyncConnection, Any, Agency, Message, str, datetime], Awaitable[dict[str, Any]]
]
"""``handle(conn, ctx, agency, message, envelope_id, now) -> dict``; ``ctx`` is an
:class:`InboundContext`; the dict goes back to the client in the 202 answer."""

H = TypeVar("H", bound=Handler)
_HANDLERS: dict[str, Handler] = {}


def handler(message_type: str) -> Callable[[H], H]:
    """Register the decorated coroutine as the handler for ``message_type``.

    Registering a second, different handler for a type is a programming error
    (``ValueError``); registering the same function again is harmless.
    """
    if message_type not in INBOUND_TYPES:
        raise ValueError(f"the hub accepts no {message_type!r} from agencies")

    def register(function: H) -> H:
        current = _HANDLERS.get(message_type)
        if current is not None and current is not function:
            raise ValueError(f"a handler for {message_type!r} is already registered")
        _HANDLERS[message_type] = function
        return function

    return register


def registered(message_type: str) -> Handler | None:
    """The handler registered for ``message_type``, if any."""
    return _HANDLERS.get(message_type)


def unregister(message_type: str) -> Handler | None:
    """Remove (and return) the handler for ``message_type``; for tests and reloads."""
    return _HANDLERS.pop(message_type, None)


@contextmanager
def replaced(handlers: Mapping[str, Handler]) -> Iterator[None]:
    """Within the block, ``handlers`` (type -> handler) replace the registered ones;
    a type mapped to nothing here keeps its handler. For tests and integrators."""
    saved = {message_type: unregister(message_type) for message_type in handlers}
    try:
        for message_type, function in handlers.items():
            handler(message_type)(function)
        yield
    finally:
        for message_type, original in saved.items():
            unregister(message_type)
            if original is not None:
                _HANDLERS[message_type] = original
