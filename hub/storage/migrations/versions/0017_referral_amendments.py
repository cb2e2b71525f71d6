"""Amended referrals and cancelled or moved meetings.

``referral_amendments`` keeps every amendment of a referral (who, when, the door, the
changed field names and the referral before it, under the case key); ``meetings`` gains
``cancelled_at``, ``cancelled_by``, ``moved_at`` and ``moved_from``.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``referral_amendments``; add the meeting columns."""
    op.create_table(
        "referral_amendments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("amended_at", _TZ, nullable=False),
        sa.Column("amended_by", sa.String(length=80), nullable=False),
        sa.Column("door", sa.String(length=8), nullable=False),
        sa.Column("fields", sa.String(length=4000), nullable=False),
        sa.Column("previous", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_ref", "version", name="uq_referral_amendments_version"),
    )
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("cancelled_at", _TZ, nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("moved_at", _TZ, nullable=True))
        batch.add_column(sa.Column("moved_from", sa.Date(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("moved_from")
        batch.drop_column("moved_at")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
    op.drop_table("referral_amendments")
