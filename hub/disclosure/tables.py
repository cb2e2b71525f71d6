"""Tables of disclosures held for review and of coordinator overrides."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, String, Table, Text

from hub.storage.tables import TZ, metadata

__all__ = ["held_disclosures", "overrides"]

held_disclosures = Table(
    "held_disclosures",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("case_refs", Text, nullable=False),  # JSON list
    Column("meeting_id", String(26)),
    Column("override_id", String(26)),
    Column("sealed", LargeBinary, nullable=False),  # the built message, sealed to the hub itself
    Column("status", String(16), nullable=False),  # held, approved, rejected
    Column("requested_by", String(100), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("resolved_by", String(100)),
    Column("resolved_at", TZ),
    Column("envelope_id", String(26)),
    Index("ix_held_status", "status", "created_at"),
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("case_ref", String(40), nullable=False),
    Column("agency_id", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("fields", Text, nullable=False),  # JSON list of the widened field paths
    Column("justification", LargeBinary, nullable=False),  # under the case's own key
    Column("justification_sha256", String(64), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("created_at", TZ, nullable=False),
)
