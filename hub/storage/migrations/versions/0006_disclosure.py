"""Disclosures held for review, and coordinator overrides.

Revision ID: 0006

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "held_disclosures",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("case_refs", sa.Text(), nullable=False),
        sa.Column("meeting_id", sa.String(length=26), nullable=True),
        sa.Column("override_id", sa.String(length=26), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", _TZ, nullable=True),
        sa.Column("envelope_id", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_held_status", "held_disclosures", ["status", "created_at"], unique=False)
    op.create_table(
        "overrides",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("justification", sa.LargeBinary(), nullable=False),
        sa.Column("justification_sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("overrides")
    op.drop_table("held_disclosures")
