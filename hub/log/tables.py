"""Tables of the disclosure log (migrations 0002 and 0009).

* ``log_entries``: the log itself, one row per entry, ``idx`` 0-based, its canonical bytes;
* ``log_blocks``: per block of 32 entries, the hashes of every perfect subtree inside it,
  leaves to the block's root (``hub.log.blocks``), in one row a proof reads by primary key;
* ``log_nodes``: the hashes of the larger perfect subtrees, ``(level k, position i)``
  covering leaves ``[i * 2**k, (i + 1) * 2**k)``, level 6 and up: one row per 32 entries;
* ``log_index``, ``log_index_cases``, ``log_index_subjects``, ``log_index_categories``:
  what the DPO searches by, derived from the entries (``hub.log.store.index_rows``), written
  in the append's transaction by the hub;
* ``log_heads``: every signed tree head, oldest first, with its C2SP checkpoint note
  (``checkpoint``: the text the hub signed and its signature line; migration 0016);
* ``log_cosignatures``: the witnesses' (agencies') cosignatures of those checkpoints,
  each checked before it is stored, with the key it was checked against (0016);
* ``log_witness_alarms``: forks and rollbacks the witnesses reported (0016).
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
    Text,
    UniqueConstraint,
)

from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "log_entries",
    "log_heads",
    "log_index",
    "log_index_cases",
    "log_index_categories",
    "log_index_subjects",
    "log_blocks",
    "log_cosignatures",
    "log_nodes",
    "log_witness_alarms",
]

IDX = BigInteger().with_variant(Integer(), "sqlite")

log_entries = Table(
    "log_entries",
    metadata,
    Column("idx", IDX, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
)

log_blocks = Table(
    "log_blocks",
    metadata,
    Column("block", IDX, primary_key=True, autoincrement=False),  # entries [32b, 32b + 32)
    Column("size", Integer, nullable=False),  # entries it holds so far, 1..32
    Column("hashes", LargeBinary, nullable=False),  # see hub.log.blocks
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),  # above the blocks
    Column("position", IDX, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

log_index = Table(
    "log_index",
    metadata,
    Column("idx", IDX, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("at", TZ, nullable=False),
    Column("agency", String(64)),  # the recipient of a disclosure, or the agency concerned
    Column("purpose", String(64)),
    Column("basis_id", String(200)),
    Column("basis_version", String(200)),
    Column("envelope_id", String(200), unique=True),
    Column("override", Boolean, nullable=False, default=False),
    Index("ix_log_index_kind", "kind", "idx"),
    Index("ix_log_index_at", "at"),
    Index("ix_log_index_agency", "agency", "idx"),
    Index("ix_log_index_purpose", "purpose", "idx"),
    Index("ix_log_index_basis", "basis_id", "idx"),
)


def _side(name: str, column: str) -> Table:
    return Table(
        name,
        metadata,
        Column("idx", IDX, ForeignKey("log_index.idx"), primary_key=True),
        Column(column, String(200), primary_key=True),
        Index(f"ix_{name}_{column}", column, "idx"),
    )


log_index_cases = _side("log_index_cases", "case_ref")
log_index_subjects = _side("log_index_subjects", "subject_id")
log_index_categories = _side("log_index_categories", "category")

log_heads = Table(
    "log_heads",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("timestamp", TZ, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("checkpoint", Text),  # the signed note; none on heads signed before 0016
    Index("ix_log_heads_size", "size"),
)

log_cosignatures = Table(
    "log_cosignatures",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("key_name", String(300), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("signature", LargeBinary(76), nullable=False),  # key ID || timestamp || Ed25519
    Column("cosigned_at", TZ, nullable=False),  # the cosignature's own timestamp
    Column("received_at", TZ, nullable=False),
    UniqueConstraint("agency_id", "size", name="uq_log_cosignatures_agency_size"),
    Index("ix_log_cosignatures_size", "size"),
)

log_witness_alarms = Table(
    "log_witness_alarms",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), nullable=False),
    Column("problem", String(32), nullable=False),
    Column("cosigned_size", BigInteger, nullable=False),
    Column("offered_size", BigInteger, nullable=False),
    Column("cosigned", Text, nullable=False),  # the witness's last cosigned checkpoint note
    Column("offered", Text, nullable=False),  # the checkpoint note it refused
    Column("reported_at", TZ, nullable=False),
    Index("ix_log_witness_alarms_agency", "agency_id", "id"),
)
