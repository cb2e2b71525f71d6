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
from hub.storage import legacy_log

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
    _executemany(
        bind,
        "INSERT INTO log_blocks (block, size, hashes) VALUES (:block, :size, :hashes)",
        _blocks(bind),
    )
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


def _executemany(bind: Any, sql: str, rows: Iterator[dict[str, Any]]) -> None:
    """Run ``sql`` for every row, ``_CHUNK`` rows at a time."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _CHUNK:
            bind.execute(text(sql), batch)
            batch = []
    if batch:
        bind.execute(text(sql), batch)


def _split_blocks(bind: Any) -> tuple[dict[int, bytes], list[dict[str, Any]]]:
    """From ``log_blocks``: each entry's leaf hash, and the subtree rows of levels 1 to 5."""
    leaves: dict[int, bytes] = {}
    nodes: list[dict[str, Any]] = []
    for number, size, blob in bind.execute(text("SELECT block, size, hashes FROM log_blocks")):
        block = Block.from_blob(int(number), int(size), bytes(blob))
        first = block.number * BLOCK
        for level, hashes in enumerate(block.levels):
            for p, h in enumerate(hashes):
                if level == 0:
                    leaves[first + p] = h
                else:
                    position = (block.number << (BLOCK_LEVELS - level)) + p
                    nodes.append({"level": level, "position": position, "hash": h})
    return leaves, nodes


def downgrade() -> None:
    """Put the 0002 layout back: search columns and leaf hashes in ``log_entries``, every
    subtree hash a row of ``log_nodes``."""
    bind = op.get_bind()
    leaves, nodes = _split_blocks(bind)
    op.rename_table("log_entries", "log_entries_v9")
    legacy_log.metadata.create_all(bind, tables=[legacy_log.ENTRIES, *legacy_log.SIDES])
    search = _SEARCH.replace("idx, ", "")
    # the rows as they stand (the entry stands in for the leaf hash until it is set)
    op.execute(
        f"INSERT INTO log_entries (idx, entry, leaf_hash, {search}) "  # noqa: S608
        f"SELECT e.idx, e.entry, e.entry, {search} FROM log_entries_v9 e "
        "JOIN log_index i ON i.idx = e.idx"
    )
    _executemany(
        bind,
        "UPDATE log_entries SET leaf_hash = :leaf WHERE idx = :idx",
        ({"idx": idx, "leaf": leaf} for idx, leaf in leaves.items()),
    )
    for new, old, column in _SIDES:
        op.execute(f"INSERT INTO {old} (idx, {column}) SELECT idx, {column} FROM {new.name}")  # noqa: S608
    _executemany(
        bind,
        "INSERT INTO log_nodes (level, position, hash) VALUES (:level, :position, :hash)",
        iter(nodes),
    )
    for new, _, _ in _SIDES:
        op.drop_table(new.name)
    for name in ("log_index", "log_blocks", "log_entries_v9"):
        op.drop_table(name)
