"""Delivery: the outbox around the mailbox store, push delivery and the long-poll wake-ups."""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.delivery.outbox import Acknowledgement, acknowledge, expire
    from hub.delivery.waiters import Waiters

__all__ = ["Acknowledgement", "Waiters", "acknowledge", "expire"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Acknowledgement": "outbox",
        "acknowledge": "outbox",
        "expire": "outbox",
        "Waiters": "waiters",
    },
)
