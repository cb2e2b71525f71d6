"""The disclosure log: entries, an RFC 9162 Merkle tree stored as subtree hashes, signed heads.

``append`` writes entries in the caller's transaction; ``hub.log.heads`` signs tree heads;
``hub.log.verify`` re-checks everything from the stored rows; ``hub.log.search`` finds and
exports entries for the DPO.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.log.entries import KINDS, LogEntry, entry_bytes, parse_entry
    from hub.log.store import append

__all__ = ["KINDS", "LogEntry", "append", "entry_bytes", "parse_entry"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "KINDS": "entries",
        "LogEntry": "entries",
        "entry_bytes": "entries",
        "parse_entry": "entries",
        "append": "store",
    },
)
