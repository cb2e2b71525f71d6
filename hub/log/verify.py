"""Full verification of the stored log, from its rows alone.

Streams the entries once, in order: recomputes every leaf hash from the entry bytes,
checks the indices run 0..n-1 with no gap, rebuilds every subtree hash stored with each
entry, takes the root at the size of every stored head, checks each head's signature
with the hub identity key and that heads never shrink. Given a ``Coverage``, it checks
that a signed head covers the end of the log (beyond a grace for the signer) and that the
newest head is not stale while entries follow it. It compares the search index with what
each entry says: quickly, a range at a time, on a SQLite file in a helper process while
this one hashes (``hub.log.index_pass``), then exactly for any range that differs, to name
the entry (``hub.log.index_check``). The first fault raises ``LogTampered`` naming the
first bad entry or the bad head; a chain or head fault comes before an index fault
(``IndexMismatch``), which is reported after the whole pass. The pass reads the entries
there were when it began; entries appended meanwhile are the next verify's.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto import merkle
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.tree_head import SignedTreeHead
from hub.log.blocks import BLOCK, BLOCK_LEVELS, Block
from hub.log.entries import LogEntry
from hub.log.heads import head_from_row
from hub.log.index_check import IndexRepair, find_fault, rebuild, remove_outside, rows_outside
from hub.log.index_pass import IndexPass, read_entries
from hub.log.store import APPEND_LOCK
from hub.log.tables import log_blocks, log_entries, log_heads, log_nodes
from hub.protocol.errors import CryptoError, LogIntegrityError
from hub.storage.engine import SQLiteEngine
from hub.storage.sql import serialise

__all__ = [
    "Coverage",
    "IndexMismatch",
    "IndexRepair",
    "LogTampered",
    "Progress",
    "Verified",
    "repair_index",
    "verify_log",
]

Progress = Callable[[int, int], None]
_H: Final = merkle.HASH_SIZE
_CHUNK: Final = 2_000  # small: the same memory is reused, chunk after chunk


class LogTampered(LogIntegrityError):
    """Verification failed at entry ``index`` or at the stored head ``head_id``."""

    def __init__(self, message: str, *, index: int | None = None, head_id: int | None = None):
        super().__init__(message)
        self.index = index
        self.head_id = head_id


class IndexMismatch(LogTampered):
    """The entries and their hashes verify, but the search index differs from them."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """When a signed head must cover the log's end: the newest entry no head covers may
    be ``grace`` old at most, and the newest head ``max_age`` old while entries follow it."""

    now: datetime
    grace: timedelta
    max_age: timedelta


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful verification covered."""

    size: int
    nodes: int
    heads: int
    newest: SignedTreeHead | None
    witnessed: int | None = None  # the largest checkpoint a witness quorum cosigned
    witnesses: tuple[str, ...] = ()  # the agencies whose cosignatures made that quorum

    def to_json(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "ok": True,
            "size": self.size,
            "nodes": self.nodes,
            "heads": self.heads,
            "head": self.newest.to_json() if self.newest else None,
            "witnessed": self.witnessed,
            "witnesses": list(self.witnesses),
        }


async def verify_log(
    conn: AsyncConnection,
    key: IdentityPublicKey,
    log_id: str,
    progress: Progress | None = None,
    *,
    index: bool = True,
    coverage: Coverage | None = None,
) -> Verified:
    """Verify everything stored; raise ``LogTampered`` at the first fault. ``index``: also
    compare the search index with the entries; ``coverage``: also check the log's end is
    signed."""
    engine = conn.engine
    file = engine.file if isinstance(engine, SQLiteEngine) and engine.file else None
    return await conn.run_sync(
        lambda sync: _verify(
            sync, key, log_id, progress, index=index, coverage=coverage, sqlite_file=file
        )
    )


async def repair_index(
    conn: AsyncConnection,
    key: IdentityPublicKey,
    log_id: str,
    coverage: Coverage | None,
    progress: Progress | None = None,
) -> tuple[Verified, IndexRepair]:
    """In ``conn``'s transaction, with appends held off: verify the entries, hashes and
    heads (``LogTampered`` if they fail: nothing is changed), then rewrite the search rows
    of every entry whose rows differ from what it says, and delete rows of no entry."""
    await serialise(conn, APPEND_LOCK)
    verified = await verify_log(conn, key, log_id, progress, index=False, coverage=coverage)
    return verified, await conn.run_sync(lambda sync: _rebuild(sync, verified.size, progress))


def _rebuild(conn: Connection, size: int, progress: Progress | None) -> IndexRepair:
    repair = IndexRepair()
    result = conn.execute(
        select(log_entries.c.idx, log_entries.c.entry)
        .order_by(log_entries.c.idx)
        .execution_options(stream_results=True, yield_per=_CHUNK)
    )
    for rows in result.partitions(_CHUNK):
        rebuild(conn, rows, repair)
        if progress is not None:
            progress(int(rows[-1][0]) + 1, size)
    remove_outside(conn, size, repair)
    return repair


def _verify(
    conn: Connection,
    key: IdentityPublicKey,
    log_id: str,
    progress: Progress | None,
    *,
    index: bool,
    coverage: Coverage | None,
    sqlite_file: str | None = None,
) -> Verified:
    total = _announce(conn, progress)
    index_pass = IndexPass(sqlite_file, total) if index else None
    if index_pass is not None:
        index_pass.start()
    collecting = gc.isenabled()
    gc.disable()  # the pass keeps nothing it makes: the collector would only slow it down
    try:
        verified = _hash_pass(conn, key, log_id, progress, total, coverage)
        if index_pass is not None:
            _check_index(conn, index_pass, verified.size)
        return verified
    finally:
        if collecting:
            gc.enable()
        if index_pass is not None:
            index_pass.close()


def _check_index(conn: Connection, index_pass: IndexPass, size: int) -> None:
    """Raise ``IndexMismatch`` for the first entry whose search rows differ, or for rows
    of no entry."""
    fault = None
    for low, high in index_pass.finish(conn):
        fault = find_fault(conn, read_entries(conn, low, high))
        if fault is not None:
            break
    fault = fault or rows_outside(conn, size)
    if fault is not None:
        raise IndexMismatch(fault.message, index=fault.index)


def _hash_pass(
    conn: Connection,
    key: IdentityPublicKey,
    log_id: str,
    progress: Progress | None,
    total: int,
    coverage: Coverage | None,
) -> Verified:
    heads = _stored_heads(conn, log_id)
    sizes = sorted({head.size for _, head in heads})
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    stack: list[tuple[int, bytes]] = []  # the right edge: (level, hash), largest first
    expected = nodes = 0
    want = sum(1 for s in sizes if s == 0)  # the next head size whose root the pass must take
    node_hash = merkle.node_hash
    high: dict[tuple[int, int], bytes] = {}  # the subtree hashes log_nodes must hold
    stored = _StoredBlocks(conn)
    block = Block(0)
    # statement-level options: Connection.execution_options would change the caller's conn
    result = conn.execute(
        select(log_entries.c.idx, log_entries.c.entry)
        .where(log_entries.c.idx < total)
        .order_by(log_entries.c.idx)
        .execution_options(stream_results=True, yield_per=_CHUNK)
    )
    last = b""
    for rows in result.partitions(_CHUNK):
        for idx, entry in rows:
            if idx != expected:
                raise LogTampered(
                    f"entry {expected} is missing (the next stored entry is {idx})", index=expected
                )
            h = merkle.leaf_hash(bytes(entry))
            levels = block.levels
            levels[0].append(h)
            level = 0
            while stack and stack[-1][0] == level:
                h = node_hash(stack.pop()[1], h)
                level += 1
                if level <= BLOCK_LEVELS:
                    levels[level].append(h)
                else:
                    high[level, idx >> level] = h
            stack.append((level, h))
            nodes += level
            expected += 1
            if len(levels[0]) == BLOCK:
                stored.check(block)
                block = Block(block.number + 1)
            if want < len(sizes) and sizes[want] == expected:
                roots[expected] = merkle.root_from_perfect_subtrees([x for _, x in stack])
                want += 1
        last = rows[-1][1]
        if progress is not None:
            progress(expected, total)
    if block.size:
        stored.check(block)
    stored.check_none_after(expected)
    _check_nodes(conn, high)
    checked, newest = _check_heads(key, heads, roots, expected)
    if coverage is not None:
        _check_coverage(coverage, newest, expected, bytes(last))
    return Verified(expected, nodes, checked, newest)


def _announce(conn: Connection, progress: Progress | None) -> int:
    """The number of entries the pass will read, told to ``progress`` before it starts."""
    top = conn.scalar(select(log_entries.c.idx).order_by(log_entries.c.idx.desc()).limit(1))
    total = 0 if top is None else int(top) + 1
    if progress is not None:
        progress(0, total)
    return total


def _stored_heads(conn: Connection, log_id: str) -> list[tuple[int, SignedTreeHead]]:
    return [
        (row.id, head_from_row(log_id, row))
        for row in conn.execute(select(log_heads).order_by(log_heads.c.id))
    ]


def _check_coverage(
    coverage: Coverage, newest: SignedTreeHead | None, size: int, last: bytes
) -> None:
    """A signed head covers the log's end, give or take the signer's grace."""
    signed = newest.size if newest is not None else 0
    if size <= signed:
        return
    tail = f"entry {signed}" if size - 1 == signed else f"entries {signed} to {size - 1}"
    try:
        logged = LogEntry.model_validate_json(last).at
    except ValueError:
        logged = None
    if logged is None or coverage.now - logged > coverage.grace:
        raise LogTampered(
            f"no signed head covers the end of the log: {tail} "
            f"{'is' if size - 1 == signed else 'are'} signed by no head, and the newest was "
            f"logged more than {coverage.grace.total_seconds():g} s ago "
            f"(heads deleted, or the hub is not signing)",
            index=signed,
        )
    if newest is not None and coverage.now - newest.timestamp > coverage.max_age:
        age = int((coverage.now - newest.timestamp).total_seconds())
        raise LogTampered(
            f"the newest signed head (size {newest.size}) is {age} s old, more than "
            f"{coverage.max_age.total_seconds():g} s, and {tail} came after it unsigned",
            index=signed,
        )


def _check_nodes(conn: Connection, high: dict[tuple[int, int], bytes]) -> None:
    """Every large subtree hash in ``log_nodes`` is the one rebuilt, and none is missing."""
    bad: list[tuple[int, int]] = []
    seen = set()
    for level, position, stored in conn.execute(select(log_nodes)):
        seen.add((level, position))
        if high.get((level, position)) != bytes(stored):
            bad.append((level, position))
    bad += [node for node in high if node not in seen]
    if bad:
        level, position = min(bad, key=lambda n: (n[1] << n[0], n[0]))
        first = position << level
        raise LogTampered(
            f"entries {first} to {first + (1 << level) - 1} do not match their stored subtree "
            f"hash (level {level}): altered, removed or reordered",
            index=first,
        )


class _StoredBlocks:
    """``log_blocks`` rows, read a range at a time as the pass reaches them."""

    _RANGE = 512

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._rows: dict[int, tuple[int, bytes]] = {}

    def check(self, built: Block) -> None:
        """The block's stored hashes are the rebuilt ones: compared as one blob, and hash by
        hash only where they differ, to name the first that does (``_check_block``)."""
        row = self._row(built.number)
        if row is not None and row[0] == built.size and row[1] == built.blob():
            return
        _check_block(built, self.get(built.number))

    def _row(self, number: int) -> tuple[int, bytes] | None:
        if number not in self._rows:
            self._rows = {
                int(r.block): (int(r.size), bytes(r.hashes))
                for r in self._conn.execute(
                    select(log_blocks).where(
                        log_blocks.c.block >= number, log_blocks.c.block < number + self._RANGE
                    )
                )
            }
        return self._rows.get(number)

    def get(self, number: int) -> Block | None:
        row = self._row(number)
        if row is None:
            return None
        try:
            return Block.from_blob(number, *row)
        except ValueError:
            first = number * BLOCK
            raise LogTampered(
                f"the stored hashes of entries from {first} are malformed", index=first
            ) from None

    def check_none_after(self, size: int) -> None:
        """No block holds hashes of entries the log does not have."""
        extra = self._conn.scalar(
            select(log_blocks.c.block).where(log_blocks.c.block >= -(-size // BLOCK)).limit(1)
        )
        if extra is not None:
            raise LogTampered(
                f"hashes are stored for entries from {extra * BLOCK}, but the log ends at "
                f"{size}: entries are missing",
                index=size,
            )


def _check_block(built: Block, stored: Block | None) -> None:
    """The block's stored hashes are the rebuilt ones; name the smallest subtree that is not."""
    first = built.number * BLOCK
    if stored is None:
        raise LogTampered(f"the stored hashes of entries from {first} are missing", index=first)
    for level, hashes in enumerate(built.levels):
        for p, h in enumerate(hashes):
            if stored.get(level, (built.number << (BLOCK_LEVELS - level)) + p) == h:
                continue
            start = first + (p << level)
            if level == 0:
                raise LogTampered(
                    f"entry {start} does not match its leaf hash: the entry was altered",
                    index=start,
                )
            raise LogTampered(
                f"entries {start} to {start + (1 << level) - 1} do not match their stored "
                f"subtree hash (level {level}): altered, removed or reordered",
                index=start,
            )
    if stored.size > built.size:
        missing = first + built.size
        raise LogTampered(
            f"entries from {missing} are missing: their hashes are stored", index=missing
        )


def _check_heads(
    key: IdentityPublicKey,
    heads: list[tuple[int, SignedTreeHead]],
    roots: dict[int, bytes],
    size: int,
) -> tuple[int, SignedTreeHead | None]:
    previous: SignedTreeHead | None = None
    for head_id, head in heads:
        name = f"signed head #{head_id} (size {head.size})"
        try:
            head.verify(key)
        except CryptoError:
            raise LogTampered(
                f"{name}: its signature does not verify with the hub identity key",
                head_id=head_id,
            ) from None
        if previous is not None and head.size < previous.size:
            raise LogTampered(
                f"{name} is smaller than the head before it ({previous.size})", head_id=head_id
            )
        if head.size > size:
            raise LogTampered(
                f"{name} covers entries the log no longer has: entries from {size} are missing",
                index=size,
                head_id=head_id,
            )
        if roots[head.size] != head.root:
            raise LogTampered(
                f"{name}: the stored entries do not have the root it signed", head_id=head_id
            )
        previous = head
    return len(heads), previous
