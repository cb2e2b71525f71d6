"""The agencies and their announced encryption keys."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, LargeBinary, String, Table, Text

from hub.storage.tables import TZ, metadata

__all__ = ["agencies", "agency_keys"]

agencies = Table(
    "agencies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("isp_version", String(32), nullable=False),
    Column("isp_signed_by", String(200), nullable=False),
    Column("isp_signed_on", Date, nullable=False),
    Column("enrol_code_hash", String(255)),
    Column("enrol_code_expires", TZ),
    Column("identity_key", LargeBinary),
    Column("identity_fingerprint", String(64), unique=True),
    Column("transport", String(16), nullable=False, server_default="mailbox"),
    Column("created_at", TZ, nullable=False),
    Column("enrolled_at", TZ),
    Column("approved_at", TZ),
    Column("approved_by", String(64)),
    Column("status_changed_at", TZ),
)

agency_keys = Table(
    "agency_keys",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("suite", String(64), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("announcement", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("registered_at", TZ, nullable=False),
    Column("revoked_at", TZ),
    Index("ix_agency_keys_agency", "agency_id", "created_at"),
)
