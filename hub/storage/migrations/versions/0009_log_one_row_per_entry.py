"""The log's rows reshaped for appends and proofs; search keys apart.

Revision ID: 0009

``log_entries`` keeps only ``(idx, entry)``. ``log_blocks`` holds, per block of 32
entries, the leaf hashes and the hashes of the perfect subtrees inside the block (levels
1 to 5, formerly rows of ``log_nodes``, which keeps the higher levels). The search columns move
to ``log_index`` and its side tables. Existing rows are carried over.
"""

from collections.abc import Iterator
from typing import Any

from alembic import op
from sqlalchemy import Column, LargeBinary, text

from hub.log.blocks import BLOCK, BLOCK_LEVELS, Block
from hub.log.tables import (
    log_blocks,
    log_entries,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CHUNK = 10_000
_SEARCH = "idx, kind, at, agency, purpose, basis_id, basis_version, envelope_id, override"
_SIDES = [
    (log_index_cases, "log_case_refs", "case_ref"),
    (log_index_subjects, "log_subjects", "subject_id"),
    (log_index_categories, "log_categories", "category"),
]


def _blocks(bind: Any) -> Iterator[dict[str, Any]]:
    """The ``log_blocks`` rows of the stored leaf hashes and low subtree hashes."""
    low: dict[tuple[int, int], bytes] = {}
    for level, position, digest in bind.execute(
        text("SELECT level, position, hash FROM log_nodes WHERE level <= :low"),
        {"low": BLOCK_LEVELS},
    ):
        low[level, position] = bytes(digest)
    block: Block | None = None
    for idx, leaf in bind.execute(text("SELECT idx, leaf_hash FROM log_entries ORDER BY idx")):
        number = idx // BLOCK
        if block is None or block.number != number:
            if block is not None:
                yield {"block": block.number, "size": block.size, "hashes": block.blob()}
            block = Block(number)
        block.levels[0].append(bytes(leaf))
        for level in range(1, BLOCK_LEVELS + 1):
            if (idx + 1) % (1 << level) == 0:
                block.levels[level].append(low[level, idx >> level])
    if block is not None:
        yield {"block": block.number, "size": block.size, "hashes": block.blob()}


def upgrade() -> None:
    """Create the new tables, carry the rows over, drop what is no longer used."""
    bind = op.get_bind()
    created = [log_index, log_blocks] + [t for t, _, _ in _SIDES]
    log_index.metadata.create_all(bind, tables=created)
    op.execute(f"INSERT INTO log_index ({_SEARCH}) SELECT {_SEARCH} FROM log_entries")  # noqa: S608
    for new, old, column in _SIDES:
        op.execute(f"INSERT INTO {new.name} (idx, {column}) SELECT idx, {column} FROM {old}")  # noqa: S608
    batch: list[dict[str, Any]] = []
    for row in _blocks(bind):
        batch.append(row)
        if len(batch) == _CHUNK:
            bind.execute(log_blocks.insert(), batch)
            batch = []
    if batch:
        bind.execute(log_blocks.insert(), batch)
    bind.execute(text("DELETE FROM log_nodes WHERE level <= :low"), {"low": BLOCK_LEVELS})
    op.create_table(
        "log_entries_new",
        Column("idx", log_entries.c.idx.type, primary_key=True, autoincrement=False),
        Column("entry", LargeBinary, nullable=False),
    )
    op.execute("INSERT INTO log_entries_new (idx, entry) SELECT idx, entry FROM log_entries")
    for _, old, _ in _SIDES:
        op.drop_table(old)
    op.drop_table("log_entries")
    op.rename_table("log_entries_new", "log_entries")


def downgrade() -> None:
    """Not supported: the old layout would need the search columns and hashes merged back."""
    raise NotImplementedError("downgrade below 0009 is not supported")
