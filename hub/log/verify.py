"""Full verification of the stored log, from its rows alone.

Recomputes every leaf hash from the entry bytes, checks the indices run 0..n-1 with no
gap, rebuilds every stored subtree hash level by level, recomputes the root of every
stored head, checks each head's signature with the hub identity key and that heads never
shrink. The first fault raises ``LogTampered`` naming the first bad entry or the bad head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto import merkle
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.tree_head import SignedTreeHead
from hub.log.heads import head_from_row
from hub.log.tables import log_entries, log_heads, log_nodes
from hub.protocol.errors import CryptoError, LogIntegrityError

__all__ = ["LogTampered", "Progress", "Verified", "verify_log"]

Progress = Callable[[int, int], None]
_H: Final = merkle.HASH_SIZE
_CHUNK: Final = 20_000


class LogTampered(LogIntegrityError):
    """Verification failed at entry ``index`` or at the stored head ``head_id``."""

    def __init__(self, message: str, *, index: int | None = None, head_id: int | None = None):
        super().__init__(message)
        self.index = index
        self.head_id = head_id


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful verification covered."""

    size: int
    nodes: int
    heads: int
    newest: SignedTreeHead | None

    def to_json(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "ok": True,
            "size": self.size,
            "nodes": self.nodes,
            "heads": self.heads,
            "head": self.newest.to_json() if self.newest else None,
        }


async def verify_log(
    conn: AsyncConnection,
    key: IdentityPublicKey,
    log_id: str,
    progress: Progress | None = None,
) -> Verified:
    """Verify everything stored; raise ``LogTampered`` at the first fault."""
    return await conn.run_sync(lambda sync: _verify(sync, key, log_id, progress))


def _verify(
    conn: Connection, key: IdentityPublicKey, log_id: str, progress: Progress | None
) -> Verified:
    last = conn.scalar(select(log_entries.c.idx).order_by(log_entries.c.idx.desc()).limit(1))
    total = 0 if last is None else int(last) + 1
    leaves = bytes(_leaves(conn, total, progress))
    size = len(leaves) // _H
    levels = [leaves]
    nodes = 0
    level = 1
    while True:
        below = levels[-1]
        count = len(below) // (2 * _H)
        built = bytearray()
        for p in range(count):
            o = 2 * _H * p
            built += merkle.node_hash(below[o : o + _H], below[o + _H : o + 2 * _H])
        nodes += _check_level(conn, level, built, size)
        if count == 0:
            break
        levels.append(bytes(built))
        level += 1
    heads = _check_heads(conn, key, log_id, levels, size)
    return Verified(size, nodes, heads[0], heads[1])


def _leaves(conn: Connection, total: int, progress: Progress | None) -> bytearray:
    leaves = bytearray()
    expected = 0
    result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(
        select(log_entries.c.idx, log_entries.c.entry, log_entries.c.leaf_hash).order_by(
            log_entries.c.idx
        )
    )
    for rows in result.partitions(_CHUNK):
        for idx, entry, stored in rows:
            if idx != expected:
                raise LogTampered(
                    f"entry {expected} is missing (the next stored entry is {idx})", index=expected
                )
            if merkle.leaf_hash(bytes(entry)) != bytes(stored):
                raise LogTampered(
                    f"entry {idx} does not match its leaf hash: the entry was altered",
                    index=idx,
                )
            leaves += stored
            expected += 1
        if progress is not None:
            progress(expected, total)
    return leaves


def _check_level(conn: Connection, level: int, built: bytes | bytearray, size: int) -> int:
    count = len(built) // _H
    seen = 0
    result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(
        select(log_nodes.c.position, log_nodes.c.hash)
        .where(log_nodes.c.level == level)
        .order_by(log_nodes.c.position)
    )
    for rows in result.partitions(_CHUNK):
        for position, stored in rows:
            first = position << level
            if position != seen:
                missing = min(seen, count)
                raise LogTampered(
                    f"the subtree hash of entries from {missing << level} (level {level}) "
                    "is missing from the stored log",
                    index=missing << level,
                )
            if position >= count:
                raise LogTampered(
                    f"a subtree hash covers entries from {first} but the log ends at "
                    f"{size}: entries are missing",
                    index=size,
                )
            if built[position * _H : (position + 1) * _H] != bytes(stored):
                raise LogTampered(
                    f"entries {first} to {first + (1 << level) - 1} do not match the stored "
                    f"subtree hash (level {level}): altered, removed or reordered",
                    index=first,
                )
            seen += 1
    if seen != count:
        raise LogTampered(
            f"the subtree hash of entries from {seen << level} (level {level}) "
            "is missing from the stored log",
            index=seen << level,
        )
    return seen


def _root(levels: list[bytes], size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    parts = []
    for start, end in merkle.perfect_subtrees(0, size):
        level = (end - start).bit_length() - 1
        pos = start >> level
        parts.append(bytes(levels[level][pos * _H : (pos + 1) * _H]))
    return merkle.root_from_perfect_subtrees(parts)


def _check_heads(
    conn: Connection, key: IdentityPublicKey, log_id: str, levels: list[bytes], size: int
) -> tuple[int, SignedTreeHead | None]:
    previous: SignedTreeHead | None = None
    count = 0
    for row in conn.execute(select(log_heads).order_by(log_heads.c.id)):
        head = head_from_row(log_id, row)
        name = f"signed head #{row.id} (size {head.size})"
        try:
            head.verify(key)
        except CryptoError:
            raise LogTampered(
                f"{name}: its signature does not verify with the hub identity key",
                head_id=row.id,
            ) from None
        if previous is not None and head.size < previous.size:
            raise LogTampered(
                f"{name} is smaller than the head before it ({previous.size})", head_id=row.id
            )
        if head.size > size:
            raise LogTampered(
                f"{name} covers entries the log no longer has: entries from {size} are missing",
                index=size,
                head_id=row.id,
            )
        if _root(levels, head.size) != head.root:
            raise LogTampered(
                f"{name}: the stored entries do not have the root it signed", head_id=row.id
            )
        previous = head
        count += 1
    return count, previous
