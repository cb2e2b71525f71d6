"""The disclosure log: entries, stored subtree hashes, signed tree heads.

Revision ID: 0002

The tables as they were at this revision (0009 reshaped them); frozen: its own
operations, importing nothing of the hub.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "log_entries",
        sa.Column("idx", _ID, autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("basis_id", sa.String(length=200), nullable=True),
        sa.Column("basis_version", sa.String(length=200), nullable=True),
        sa.Column("envelope_id", sa.String(length=200), nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("idx"),
        sa.UniqueConstraint("envelope_id"),
    )
    op.create_index("ix_log_entries_agency", "log_entries", ["agency", "idx"], unique=False)
    op.create_index("ix_log_entries_at", "log_entries", ["at"], unique=False)
    op.create_index("ix_log_entries_basis", "log_entries", ["basis_id", "idx"], unique=False)
    op.create_index("ix_log_entries_kind", "log_entries", ["kind", "idx"], unique=False)
    op.create_index("ix_log_entries_purpose", "log_entries", ["purpose", "idx"], unique=False)
    op.create_table(
        "log_case_refs",
        sa.Column("idx", _ID, nullable=False),
        sa.Column("case_ref", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["idx"], ["log_entries.idx"]),
        sa.PrimaryKeyConstraint("idx", "case_ref"),
    )
    op.create_index("ix_log_case_refs_case_ref", "log_case_refs", ["case_ref", "idx"], unique=False)
    op.create_table(
        "log_subjects",
        sa.Column("idx", _ID, nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["idx"], ["log_entries.idx"]),
        sa.PrimaryKeyConstraint("idx", "subject_id"),
    )
    op.create_index(
        "ix_log_subjects_subject_id", "log_subjects", ["subject_id", "idx"], unique=False
    )
    op.create_table(
        "log_categories",
        sa.Column("idx", _ID, nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["idx"], ["log_entries.idx"]),
        sa.PrimaryKeyConstraint("idx", "category"),
    )
    op.create_index(
        "ix_log_categories_category", "log_categories", ["category", "idx"], unique=False
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", _ID, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "position"),
    )
    op.create_table(
        "log_heads",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp", _TZ, nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_log_heads_size", "log_heads", ["size"], unique=False)


def downgrade() -> None:
    """Drop them."""
    op.drop_table("log_heads")
    op.drop_table("log_nodes")
    op.drop_table("log_categories")
    op.drop_table("log_subjects")
    op.drop_table("log_case_refs")
    op.drop_table("log_entries")
