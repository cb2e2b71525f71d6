"""The disclosure log: entries, stored subtree hashes, signed tree heads.

Revision ID: 0002

The tables are defined here as they were at this revision (0009 reshaped them), so the
migration creates the same schema whatever ``hub.log.tables`` says today.
"""

from alembic import op
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_IDX = BigInteger().with_variant(Integer(), "sqlite")
_TZ = DateTime(timezone=True)
_metadata = MetaData()

_entries = Table(
    "log_entries",
    _metadata,
    Column("idx", _IDX, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", _TZ, nullable=False),
    Column("agency", String(64)),
    Column("purpose", String(64)),
    Column("basis_id", String(200)),
    Column("basis_version", String(200)),
    Column("envelope_id", String(200), unique=True),
    Column("override", Boolean, nullable=False, default=False),
    Index("ix_log_entries_kind", "kind", "idx"),
    Index("ix_log_entries_at", "at"),
    Index("ix_log_entries_agency", "agency", "idx"),
    Index("ix_log_entries_purpose", "purpose", "idx"),
    Index("ix_log_entries_basis", "basis_id", "idx"),
)


def _side(name: str, column: str) -> Table:
    return Table(
        name,
        _metadata,
        Column("idx", _IDX, ForeignKey("log_entries.idx"), primary_key=True),
        Column(column, String(200), primary_key=True),
        Index(f"ix_{name}_{column}", column, "idx"),
    )


_TABLES = [
    _entries,
    _side("log_case_refs", "case_ref"),
    _side("log_subjects", "subject_id"),
    _side("log_categories", "category"),
    Table(
        "log_nodes",
        _metadata,
        Column("level", Integer, primary_key=True, autoincrement=False),
        Column("position", _IDX, primary_key=True, autoincrement=False),
        Column("hash", LargeBinary(32), nullable=False),
    ),
    Table(
        "log_heads",
        _metadata,
        Column("id", _IDX, primary_key=True, autoincrement=True),
        Column("size", BigInteger, nullable=False),
        Column("root", LargeBinary(32), nullable=False),
        Column("timestamp", _TZ, nullable=False),
        Column("signature", LargeBinary(64), nullable=False),
        Index("ix_log_heads_size", "size"),
    ),
]


def upgrade() -> None:
    """Create the log's tables as they were at this revision."""
    _metadata.create_all(op.get_bind(), tables=_TABLES)


def downgrade() -> None:
    """Drop them."""
    _metadata.drop_all(op.get_bind(), tables=list(reversed(_TABLES)))
