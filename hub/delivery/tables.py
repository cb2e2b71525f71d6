"""Delivery's tables: the outbox of sealed envelopes, their receipts, the signed
requests' nonces, coordinators' alerts, leases on queued envelopes, push attempts and
per-agency delivery settings.

``outbox_claims`` (migration 0010): leases on queued envelopes, who was handed what and
until when.

A mailbox poll with ``lease`` > 0 claims the rows it hands out (``SELECT … FOR UPDATE
SKIP LOCKED`` on PostgreSQL, then an insert that only wins a row whose earlier claim has
ended), so two polls — in one hub process or in two — never hand out the same envelope
while its lease runs. A claimed row is handed out again once the lease ends without a
receipt: delivery stays at least once, receipts stay idempotent.

``delivery_attempts``: push delivery attempts, one row per attempt.

The dispatcher (:mod:`hub.delivery.push`) claims an envelope by inserting its next
attempt as ``sending`` with a lease; the row then records how the attempt ended
(``delivered``, ``failed`` with the time of the next try, or ``dead``). The unique
(envelope, attempt) pair means two processes can never both make attempt *n*. Details
are short and hold no personal data: status codes and error kinds.

``agency_delivery`` (migration 0009): per-agency delivery settings.

``agency_delivery`` holds, for an agency that is not on the defaults (``mailbox`` transport,
``json`` format), the transport and format chosen by ``marac-hub agency set-delivery`` and
the transport's settings (a JSON object, encrypted at rest with the hub's key-encryption
key by whoever writes it: it can hold SMTP credentials). An agency with no row here gets
the defaults.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "agency_delivery",
    "alerts",
    "delivery_attempts",
    "nonces",
    "outbox",
    "outbox_claims",
    "receipts",
]

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

outbox_claims = Table(
    "outbox_claims",
    metadata,
    Column("envelope_id", String(26), ForeignKey("outbox.envelope_id"), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("until", TZ, nullable=False),
    Index("ix_outbox_claims_until", "until"),
)

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
