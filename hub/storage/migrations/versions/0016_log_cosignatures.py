"""Witness cosignatures on the log's checkpoints: ``log_heads.checkpoint`` (the C2SP
checkpoint note the hub signed with each head), ``log_cosignatures`` (the agencies'
cosignatures, each checked before it is stored) and ``log_witness_alarms`` (forks and
rollbacks the witnesses reported).

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again. Heads signed before this revision have no checkpoint; the hub
signs one for the newest head when it is first asked for it.

Revision ID: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the checkpoint column and the two tables."""
    with op.batch_alter_table("log_heads") as batch:
        batch.add_column(sa.Column("checkpoint", sa.Text(), nullable=True))
    op.create_table(
        "log_cosignatures",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_name", sa.String(length=300), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=76), nullable=False),
        sa.Column("cosigned_at", _TZ, nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "size", name="uq_log_cosignatures_agency_size"),
    )
    op.create_index("ix_log_cosignatures_size", "log_cosignatures", ["size"], unique=False)
    op.create_table(
        "log_witness_alarms",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=32), nullable=False),
        sa.Column("cosigned_size", sa.BigInteger(), nullable=False),
        sa.Column("offered_size", sa.BigInteger(), nullable=False),
        sa.Column("cosigned", sa.Text(), nullable=False),
        sa.Column("offered", sa.Text(), nullable=False),
        sa.Column("reported_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_log_witness_alarms_agency",
        "log_witness_alarms",
        ["agency_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the two tables and the checkpoint column."""
    op.drop_index("ix_log_witness_alarms_agency", table_name="log_witness_alarms")
    op.drop_table("log_witness_alarms")
    op.drop_index("ix_log_cosignatures_size", table_name="log_cosignatures")
    op.drop_table("log_cosignatures")
    with op.batch_alter_table("log_heads") as batch:
        batch.drop_column("checkpoint")
