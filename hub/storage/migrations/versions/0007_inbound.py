"""Sealed messages received from agencies (kept for idempotency and audit).

Revision ID: 0007

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "inbound_messages",
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("handled_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("envelope_id"),
    )
    op.create_index(
        "ix_inbound_agency", "inbound_messages", ["agency_id", "received_at"], unique=False
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("inbound_messages")
