"""Tables of the disclosure log (migration 0002).

* ``log_entries``: one row per entry, ``idx`` 0-based, its canonical bytes and leaf hash,
  and the columns the DPO searches by (one value each);
* ``log_case_refs``, ``log_subjects``, ``log_categories``: the many-valued search keys;
* ``log_nodes``: every perfect subtree hash above the leaves; ``(level k, position i)``
  covers leaves ``[i * 2**k, (i + 1) * 2**k)``, written by the append that completes it;
* ``log_heads``: every signed tree head, oldest first.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "log_case_refs",
    "log_categories",
    "log_entries",
    "log_heads",
    "log_nodes",
    "log_subjects",
]

IDX = BigInteger().with_variant(Integer(), "sqlite")

log_entries = Table(
    "log_entries",
    metadata,
    Column("idx", IDX, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", TZ, nullable=False),
    Column("agency", String(64)),  # the recipient of a disclosure, or the agency concerned
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
        Column("idx", IDX, ForeignKey("log_entries.idx"), primary_key=True),
        Column(column, String(200), primary_key=True),
        Index(f"ix_{name}_{column}", column, "idx"),
    )


log_case_refs = _side("log_case_refs", "case_ref")
log_subjects = _side("log_subjects", "subject_id")
log_categories = _side("log_categories", "category")

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("position", IDX, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

log_heads = Table(
    "log_heads",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("timestamp", TZ, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Index("ix_log_heads_size", "size"),
)
