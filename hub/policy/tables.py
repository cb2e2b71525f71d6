"""The policy's tables: lawful-basis records, ISP versions and agencies' ISP signatures."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from hub.storage.tables import SEQ, TZ, metadata

__all__ = ["isp_signatures", "isp_versions", "lawful_bases"]

lawful_bases = Table(
    "lawful_bases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("art6", String(16), nullable=False),
    Column("art9", String(200)),
    Column("art10", String(200)),
    Column("dpa_schedule1", String(200)),
    Column("gateway", String(200)),
    Column("purposes", Text, nullable=False),  # JSON list
    Column("data_categories", Text, nullable=False),  # JSON list
    Column("created_at", TZ, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("retired_at", TZ),
    Column("retired_by", String(64)),
)

isp_versions = Table(
    "isp_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("document_sha256", String(64)),
    Column("published_at", TZ, nullable=False),
    Column("published_by", String(64), nullable=False),
)

isp_signatures = Table(
    "isp_signatures",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("version", String(32), ForeignKey("isp_versions.version"), nullable=False),
    Column("signed_by", String(200), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("recorded_at", TZ, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Index("ix_isp_signatures_agency", "agency_id", "id"),
)
