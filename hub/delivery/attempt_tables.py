"""Push delivery attempts (``delivery_attempts``), one row per attempt.

The dispatcher (:mod:`hub.delivery.push`) claims an envelope by inserting its next
attempt as ``sending`` with a lease; the row then records how the attempt ended
(``delivered``, ``failed`` with the time of the next try, or ``dead``). The unique
(envelope, attempt) pair means two processes can never both make attempt *n*. Details
are short and hold no personal data: status codes and error kinds.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from hub.storage.tables import SEQ, TZ, metadata

__all__ = ["delivery_attempts"]

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("envelope_id", String(26), ForeignKey("outbox.envelope_id"), nullable=False),
    Column("agency_id", String(64), nullable=False),
    Column("transport", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),  # sending, delivered, failed, dead
    Column("started_at", TZ, nullable=False),
    Column("lease_until", TZ),
    Column("finished_at", TZ),
    Column("retry_at", TZ),
    Column("detail", String(200)),
    UniqueConstraint("envelope_id", "attempt", name="uq_delivery_attempts_envelope_attempt"),
    Index("ix_delivery_attempts_agency", "agency_id", "started_at"),
)
