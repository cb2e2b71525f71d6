"""The stored Merkle log: appends in the caller's transaction, proofs from O(log n) rows.

Leaf hashes live in ``log_entries``; every perfect subtree above them in ``log_nodes``,
written by the append that completes it. A root or proof names its perfect subtrees with
``hub.crypto.merkle``'s plans and reads just those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto import merkle
from hub.log.entries import LogEntry, entry_bytes
from hub.log.tables import log_case_refs, log_categories, log_entries, log_nodes, log_subjects
from hub.protocol.errors import LogIntegrityError, ProtocolError

__all__ = [
    "APPEND_LOCK",
    "Prepared",
    "append",
    "consistency_proof",
    "entry",
    "inclusion_proof",
    "index_of_envelope",
    "frontier",
    "lock",
    "prepare",
    "root",
    "size",
    "write",
]

APPEND_LOCK: Final = 0x6D617261635F6C67  # pg_advisory_xact_lock key: "marac_lg"
Node = tuple[int, int]  # (level, position)


async def lock(conn: AsyncConnection, key: int) -> None:
    """Take a transaction-scoped lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already has one)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def size(conn: AsyncConnection) -> int:
    """The number of entries (one index lookup)."""
    last = await conn.scalar(select(func.max(log_entries.c.idx)))
    return 0 if last is None else int(last) + 1


def _node(start: int, end: int) -> Node:
    level = (end - start).bit_length() - 1
    return level, start >> level


async def _hashes(conn: AsyncConnection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``wanted`` subtrees, in one round trip.

    The statement is one UNION ALL of primary-key lookups (leaves by ``idx``, nodes by
    ``level = k AND position IN (...)``). Its only values are ints this module computed,
    written as literals: SQLAlchemy's statement building cost more than the query.
    """
    keys = set(wanted)
    by_level: dict[int, list[int]] = {}
    for level, pos in keys:
        by_level.setdefault(level, []).append(int(pos))
    parts = []
    for level, positions in sorted(by_level.items()):
        listed = ",".join(str(int(p)) for p in sorted(positions))  # ints only: no injection
        if level == 0:
            sql = f"SELECT 0, idx, leaf_hash FROM log_entries WHERE idx IN ({listed})"  # noqa: S608
            parts.append(sql)
        else:
            sql = f"SELECT level, position, hash FROM log_nodes WHERE level = {int(level)} AND position IN ({listed})"  # noqa: E501, S608
            parts.append(sql)
    found: dict[Node, bytes] = {}
    if parts:
        rows: Any = await conn.exec_driver_sql(" UNION ALL ".join(parts))
        found.update(((int(r[0]), int(r[1])), bytes(r[2])) for r in rows)
    missing = keys - found.keys()
    if missing:
        level, pos = min(missing, key=lambda n: n[1] << n[0])
        end = (pos + 1) << level
        if end > await size(conn):
            raise ProtocolError(f"the log has fewer than {end} entries")
        raise LogIntegrityError(
            f"the stored log lacks the hash of entries from {pos << level} (level {level})"
        )
    return found


async def _range_hashes(conn: AsyncConnection, plan: Sequence[tuple[int, int]]) -> list[bytes]:
    parts = [[_node(s, e) for s, e in merkle.perfect_subtrees(start, end)] for start, end in plan]
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
        select(log_entries.c.idx).where(log_entries.c.envelope_id == envelope_id)
    )
    return None if found is None else int(found)


async def entry(conn: AsyncConnection, index: int) -> bytes | None:
    """The stored bytes of entry ``index``."""
    found = await conn.scalar(select(log_entries.c.entry).where(log_entries.c.idx == index))
    return None if found is None else bytes(found)


@dataclass
class Prepared:
    """The rows an append writes: entries, their search keys and completed subtree hashes."""

    indices: list[int] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    case_refs: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)


def prepare(
    first: int,
    frontier: Sequence[bytes],
    entries: Iterable[LogEntry | bytes],
    *,
    bulk_columns: dict[str, Any] | None = None,
) -> Prepared:
    """The rows that append ``entries`` after ``first`` entries whose frontier is given.

    ``frontier`` holds the hashes of ``perfect_subtrees(0, first)``, largest first.
    ``bytes`` items are already canonical entries (a bulk load, as the benchmark does):
    their search columns are ``bulk_columns`` and they get no side-table rows.
    """
    parts = merkle.perfect_subtrees(0, first) if first else []
    if len(parts) != len(frontier):
        raise ValueError("the frontier does not match the log size")
    stack = [(_node(s, e)[0], h) for (s, e), h in zip(parts, frontier, strict=True)]
    out = Prepared()
    idx = first
    for item in entries:
        data = item if isinstance(item, bytes) else entry_bytes(item)
        leaf = merkle.leaf_hash(data)
        out.indices.append(idx)
        if isinstance(item, bytes):
            out.entries.append(
                {**(bulk_columns or {}), "idx": idx, "entry": data, "leaf_hash": leaf}
            )
        else:
            out.entries.append(_entry_row(idx, data, leaf, item))
        if isinstance(item, LogEntry):
            out.case_refs += [
                {"idx": idx, "case_ref": c} for c in dict.fromkeys(item.case_refs or ())
            ]
            out.subjects += [
                {"idx": idx, "subject_id": s} for s in dict.fromkeys(item.subject_ids or ())
            ]
            out.categories += [
                {"idx": idx, "category": c} for c in dict.fromkeys(item.data_categories or ())
            ]
        level, h = 0, leaf
        while stack and stack[-1][0] == level:
            h = merkle.node_hash(stack.pop()[1], h)
            level += 1
            out.nodes.append({"level": level, "position": idx >> level, "hash": h})
        stack.append((level, h))
        idx += 1
    return out


def _entry_row(idx: int, data: bytes, leaf: bytes, item: LogEntry) -> dict[str, Any]:
    return {
        "idx": idx,
        "entry": data,
        "leaf_hash": leaf,
        "kind": item.kind,
        "at": item.at,
        "agency": item.recipient or item.agency,
        "purpose": item.purpose,
        "basis_id": item.basis.id if item.basis else None,
        "basis_version": item.basis.version if item.basis else None,
        "envelope_id": item.envelope_id,
        "override": item.override is not None or item.kind == "override",
    }


async def frontier(conn: AsyncConnection, first: int) -> list[bytes]:
    """The hashes of ``perfect_subtrees(0, first)``, largest first."""
    if not first:
        return []
    nodes = [_node(s, e) for s, e in merkle.perfect_subtrees(0, first)]
    found = await _hashes(conn, nodes)
    return [found[n] for n in nodes]


async def write(conn: AsyncConnection, rows: Prepared) -> None:
    """Insert prepared rows, one executemany per table."""
    if rows.entries:
        await conn.execute(log_entries.insert(), rows.entries)
    for table, batch in (
        (log_case_refs, rows.case_refs),
        (log_subjects, rows.subjects),
        (log_categories, rows.categories),
        (log_nodes, rows.nodes),
    ):
        if batch:
            await conn.execute(table.insert(), batch)


async def append(conn: AsyncConnection, entries: Sequence[LogEntry]) -> list[int]:
    """Append ``entries`` in the caller's transaction; return their indices.

    Appends are serialised: a PostgreSQL advisory transaction lock, SQLite's write lock
    (the engine begins IMMEDIATE). Nothing is written unless the caller commits.
    """
    if not entries:
        return []
    await lock(conn, APPEND_LOCK)
    first = await size(conn)
    rows = prepare(first, await frontier(conn, first), entries)
    await write(conn, rows)
    return rows.indices
