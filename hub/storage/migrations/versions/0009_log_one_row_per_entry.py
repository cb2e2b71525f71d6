"""The log's rows reshaped for appends and proofs; search keys apart.

Revision ID: 0009

``log_entries`` keeps only ``(idx, entry)``. ``log_blocks`` holds, per block of 32
entries, the leaf hashes and the hashes of the perfect subtrees inside the block (levels
1 to 5, formerly rows of ``log_nodes``, which keeps the higher levels). The search columns move
to ``log_index`` and its side tables. Existing rows are carried over.

Frozen: its own operations, importing nothing of the hub, so it does the same whatever
the table modules say today. The block layout (``hub.log.blocks`` at this revision) and
the 0002 tables its downgrade puts back are copied here.
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)
_CHUNK = 10_000
_SEARCH = "idx, kind, at, agency, purpose, basis_id, basis_version, envelope_id, override"
_SIDES = [  # the search side tables: new name, 0002 name, column
    ("log_index_cases", "log_case_refs", "case_ref"),
    ("log_index_subjects", "log_subjects", "subject_id"),
    ("log_index_categories", "log_categories", "category"),
]

# A block holds entries [32b, 32b + 32): its blob is, level by level from the leaves (0)
# up to the block's root (5), the hash of every perfect subtree its ``size`` entries
# complete, in position order (``size >> level`` hashes at ``level``), 32 bytes each.
_LEVELS = 5
_BLOCK = 1 << _LEVELS
_HASH = 32


def _blob(levels: list[list[bytes]]) -> bytes:
    return b"".join(h for level in levels for h in level)


def _split(number: int, size: int, blob: bytes) -> list[list[bytes]]:
    """A stored block's hashes, level by level; ``ValueError`` if malformed."""
    if not 0 < size <= _BLOCK or len(blob) != _HASH * sum(size >> j for j in range(_LEVELS + 1)):
        raise ValueError(f"block {number} is malformed")
    levels, at = [], 0
    for level in range(_LEVELS + 1):
        count = size >> level
        levels.append([blob[at + _HASH * i : at + _HASH * (i + 1)] for i in range(count)])
        at += _HASH * count
    return levels


def _create_search_tables(entries: str, sides: list[tuple[str, str]], *, leaf: bool) -> None:
    """The table of search columns ``entries`` (with ``entry`` and ``leaf_hash`` when
    ``leaf``: the 0002 ``log_entries``) and its side tables ``(name, column)``."""
    extra = (
        [
            sa.Column("entry", sa.LargeBinary(), nullable=False),
            sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        ]
        if leaf
        else []
    )
    op.create_table(
        entries,
        sa.Column("idx", _ID, autoincrement=False, nullable=False),
        *extra,
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
    op.create_index(f"ix_{entries}_agency", entries, ["agency", "idx"], unique=False)
    op.create_index(f"ix_{entries}_at", entries, ["at"], unique=False)
    op.create_index(f"ix_{entries}_basis", entries, ["basis_id", "idx"], unique=False)
    op.create_index(f"ix_{entries}_kind", entries, ["kind", "idx"], unique=False)
    op.create_index(f"ix_{entries}_purpose", entries, ["purpose", "idx"], unique=False)
    for name, column in sides:
        op.create_table(
            name,
            sa.Column("idx", _ID, nullable=False),
            sa.Column(column, sa.String(length=200), nullable=False),
            sa.ForeignKeyConstraint(["idx"], [f"{entries}.idx"]),
            sa.PrimaryKeyConstraint("idx", column),
        )
        op.create_index(f"ix_{name}_{column}", name, [column, "idx"], unique=False)


def _blocks(bind: Any) -> Iterator[dict[str, Any]]:
    """The ``log_blocks`` rows of the stored leaf hashes and low subtree hashes."""
    low: dict[tuple[int, int], bytes] = {}
    for level, position, digest in bind.execute(
        sa.text("SELECT level, position, hash FROM log_nodes WHERE level <= :low"),
        {"low": _LEVELS},
    ):
        low[level, position] = bytes(digest)
    number: int | None = None
    levels: list[list[bytes]] = []
    for idx, leaf in bind.execute(sa.text("SELECT idx, leaf_hash FROM log_entries ORDER BY idx")):
        if number != idx // _BLOCK:
            if number is not None:
                yield {"block": number, "size": len(levels[0]), "hashes": _blob(levels)}
            number, levels = idx // _BLOCK, [[] for _ in range(_LEVELS + 1)]
        levels[0].append(bytes(leaf))
        for level in range(1, _LEVELS + 1):
            if (idx + 1) % (1 << level) == 0:
                levels[level].append(low[level, idx >> level])
    if number is not None:
        yield {"block": number, "size": len(levels[0]), "hashes": _blob(levels)}


def upgrade() -> None:
    """Create the new tables, carry the rows over, drop what is no longer used."""
    bind = op.get_bind()
    _create_search_tables("log_index", [(new, column) for new, _, column in _SIDES], leaf=False)
    op.create_table(
        "log_blocks",
        sa.Column("block", _ID, autoincrement=False, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("block"),
    )
    op.execute(f"INSERT INTO log_index ({_SEARCH}) SELECT {_SEARCH} FROM log_entries")  # noqa: S608
    for new, old, column in _SIDES:
        op.execute(f"INSERT INTO {new} (idx, {column}) SELECT idx, {column} FROM {old}")  # noqa: S608
    _executemany(
        bind,
        "INSERT INTO log_blocks (block, size, hashes) VALUES (:block, :size, :hashes)",
        _blocks(bind),
    )
    bind.execute(sa.text("DELETE FROM log_nodes WHERE level <= :low"), {"low": _LEVELS})
    op.create_table(
        "log_entries_new",
        sa.Column("idx", _ID, primary_key=True, autoincrement=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
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
            bind.execute(sa.text(sql), batch)
            batch = []
    if batch:
        bind.execute(sa.text(sql), batch)


def _split_blocks(bind: Any) -> tuple[dict[int, bytes], list[dict[str, Any]]]:
    """From ``log_blocks``: each entry's leaf hash, and the subtree rows of levels 1 to 5."""
    leaves: dict[int, bytes] = {}
    nodes: list[dict[str, Any]] = []
    for number, size, blob in bind.execute(sa.text("SELECT block, size, hashes FROM log_blocks")):
        levels = _split(int(number), int(size), bytes(blob))
        first = int(number) * _BLOCK
        for level, hashes in enumerate(levels):
            for p, h in enumerate(hashes):
                if level == 0:
                    leaves[first + p] = h
                else:
                    position = (int(number) << (_LEVELS - level)) + p
                    nodes.append({"level": level, "position": position, "hash": h})
    return leaves, nodes


def downgrade() -> None:
    """Put the 0002 layout back: search columns and leaf hashes in ``log_entries``, every
    subtree hash a row of ``log_nodes``."""
    bind = op.get_bind()
    leaves, nodes = _split_blocks(bind)
    op.rename_table("log_entries", "log_entries_v9")
    _create_search_tables("log_entries", [(old, column) for _, old, column in _SIDES], leaf=True)
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
        op.execute(f"INSERT INTO {old} (idx, {column}) SELECT idx, {column} FROM {new}")  # noqa: S608
    _executemany(
        bind,
        "INSERT INTO log_nodes (level, position, hash) VALUES (:level, :position, :hash)",
        iter(nodes),
    )
    for new, _, _ in _SIDES:
        op.drop_table(new)
    for name in ("log_index", "log_blocks", "log_entries_v9"):
        op.drop_table(name)
