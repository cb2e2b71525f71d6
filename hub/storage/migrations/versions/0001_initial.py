"""Initial schema: staff, agencies and their keys, outbox, receipts, nonces, alerts.

Revision ID: 0001

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "users",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("isp_version", sa.String(length=32), nullable=False),
        sa.Column("isp_signed_by", sa.String(length=200), nullable=False),
        sa.Column("isp_signed_on", sa.Date(), nullable=False),
        sa.Column("enrol_code_hash", sa.String(length=255), nullable=True),
        sa.Column("enrol_code_expires", _TZ, nullable=True),
        sa.Column("identity_key", sa.LargeBinary(), nullable=True),
        sa.Column("identity_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("transport", sa.String(length=16), server_default="mailbox", nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("enrolled_at", _TZ, nullable=True),
        sa.Column("approved_at", _TZ, nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("status_changed_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity_fingerprint"),
    )
    op.create_table(
        "agency_keys",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("announcement", sa.Text(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("registered_at", _TZ, nullable=False),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    op.create_index(
        "ix_agency_keys_agency", "agency_keys", ["agency_id", "created_at"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("seq", _ID, autoincrement=True, nullable=False),
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=True),
        sa.Column("recipient_key", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("delivered_at", _TZ, nullable=True),
        sa.Column("sent_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("envelope_id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["agency_id", "status", "seq"], unique=False)
    op.create_table(
        "receipts",
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("stored_at", _TZ, nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["envelope_id"], ["outbox.envelope_id"]),
        sa.PrimaryKeyConstraint("envelope_id"),
    )
    op.create_table(
        "nonces",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "nonce"),
    )
    op.create_index("ix_nonces_seen", "nonces", ["seen_at"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("envelope_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("resolved_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "envelope_id", name="uq_alerts_kind_envelope"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("alerts")
    op.drop_table("nonces")
    op.drop_table("receipts")
    op.drop_table("outbox")
    op.drop_table("agency_keys")
    op.drop_table("agencies")
    op.drop_table("users")
