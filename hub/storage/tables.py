"""The hub's tables (SQLAlchemy Core). Schema changes are Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["agencies", "agency_keys", "alerts", "metadata", "nonces", "outbox", "receipts", "users"]

metadata = MetaData()
TZ = DateTime(timezone=True)
SEQ = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys

users = Table(
    "users",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(255), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)

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

outbox = Table(
    "outbox",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("envelope_id", String(26), nullable=False, unique=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("case_ref", String(40)),
    Column("recipient_key", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("delivered_at", TZ),
    Column("sent_by", String(64)),
    Index("ix_outbox_pending", "agency_id", "status", "seq"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("envelope_id", String(26), ForeignKey("outbox.envelope_id"), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("stored_at", TZ, nullable=False),
    Column("receipt", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

nonces = Table(
    "nonces",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", TZ, nullable=False),
    Index("ix_nonces_seen", "seen_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("agency_id", String(64)),
    Column("envelope_id", String(26)),
    Column("created_at", TZ, nullable=False),
    Column("resolved_at", TZ),
    UniqueConstraint("kind", "envelope_id", name="uq_alerts_kind_envelope"),
)
