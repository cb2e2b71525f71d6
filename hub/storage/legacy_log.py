"""The disclosure log's tables as migration 0002 created them (0009 reshaped them).

Migrations 0002 (create) and 0009 (downgrade: put them back) use these frozen
definitions, whatever ``hub.log.tables`` says today.
"""

from __future__ import annotations

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

__all__ = ["ENTRIES", "NODES", "SIDES", "TABLES", "metadata"]

_IDX = BigInteger().with_variant(Integer(), "sqlite")
_TZ = DateTime(timezone=True)
metadata = MetaData()

ENTRIES = Table(
    "log_entries",
    metadata,
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
        metadata,
        Column("idx", _IDX, ForeignKey("log_entries.idx"), primary_key=True),
        Column(column, String(200), primary_key=True),
        Index(f"ix_{name}_{column}", column, "idx"),
    )


SIDES = {  # table: its column
    _side("log_case_refs", "case_ref"): "case_ref",
    _side("log_subjects", "subject_id"): "subject_id",
    _side("log_categories", "category"): "category",
}
NODES = Table(
    "log_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("position", _IDX, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
TABLES = [
    ENTRIES,
    *SIDES,
    NODES,
    Table(
        "log_heads",
        metadata,
        Column("id", _IDX, primary_key=True, autoincrement=True),
        Column("size", BigInteger, nullable=False),
        Column("root", LargeBinary(32), nullable=False),
        Column("timestamp", _TZ, nullable=False),
        Column("signature", LargeBinary(64), nullable=False),
        Index("ix_log_heads_size", "size"),
    ),
]
