"""Delivery: the transactional outbox and the mailbox transport."""

from hub.delivery.outbox import (
    Acknowledgement,
    acknowledge,
    expire,
    pending,
    queue_message,
)
from hub.delivery.waiters import Waiters

__all__ = ["Acknowledgement", "Waiters", "acknowledge", "expire", "pending", "queue_message"]
