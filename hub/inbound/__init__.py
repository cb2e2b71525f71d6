"""Sealed messages from agencies to the hub: research responses and action updates.

``registry`` holds the handler for each accepted message type (``@handler(type)``);
``receive`` opens an envelope, checks who sent it and hands it to its handler in one
transaction with the row that makes it idempotent (``tables.inbound_messages``).
"""

from hub.inbound.registry import (
    INBOUND_TYPES,
    Handler,
    InboundContext,
    handler,
    registered,
    replaced,
    unregister,
)

__all__ = [
    "INBOUND_TYPES",
    "Handler",
    "InboundContext",
    "handler",
    "registered",
    "replaced",
    "unregister",
]
