"""The hashes of a block of 32 consecutive entries, as ``log_blocks`` stores them.

Block ``b`` covers entries ``[32b, 32b + 32)``. Its blob holds, level by level from the
leaves up to the block's own root (level 5), the hash of every perfect subtree inside
the block that its ``size`` entries complete, in position order: ``size >> l`` hashes
at level ``l``. A full block is 63 hashes (2,016 bytes: it fits in one database page);
only the newest block is ever partial.
"""

from __future__ import annotations

from typing import Final

from hub.crypto.merkle import HASH_SIZE

__all__ = ["BLOCK", "BLOCK_LEVELS", "Block", "hash_in"]

BLOCK_LEVELS: Final = 5
BLOCK: Final = 1 << BLOCK_LEVELS
_H: Final = HASH_SIZE
# _OFFSETS[size][level]: where level ``level`` starts in a block of ``size`` entries (in
# hashes); _OFFSETS[size][-1] is the blob's length in hashes.
_OFFSETS: Final = [
    [sum(size >> j for j in range(level)) for level in range(BLOCK_LEVELS + 2)]
    for size in range(BLOCK + 1)
]


def hash_in(number: int, size: int, blob: bytes, level: int, position: int) -> bytes | None:
    """The hash of subtree ``(level, position)`` of the log from block ``number``'s stored
    blob, without splitting it; ``None`` if the block does not hold it. ``ValueError`` if
    the blob is malformed."""
    if not 0 < size <= BLOCK or len(blob) != _H * _OFFSETS[size][-1]:
        raise ValueError(f"block {number} is malformed")
    p = position - (number << (BLOCK_LEVELS - level))
    if not 0 <= p < size >> level:
        return None
    at = _H * (_OFFSETS[size][level] + p)
    return blob[at : at + _H]


class Block:
    """One block's hashes, level by level (``levels[l][p]`` covers entries
    ``[32b + p * 2**l, 32b + (p + 1) * 2**l)``)."""

    __slots__ = ("levels", "number")

    def __init__(self, number: int, levels: list[list[bytes]] | None = None) -> None:
        self.number = number
        self.levels: list[list[bytes]] = levels or [[] for _ in range(BLOCK_LEVELS + 1)]

    @classmethod
    def from_blob(cls, number: int, size: int, blob: bytes) -> Block:
        """Split a stored blob of a block holding ``size`` entries; ``ValueError`` if malformed."""
        if not 0 < size <= BLOCK or len(blob) != _H * _OFFSETS[size][-1]:
            raise ValueError(f"block {number} is malformed")
        levels, at = [], 0
        for level in range(BLOCK_LEVELS + 1):
            count = size >> level
            levels.append([blob[at + _H * i : at + _H * (i + 1)] for i in range(count)])
            at += _H * count
        return cls(number, levels)

    @property
    def size(self) -> int:
        """How many entries the block holds."""
        return len(self.levels[0])

    def blob(self) -> bytes:
        """The stored form."""
        return b"".join(h for level in self.levels for h in level)

    def get(self, level: int, position: int) -> bytes | None:
        """The hash of subtree ``(level, position)`` of the log, if this block holds it."""
        p = position - (self.number << (BLOCK_LEVELS - level))
        hashes = self.levels[level]
        return hashes[p] if 0 <= p < len(hashes) else None
