"""What a log entry must say for the agency to accept it: pure checks, no I/O.

Each check returns ``None`` when the entry is as it must be, else a reason: one line
naming ids, kinds and fingerprints only (entries hold no personal data, and reasons go
to the client's log and its alarms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from hub.crypto.merkle import leaf_hash, verify_inclusion
from hub.crypto.tree_head import SignedTreeHead
from hub.protocol.canonical import canonical_json
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import ProtocolError

__all__ = [
    "KEY_KINDS",
    "KnownKeys",
    "check_disclosure",
    "check_key_entry",
    "decode_entry",
    "proves_inclusion",
]

KEY_KINDS: Final = frozenset({"key_registered", "key_rotated", "key_revoked"})


@dataclass(frozen=True, slots=True)
class KnownKeys:
    """The keys this agency made: its identity and every encryption key it recorded."""

    identity: str
    encryption: Mapping[str, str]  # fingerprint -> suite


def decode_entry(entry: bytes) -> dict[str, Any]:
    """The entry's JSON object; ``ProtocolError`` unless it is canonical JSON with ``v`` 1."""
    obj = loads_strict(entry)
    if not isinstance(obj, dict):
        raise ProtocolError("the log entry is not a JSON object", code="malformed")
    if canonical_json(obj) != entry:
        raise ProtocolError("the log entry is not canonical JSON", code="malformed")
    if obj.get("v") != 1 or not isinstance(obj.get("kind"), str):
        raise ProtocolError("the log entry is not a version 1 entry with a kind", code="malformed")
    return obj


def proves_inclusion(
    index: int, entry: bytes, proof: tuple[bytes, ...], head: SignedTreeHead
) -> bool:
    """True if ``entry`` is leaf ``index`` of the tree ``head`` signs."""
    return verify_inclusion(leaf_hash(entry), index, head.size, list(proof), head.root)


def check_disclosure(
    entry: Mapping[str, Any], *, envelope_id: str, agency_id: str, envelope_sha256: str
) -> str | None:
    """The entry must log the disclosure of exactly this envelope to this agency."""
    if entry.get("kind") != "disclosure":
        return f"the log entry for envelope {envelope_id} is not a disclosure"
    if entry.get("envelope_id") != envelope_id:
        return f"the log entry given for envelope {envelope_id} names another envelope"
    if entry.get("recipient") != agency_id:
        return f"the log entry for envelope {envelope_id} names another recipient"
    if entry.get("envelope_sha256") != envelope_sha256:
        return f"the log entry for envelope {envelope_id} has another envelope digest"
    return None


def check_key_entry(entry: Mapping[str, Any], *, agency_id: str, known: KnownKeys) -> str | None:
    """A key entry about this agency must name a key this agency made."""
    kind = entry.get("kind")
    if kind not in KEY_KINDS:
        return f"the hub listed a {_short(kind)} entry among this agency's key entries"
    if entry.get("agency") != agency_id:
        return "the hub listed a key entry about another agency among this agency's"
    key = entry.get("key")
    if not isinstance(key, dict):
        return f"a {kind} entry names no key"
    return _check_key(key, str(kind), known)


def _check_key(key: Mapping[str, Any], kind: str, known: KnownKeys) -> str | None:
    role, fingerprint = key.get("role"), key.get("fingerprint")
    foreign = f"the hub registered a key this agency did not make: {_short(role)} "
    foreign += f"{_short(fingerprint)} ({kind})"
    if role == "identity":
        return None if fingerprint == known.identity else foreign
    if role != "encryption":
        return f"a {kind} entry names a key of unknown role {_short(role)}"
    if not isinstance(fingerprint, str) or fingerprint not in known.encryption:
        return foreign
    suite = key.get("suite")
    if suite is not None and suite != known.encryption[fingerprint]:
        return f"the hub logged encryption key {_short(fingerprint)} with another suite ({kind})"
    return None


def _short(value: object) -> str:
    """A value from a hostile entry, safe and short enough for one log line."""
    text = value if isinstance(value, str) else type(value).__name__
    return "".join(c for c in text if c.isalnum() or c in "-_.:")[:64] or "?"
