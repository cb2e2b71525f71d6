"""The stored Merkle log: appends in the caller's transaction, proofs from O(log n) rows.

Each entry is a row of ``log_entries`` (its bytes). Each block of 32 entries is a row of
``log_blocks``: the leaf hashes and the hash of every perfect subtree inside the block
(``hub.log.blocks``), rewritten by each append until the block is full; larger subtrees
are rows of ``log_nodes``, one per 32 entries, which stay in the database's cache. A root or proof
names its perfect subtrees with ``hub.crypto.merkle``'s plans and reads just those rows, by
primary key, in one round trip on the driver's own connection. What the DPO searches by
is written to ``log_index`` and its side tables (``index_rows``) in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.crypto import merkle
from hub.log import search_keys
from hub.log.blocks import BLOCK, BLOCK_LEVELS, Block, hash_in
from hub.log.tables import (
    log_blocks,
    log_entries,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
    log_nodes,
)
from hub.protocol.errors import LogIntegrityError, ProtocolError
from hub.storage.sql import fetch_raw, insert_many, insert_rows, read_only_connection, serialise

if TYPE_CHECKING:  # the entry models load when entries are appended, not to read
    from hub.log.entries import LogEntry

__all__ = [
    "APPEND_LOCK",
    "Prepared",
    "ProofReader",
    "append",
    "consistency_proof",
    "edge",
    "entry",
    "frontier",
    "inclusion_proof",
    "index_of_envelope",
    "index_rows",
    "prepare",
    "root",
    "size",
    "write",
]

APPEND_LOCK: Final = 0x6D617261635F6C67  # pg_advisory_xact_lock key: "marac_lg"
_H: Final = merkle.HASH_SIZE
Node = tuple[int, int]  # (level, position): leaves [position * 2**level, (position + 1) * 2**level)


async def size(conn: AsyncConnection) -> int:
    """The number of entries (one index lookup)."""
    rows = await fetch_raw(conn, "SELECT max(idx) FROM log_entries")
    return 0 if rows[0][0] is None else int(rows[0][0]) + 1


def _node(start: int, end: int) -> Node:
    level = (end - start).bit_length() - 1
    return level, start >> level


def _block_of(level: int, position: int) -> int:
    return (position << level) >> BLOCK_LEVELS


def _query(keys: Iterable[Node]) -> str:
    """One UNION ALL of primary-key lookups: the ``log_blocks`` rows holding the small
    subtrees, ``log_nodes`` rows for the large ones. Its only values are ints this module
    computed, written as literals (SQLAlchemy's statement building cost more than the query).
    """
    blocks: set[int] = set()
    high: dict[int, list[int]] = {}
    for level, pos in keys:
        if level <= BLOCK_LEVELS:
            blocks.add(_block_of(level, pos))
        else:
            high.setdefault(level, []).append(pos)
    parts = []
    if blocks:
        listed = ",".join(str(int(b)) for b in sorted(blocks))  # ints only: no injection
        parts.append(f"SELECT -1, block, size, hashes FROM log_blocks WHERE block IN ({listed})")  # noqa: S608
    for level, positions in sorted(high.items()):
        listed = ",".join(str(int(p)) for p in sorted(positions))
        parts.append(
            f"SELECT level, position, 0, hash FROM log_nodes WHERE level = {int(level)} "  # noqa: S608
            f"AND position IN ({listed})"
        )
    return " UNION ALL ".join(parts)


def _decode(
    keys: set[Node], rows: Iterable[Any]
) -> tuple[dict[Node, bytes], set[Node], dict[int, tuple[int, bytes]]]:
    """The hashes ``rows`` of ``_query(keys)`` hold, the keys they lack, the blocks read
    (``number: (size, blob)``)."""
    found: dict[Node, bytes] = {}
    blocks: dict[int, tuple[int, bytes]] = {}
    for kind, key, count, value in rows:
        if kind == -1:
            blocks[int(key)] = (int(count), bytes(value))
        else:
            found[int(kind), int(key)] = bytes(value)
    for level, pos in keys:
        if level <= BLOCK_LEVELS:
            number = _block_of(level, pos)
            block = blocks.get(number)
            if block is None:
                continue
            try:
                h = hash_in(number, block[0], block[1], level, pos)
            except ValueError as exc:
                raise LogIntegrityError(f"the stored log is damaged: {exc}") from None
            if h is not None:
                found[level, pos] = h
    return found, keys - found.keys(), blocks


def _missing(missing: set[Node], log_size: int) -> Exception:
    level, pos = min(missing, key=lambda n: n[1] << n[0])
    end = (pos + 1) << level
    if end > log_size:
        return ProtocolError(f"the log has fewer than {end} entries")
    return LogIntegrityError(
        f"the stored log lacks the hash of entries from {pos << level} (level {level})"
    )


async def _read(
    conn: AsyncConnection, wanted: Iterable[Node]
) -> tuple[dict[Node, bytes], dict[int, tuple[int, bytes]]]:
    keys = set(wanted)
    found, missing, blocks = _decode(keys, await fetch_raw(conn, _query(keys)) if keys else [])
    if missing:
        raise _missing(missing, await size(conn))
    return found, blocks


async def _hashes(conn: AsyncConnection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``wanted`` subtrees, in one round trip."""
    return (await _read(conn, wanted))[0]


def _plan_nodes(plan: Sequence[tuple[int, int]]) -> list[list[Node]]:
    return [[_node(s, e) for s, e in merkle.perfect_subtrees(start, end)] for start, end in plan]


async def _range_hashes(conn: AsyncConnection, plan: Sequence[tuple[int, int]]) -> list[bytes]:
    parts = _plan_nodes(plan)
    found = await _hashes(conn, (n for p in parts for n in p))
    return [merkle.root_from_perfect_subtrees([found[n] for n in p]) for p in parts]


async def root(conn: AsyncConnection, tree_size: int) -> bytes:
    """The root of the first ``tree_size`` entries."""
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    return (await _range_hashes(conn, [(0, tree_size)]))[0]


async def inclusion_proof(conn: AsyncConnection, index: int, tree_size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size``."""
    if not 0 <= index < tree_size:
        raise ProtocolError(f"entry {index} is not in a tree of {tree_size}")
    return await _range_hashes(conn, merkle.inclusion_plan(index, tree_size))


async def consistency_proof(conn: AsyncConnection, old_size: int, new_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ProtocolError("a consistency proof needs 0 <= from <= to")
    return await _range_hashes(conn, merkle.consistency_plan(old_size, new_size))


async def index_of_envelope(conn: AsyncConnection, envelope_id: str) -> int | None:
    """The index of the entry that logged ``envelope_id``, if any."""
    found = await conn.scalar(
        log_index.select()
        .with_only_columns(log_index.c.idx)
        .where(log_index.c.envelope_id == envelope_id)
    )
    return None if found is None else int(found)


async def entry(conn: AsyncConnection, index: int) -> bytes | None:
    """The stored bytes of entry ``index``."""
    found = await conn.scalar(
        log_entries.select()
        .with_only_columns(log_entries.c.entry)
        .where(log_entries.c.idx == index)
    )
    return None if found is None else bytes(found)


@dataclass
class Prepared:
    """The rows an append writes: entries, their hashes, and their search keys."""

    indices: list[int] = field(default_factory=list)
    entries: list[tuple[int, bytes]] = field(default_factory=list)
    blocks: list[tuple[int, int, bytes]] = field(default_factory=list)  # (block, size, hashes)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)  # (level, position, hash)
    index: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)


def prepare(
    first: int,
    frontier: Sequence[bytes],
    entries: Iterable[LogEntry | bytes],
    tail: Block | None = None,
) -> Prepared:
    """The rows that append ``entries`` after ``first`` entries, given the tree's edge.

    ``frontier`` holds the hashes of ``perfect_subtrees(0, first)``, largest first, and
    ``tail`` the last, partial block when ``first`` is not a multiple of 32 (see ``edge``).
    ``bytes`` items are already canonical entries (a bulk load): they get no search rows.
    """
    parts = merkle.perfect_subtrees(0, first) if first else []
    if len(parts) != len(frontier):
        raise ValueError("the frontier does not match the log size")
    if (tail.size if tail else 0) != first % BLOCK or (tail and tail.number != first // BLOCK):
        raise ValueError("the tail block does not match the log size")
    # The right edge of the tree: (level, hash) of each perfect subtree, largest first.
    stack = [(_node(s, e)[0], h) for (s, e), h in zip(parts, frontier, strict=True)]
    from hub.log.entries import entry_bytes  # noqa: PLC0415 (see TYPE_CHECKING)

    out = Prepared()
    blocks: dict[int, Block] = {tail.number: tail} if tail else {}
    idx = first
    node_hash = merkle.node_hash
    for item in entries:
        if isinstance(item, bytes):
            data = item
        else:
            data = entry_bytes(item)
            index_rows(idx, item, out)
        h = merkle.leaf_hash(data)
        number = idx >> BLOCK_LEVELS
        block = blocks.get(number)
        if block is None:
            block = blocks[number] = Block(number)
        levels = block.levels
        levels[0].append(h)
        level = 0
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
            if level <= BLOCK_LEVELS:
                levels[level].append(h)
            else:
                out.nodes.append((level, idx >> level, h))
        stack.append((level, h))
        out.indices.append(idx)
        out.entries.append((idx, data))
        idx += 1
    out.blocks = [(b.number, b.size, b.blob()) for b in blocks.values()]
    return out


def index_rows(idx: int, item: LogEntry, out: Prepared) -> None:
    """Add entry ``idx``'s search rows to ``out`` (``hub.log.search_keys`` says which)."""
    values = search_keys.main(item)
    out.index.append({"idx": idx, **dict(zip(search_keys.MAIN_COLUMNS, values, strict=True))})
    cases, subjects, categories = search_keys.sides(item)
    out.cases += [{"idx": idx, "case_ref": c} for c in cases]
    out.subjects += [{"idx": idx, "subject_id": s} for s in subjects]
    out.categories += [{"idx": idx, "category": c} for c in categories]


async def edge(conn: AsyncConnection, first: int) -> tuple[list[bytes], Block | None]:
    """The right edge of the first ``first`` entries: the hashes of
    ``perfect_subtrees(0, first)``, largest first, and the partial last block (if any)."""
    if not first:
        return [], None
    nodes = [_node(s, e) for s, e in merkle.perfect_subtrees(0, first)]
    found, blocks = await _read(conn, nodes)
    if not first % BLOCK:
        return [found[n] for n in nodes], None
    number = first // BLOCK
    size, blob = blocks[number]  # the frontier's small subtrees are in it: it was read
    try:
        return [found[n] for n in nodes], Block.from_blob(number, size, blob)
    except ValueError as exc:
        raise LogIntegrityError(f"the stored log is damaged: {exc}") from None


async def frontier(conn: AsyncConnection, first: int) -> list[bytes]:
    """The hashes of ``perfect_subtrees(0, first)``, largest first."""
    return (await edge(conn, first))[0]


async def write(conn: AsyncConnection, rows: Prepared) -> None:
    """Insert prepared rows, one executemany per table."""
    await insert_rows(conn, log_entries, ("idx", "entry"), rows.entries)
    await insert_rows(
        conn, log_blocks, ("block", "size", "hashes"), rows.blocks, replace_on=("block",)
    )
    await insert_rows(conn, log_nodes, ("level", "position", "hash"), rows.nodes)
    for table, search in (
        (log_index, rows.index),
        (log_index_cases, rows.cases),
        (log_index_subjects, rows.subjects),
        (log_index_categories, rows.categories),
    ):
        if search:
            await insert_many(conn, table, search)


async def append(conn: AsyncConnection, entries: Sequence[LogEntry]) -> list[int]:
    """Append ``entries`` in the caller's transaction; return their indices.

    Appends are serialised: a PostgreSQL advisory transaction lock, SQLite's write lock
    (the engine begins IMMEDIATE). Nothing is written unless the caller commits.
    """
    if not entries:
        return []
    await serialise(conn, APPEND_LOCK)
    first = await size(conn)
    hashes, tail = await edge(conn, first)
    rows = prepare(first, hashes, entries, tail)
    await write(conn, rows)
    return rows.indices


class ProofReader:
    """Roots and proofs of committed entries, for serving them (never inside an append).

    On SQLite it reads through its own read-only connection on the calling thread: the
    query takes tens of microseconds, less than handing it to the driver's thread and
    back (WAL readers never wait for the writer); it keeps the few ``log_nodes`` rows
    (one per 32 entries) it has read. On PostgreSQL it borrows a pooled
    connection. Every hash it reads was written once and never changes.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._db: sqlite3.Connection | None = None
        self._nodes: dict[Node, bytes] = {}  # log_nodes rows read so far (immutable)
        self._rowid = 0  # the highest log_nodes rowid read
        self._db = read_only_connection(engine)

    def close(self) -> None:
        """Close the SQLite read connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _range_hashes(self, plan: Sequence[tuple[int, int]]) -> list[bytes]:
        parts = _plan_nodes(plan)
        keys = {n for p in parts for n in p}
        if self._db is None:
            async with self._engine.connect() as conn:
                found = await _hashes(conn, keys)
        else:
            found = self._sqlite_hashes(self._db, keys)
        return [merkle.root_from_perfect_subtrees([found[n] for n in p]) for p in parts]

    def _sqlite_hashes(self, db: sqlite3.Connection, keys: set[Node]) -> dict[Node, bytes]:
        """Small subtrees from ``log_blocks`` (one cached statement per block count), large
        ones from a copy of ``log_nodes`` kept in step by rowid (rows are only ever added)."""
        numbers = sorted({_block_of(lv, p) for lv, p in keys if lv <= BLOCK_LEVELS})
        rows = []
        if numbers:
            marks = ",".join("?" * len(numbers))
            sql = f"SELECT -1, block, size, hashes FROM log_blocks WHERE block IN ({marks})"  # noqa: S608
            rows = db.execute(sql, numbers).fetchall()
        if any(k[0] > BLOCK_LEVELS and k not in self._nodes for k in keys):
            for rowid, level, pos, digest in db.execute(
                "SELECT rowid, level, position, hash FROM log_nodes WHERE rowid > ?", (self._rowid,)
            ):
                self._nodes[level, pos] = bytes(digest)
                self._rowid = max(self._rowid, rowid)
        rows += [(k[0], k[1], 0, self._nodes[k]) for k in keys if k in self._nodes]
        found, missing, _ = _decode(keys, rows)
        if missing:
            (last,) = db.execute("SELECT max(idx) FROM log_entries").fetchone()
            raise _missing(missing, 0 if last is None else last + 1)
        return found

    async def root(self, tree_size: int) -> bytes:
        """The root of the first ``tree_size`` entries."""
        if tree_size == 0:
            return merkle.EMPTY_ROOT
        return (await self._range_hashes([(0, tree_size)]))[0]

    async def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size``."""
        if not 0 <= index < tree_size:
            raise ProtocolError(f"entry {index} is not in a tree of {tree_size}")
        return await self._range_hashes(merkle.inclusion_plan(index, tree_size))

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
        if not 0 <= old_size <= new_size:
            raise ProtocolError("a consistency proof needs 0 <= from <= to")
        return await self._range_hashes(merkle.consistency_plan(old_size, new_size))
