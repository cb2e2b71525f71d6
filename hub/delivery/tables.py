"""Per-agency delivery settings (migration 0009).

``agency_delivery`` holds, for an agency that is not on the defaults (``mailbox`` transport,
``json`` format), the transport and format chosen by ``marac-hub agency set-delivery`` and
the transport's settings (a JSON object, encrypted at rest with the hub's key-encryption
key by whoever writes it: it can hold SMTP credentials). An agency with no row here gets
the defaults.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table

from hub.storage.tables import TZ, metadata

__all__ = ["agency_delivery"]

agency_delivery = Table(
    "agency_delivery",
    metadata,
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
    Column("transport", String(32), nullable=False),
    Column("format", String(32), nullable=False),
    Column("config", LargeBinary),  # encrypted JSON object of transport settings, or NULL
    Column("updated_at", TZ, nullable=False),
    Column("updated_by", String(64)),
)
