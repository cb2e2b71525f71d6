"""Push delivery attempts: one row per attempt of the webhook, SMTP or another push transport.

Revision ID: 0012

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("transport", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("lease_until", _TZ, nullable=True),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("retry_at", _TZ, nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["envelope_id"], ["outbox.envelope_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("envelope_id", "attempt", name="uq_delivery_attempts_envelope_attempt"),
    )
    op.create_index(
        "ix_delivery_attempts_agency",
        "delivery_attempts",
        ["agency_id", "started_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("delivery_attempts")
