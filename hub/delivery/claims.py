"""Leases on queued envelopes (migration 0010): who was handed what, until when.

A mailbox poll with ``lease`` > 0 claims the rows it hands out (``SELECT … FOR UPDATE
SKIP LOCKED`` on PostgreSQL, then an insert that only wins a row whose earlier claim has
ended), so two polls — in one hub process or in two — never hand out the same envelope
while its lease runs. A claimed row is handed out again once the lease ends without a
receipt: delivery stays at least once, receipts stay idempotent.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from hub.storage.tables import TZ, metadata

__all__ = ["outbox_claims"]

outbox_claims = Table(
    "outbox_claims",
    metadata,
    Column("envelope_id", String(26), ForeignKey("outbox.envelope_id"), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("until", TZ, nullable=False),
    Index("ix_outbox_claims_until", "until"),
)
