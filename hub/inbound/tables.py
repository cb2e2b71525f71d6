"""The table of sealed messages received from agencies (idempotency and audit)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from hub.storage.tables import TZ, metadata

__all__ = ["inbound_messages"]

# One row per envelope an agency sent the hub and the hub handled: no payload, no names.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("envelope_id", String(26), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("case_ref", String(40)),
    Column("digest", String(64), nullable=False),  # SHA-256 of the envelope's wire bytes
    Column("received_at", TZ, nullable=False),
    Column("handled_at", TZ),
    Index("ix_inbound_agency", "agency_id", "received_at"),
)
