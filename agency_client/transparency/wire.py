"""The log API's answers, parsed strictly (docs/internals.md, "The log's entries and API").

Every parser raises :class:`~hub.protocol.errors.ProtocolError` on anything that does
not follow the contract (a hostile or broken hub), never another exception; the checker
turns that into an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from hub.crypto.merkle import HASH_SIZE
from hub.crypto.tree_head import SignedTreeHead
from hub.protocol.canonical import b64decode
from hub.protocol.errors import ProtocolError

__all__ = [
    "MAX_ENTRY_BYTES",
    "MAX_KEY_ENTRIES",
    "MAX_PROOF",
    "Inclusion",
    "KeyEntries",
    "parse_consistency",
    "parse_head",
    "parse_inclusion",
    "parse_key_entries",
]

MAX_PROOF: Final = 64
"""No proof in a tree of fewer than 2**53 leaves is longer than 2 * 53 hashes; 64 covers
every inclusion proof and every consistency proof of a log under 2**32 entries."""
MAX_ENTRY_BYTES: Final = 64 * 1024
MAX_KEY_ENTRIES: Final = 10_000
_MAX_INDEX: Final = 2**53 - 1


@dataclass(frozen=True, slots=True)
class Inclusion:
    """One entry of the log, its index and its inclusion proof against ``head``."""

    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    head: SignedTreeHead


@dataclass(frozen=True, slots=True)
class KeyEntries:
    """``GET /log/keys``: the key entries about the caller, each proved against ``head``."""

    head: SignedTreeHead
    entries: tuple[Inclusion, ...]


def parse_head(obj: object) -> SignedTreeHead:
    """A signed tree head (not yet verified)."""
    return SignedTreeHead.from_json(obj)


def parse_inclusion(body: Mapping[str, Any]) -> Inclusion:
    """``GET /log/inclusion``: ``{"index", "entry", "head", "proof"}``."""
    _fields(body, {"index", "entry", "head", "proof"}, "inclusion answer")
    head = parse_head(body["head"])
    return _inclusion(body, head)


def parse_consistency(body: Mapping[str, Any], old: int, new: int) -> tuple[bytes, ...]:
    """``GET /log/consistency``: the proof, if the answer is for the sizes asked."""
    _fields(body, {"from", "to", "proof"}, "consistency answer")
    if body["from"] != old or body["to"] != new or isinstance(body["from"], bool):
        raise ProtocolError(
            f"the consistency answer is not for sizes {old} to {new}", code="malformed"
        )
    return _proof(body["proof"])


def parse_key_entries(body: Mapping[str, Any]) -> KeyEntries:
    """``GET /log/keys``: ``{"head", "entries": [{"index", "entry", "proof"}, ...]}``."""
    _fields(body, {"head", "entries"}, "key entries answer")
    head = parse_head(body["head"])
    items = body["entries"]
    if not isinstance(items, list) or len(items) > MAX_KEY_ENTRIES:
        raise ProtocolError("the key entries are not a list of bounded length", code="malformed")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            raise ProtocolError("a key entry is not an object", code="malformed")
        _fields(item, {"index", "entry", "proof"}, "key entry")
        entries.append(_inclusion(item, head))
    return KeyEntries(head, tuple(entries))


def _inclusion(obj: Mapping[str, Any], head: SignedTreeHead) -> Inclusion:
    index, entry = obj["index"], obj["entry"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= _MAX_INDEX:
        raise ProtocolError("the entry index is not a whole number", code="malformed")
    if not isinstance(entry, str) or len(entry) > MAX_ENTRY_BYTES * 4 // 3 + 4:
        raise ProtocolError("the entry is not a string of bounded length", code="malformed")
    raw = b64decode(entry, field="entry")
    return Inclusion(index, raw, _proof(obj["proof"]), head)


def _proof(obj: object) -> tuple[bytes, ...]:
    if not isinstance(obj, list) or len(obj) > MAX_PROOF:
        raise ProtocolError("the proof is not a list of bounded length", code="malformed")
    proof = tuple(b64decode(p, field="proof") if isinstance(p, str) else b"" for p in obj)
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProtocolError("a proof element is not a 32-byte hash", code="malformed")
    return proof


def _fields(obj: Mapping[str, Any], names: set[str], what: str) -> None:
    missing = names - set(obj)
    if missing:
        raise ProtocolError(f"the {what} lacks {', '.join(sorted(missing))}", code="malformed")
