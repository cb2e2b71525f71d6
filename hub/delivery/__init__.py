"""Delivery: the outbox around the mailbox store, push delivery and the long-poll wake-ups."""

from hub.delivery.outbox import Acknowledgement, acknowledge, expire
from hub.delivery.waiters import Waiters

__all__ = ["Acknowledgement", "Waiters", "acknowledge", "expire"]
