"""Evidence bundles: log entries, their inclusion proofs, one checkpoint and the keys, in
one self-contained file that verifies offline (no hub, no database).

The hub makes a bundle (``make_bundle``, called by ``hub.app.evidence``); anyone with the
agency client checks it (``verify_bundle``, behind ``agency-client log verify-evidence``).

The file is one JSON object in RFC 8785 canonical form (so one bundle has exactly one byte
string, and its SHA-256 names it)::

    {"manifest": {"format": "marac-hub evidence bundle", "version": 1,
                  "created": "2026-12-06T09:00:00Z",
                  "hub": {"id": "hub", "fingerprint": "<hex SHA-256 of the hub's key>"},
                  "requested": ["12", "01J…"],     # as asked: indices or envelope ids
                  "entries": [12, 40],              # the entries they name, ascending
                  "checkpoint_size": 57,            # the size of the tree proved against
                  "logged_as": 58},                 # the log entry recording this export
     "checkpoint": "marac-hub.hub/log\n57\n<root>\n\n— marac-hub.hub/log …\n— …",
                                                    # C2SP checkpoint: the hub's signature
                                                    # and each witness's cosignature
     "entries": [{"index": 12, "entry": "<the logged bytes, as text>",
                  "proof": ["<b64url hash>", …]}, …],
     "hub_key": {"key": "<b64url>", "fingerprint": "<hex>", "vkey": "<note verifier key>",
                 "directory": {…}},                # the hub's /api/v1/hub document
     "witnesses": [{"agency": "police-north", "name": "<key name>", "key": "<b64url>",
                    "fingerprint": "<hex>", "vkey": "<cosignature verifier key>",
                    "registered": {"index": 3, "entry": "…", "proof": […]}}, …],
     "signature": "<b64url Ed25519 by the hub over everything else>"}

The checkpoint is a C2SP ``tlog-checkpoint`` signed note (``hub.crypto.checkpoint``): the
hub signs it under the origin ``marac-hub.<hub id>/log``, each witness (an agency) adds a
``tlog-cosignature`` under ``<agency id>.witness.<origin>`` with its identity key. A
witness's ``registered`` is its key directory entry: the log's own ``key_registered``
entry for the agency's identity key, with its inclusion proof under the same checkpoint.

``verify_bundle`` checks, in order, and stops at the first failure with one line saying
what failed (``EvidenceError``): the size and the canonical JSON; the manifest; the hub's
key against its fingerprint, its verifier key, its directory document and a pinned
fingerprint; the checkpoint's origin and the hub's signature on it; each witness key
against its fingerprint, verifier key and logged registration, and its cosignature (no
other signature may be on the note); each entry's bytes (a version 1 log entry in
canonical form) and its inclusion proof against the checkpoint's root; the pinned
witnesses; and last the hub's signature over the whole bundle (so that nothing is added,
dropped or reordered: a removed witness, a changed request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from hub.crypto.announce import SignedKeyAnnouncement, verify_announcement
from hub.crypto.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    checkpoint_origin,
    hub_verifier,
    witness_name,
)
from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey, fingerprint
from hub.crypto.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from hub.crypto.signed_note import Ed25519Verifier, Note, parse_note
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import HubError, LogIntegrityError

__all__ = [
    "FORMAT",
    "MAX_BUNDLE_BYTES",
    "MAX_ENTRIES",
    "VERSION",
    "CheckedEntry",
    "CheckedWitness",
    "Evidence",
    "EvidenceError",
    "ProvenEntry",
    "Witness",
    "make_bundle",
    "verify_bundle",
]

FORMAT: Final = "marac-hub evidence bundle"
VERSION: Final = 1
MAX_BUNDLE_BYTES: Final = 32 * 1024 * 1024
MAX_ENTRIES: Final = 1000
MAX_WITNESSES: Final = 100
MAX_PROOF: Final = 64  # a tree of 2**53 entries has proofs of at most 53 hashes
MAX_ENTRY_BYTES: Final = 64 * 1024  # as hub.log.entries
MAX_DEPTH: Final = 16  # of nested arrays and objects (a bundle has 7, an entry 3)
_MAX_INDEX: Final = 2**53 - 1
_DOMAIN: Final = b"marac-hub evidence bundle v1\n"
_TOP: Final = ("checkpoint", "entries", "hub_key", "manifest", "signature", "witnesses")
_MANIFEST: Final = (
    "checkpoint_size",
    "created",
    "entries",
    "format",
    "hub",
    "logged_as",
    "requested",
    "version",
)


class EvidenceError(LogIntegrityError):
    """The bundle is malformed or does not verify; the message says what, in one line."""


class _Malformed(EvidenceError):
    default_code = "bad-file"


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    """A log entry's index, its exact logged bytes and its inclusion proof."""

    index: int
    data: bytes
    proof: Sequence[bytes]

    def to_json(self) -> dict[str, Any]:
        """The bundle's form: the bytes as text (entries are UTF-8 JSON), hashes b64url."""
        return {
            "index": self.index,
            "entry": self.data.decode("utf-8"),
            "proof": [b64encode(h) for h in self.proof],
        }


@dataclass(frozen=True, slots=True)
class Witness:
    """An agency whose identity key cosigned the checkpoint under ``name``, and the log
    entry that registered that key."""

    agency: str
    name: str
    key: IdentityPublicKey
    registered: ProvenEntry


def make_bundle(
    *,
    identity: IdentityKeyPair,
    hub_id: str,
    directory: Mapping[str, Any],
    checkpoint: str,
    checkpoint_size: int,
    entries: Sequence[ProvenEntry],
    witnesses: Sequence[Witness],
    requested: Sequence[str],
    logged_as: int,
    created: datetime,
) -> bytes:
    """The bundle's bytes, signed by the hub's ``identity`` (see the module docstring).

    ``checkpoint`` is the signed note of the checkpoint of ``checkpoint_size`` with the
    witnesses' cosignatures."""
    doc: dict[str, Any] = {
        "manifest": {
            "format": FORMAT,
            "version": VERSION,
            "created": _second(created),
            "hub": {"id": hub_id, "fingerprint": identity.fingerprint},
            "requested": list(requested),
            "entries": [e.index for e in entries],
            "checkpoint_size": checkpoint_size,
            "logged_as": logged_as,
        },
        "checkpoint": checkpoint,
        "entries": [e.to_json() for e in entries],
        "hub_key": {
            "key": b64encode(identity.public.raw),
            "fingerprint": identity.fingerprint,
            "vkey": hub_verifier(checkpoint_origin(hub_id), identity.public).vkey(),
            "directory": dict(directory),
        },
        "witnesses": [
            {
                "agency": w.agency,
                "name": w.name,
                "key": b64encode(w.key.raw),
                "fingerprint": w.key.fingerprint,
                "vkey": CosignatureVerifier(w.name, w.key).vkey(),
                "registered": w.registered.to_json(),
            }
            for w in witnesses
        ],
    }
    doc["signature"] = b64encode(identity.sign(_DOMAIN + canonical_json(doc)))
    return canonical_json(doc)


def _second(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- what a verified bundle says ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedEntry:
    """An entry whose bytes and inclusion proof verified: its index and its fields."""

    index: int
    fields: Mapping[str, Any]
    proof_length: int

    @property
    def kind(self) -> str:
        """The entry's kind (disclosure, refusal, access, ...)."""
        return str(self.fields["kind"])


@dataclass(frozen=True, slots=True)
class CheckedWitness:
    """A witness whose key, registration and cosignature verified; when it cosigned."""

    agency: str
    fingerprint: str
    registered_at: int
    cosigned_at: str
    pinned: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """A bundle that verified: what it proves, and which keys it rests on."""

    sha256: str
    hub_id: str
    hub_fingerprint: str
    hub_pinned: bool
    checkpoint_size: int
    origin: str
    root: bytes
    created: str
    requested: tuple[str, ...]
    logged_as: int
    entries: tuple[CheckedEntry, ...]
    witnesses: tuple[CheckedWitness, ...]


# --- verification -------------------------------------------------------------------------


def _fail(message: str) -> EvidenceError:
    return EvidenceError(message)


def _malformed(message: str) -> EvidenceError:
    return _Malformed(f"not a valid evidence bundle: {message}")


def _shallow(value: object) -> bool:
    """True if ``value`` nests arrays and objects at most ``MAX_DEPTH`` deep (checked
    without recursion: deeper JSON would exhaust the stack of what reads it next)."""
    level: list[object] = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return True
    return not any(isinstance(item, dict | list) for item in level)


def _object(value: object, keys: Sequence[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not an object")
    if set(value) != set(keys):
        missing = sorted(set(keys) - set(value))
        extra = sorted(set(value) - set(keys))
        said = "lacks " + ", ".join(missing) if missing else "has unexpected " + ", ".join(extra)
        raise _malformed(f"{where} {said[:200]}")
    return value


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INDEX:
        raise _malformed(f"{where} is not a whole number")
    return value


def _str(value: object, where: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise _malformed(f"{where} is not a short string")
    return value


def _list(value: object, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _malformed(f"{where} is not a list")
    if len(value) > limit:
        raise _malformed(f"{where} has more than {limit} items")
    return value


def _bytes(value: object, where: str, size: int | None = None) -> bytes:
    try:
        raw = b64decode(value, field=where)  # type: ignore[arg-type]
    except HubError:
        raise _malformed(f"{where} is not base64url") from None
    if size is not None and len(raw) != size:
        raise _malformed(f"{where} is not {size} bytes")
    return raw


def _fingerprint(value: object, where: str) -> str:
    text = _str(value, where, 64)
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise _malformed(f"{where} is not 64 lower-case hex digits")
    return text


def _key(record: Mapping[str, Any], where: str) -> IdentityPublicKey:
    """The record's Ed25519 key, which must match the record's fingerprint."""
    raw = _bytes(record["key"], f"{where} key", 32)
    stated = _fingerprint(record["fingerprint"], f"{where} fingerprint")
    if fingerprint(raw) != stated:
        raise _fail(f"{where} key does not match its fingerprint {stated}")
    try:
        return IdentityPublicKey.from_bytes(raw)
    except ValueError:
        raise _malformed(f"{where} key is not an Ed25519 key") from None


def _entry_fields(data: bytes, where: str) -> dict[str, Any]:
    """A version 1 log entry in canonical form (what the hub logs), parsed."""
    if len(data) > MAX_ENTRY_BYTES:
        raise _malformed(f"{where} is larger than a log entry may be")
    try:
        obj = loads_strict(data)
    except HubError:
        raise _fail(f"{where} is not JSON: its bytes were changed") from None
    if not _shallow(obj):
        raise _fail(f"{where} nests deeper than a log entry does")
    if not isinstance(obj, dict) or obj.get("v") != 1 or not isinstance(obj.get("kind"), str):
        raise _fail(f"{where} is not a version 1 log entry")
    try:
        canonical = canonical_json(obj)
    except HubError:
        canonical = b""
    if canonical != data:
        raise _fail(f"{where} is not in the canonical form the hub logs: it was changed")
    return obj


def _proven(value: object, where: str) -> ProvenEntry:
    record = _object(value, ("entry", "index", "proof"), where)
    index = _int(record["index"], f"{where} index")
    text = record["entry"]
    if not isinstance(text, str):
        raise _malformed(f"{where} entry is not text")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise _malformed(f"{where} entry is not UTF-8") from None
    proof = [
        _bytes(h, f"{where} proof hash", HASH_SIZE)
        for h in _list(record["proof"], f"{where} proof", MAX_PROOF)
    ]
    return ProvenEntry(index, data, proof)


def _included(item: ProvenEntry, checkpoint: Checkpoint, where: str) -> dict[str, Any]:
    fields = _entry_fields(item.data, where)
    size, root = checkpoint.size, checkpoint.root
    if item.index >= size:
        raise _fail(f"{where} is beyond the checkpoint's {size} entries")
    if not verify_inclusion(leaf_hash(item.data), item.index, size, item.proof, root):
        raise _fail(
            f"{where}'s inclusion proof does not lead to the checkpoint's root: the entry, "
            "its proof or the checkpoint was changed, or it comes from another log"
        )
    return fields


def _vkey(record: Mapping[str, Any], expected: str, where: str) -> None:
    if _str(record["vkey"], f"{where} verifier key", 1024) != expected:
        raise _fail(f"{where} verifier key does not match its key and name")


def _hub_key(doc: Mapping[str, Any], hub_id: str, pinned: str | None) -> IdentityPublicKey:
    record = _object(doc, ("directory", "fingerprint", "key", "vkey"), "hub_key")
    key = _key(record, "the hub's")
    _vkey(record, hub_verifier(_origin(hub_id), key).vkey(), "the hub's")
    directory = record["directory"]
    if not isinstance(directory, dict):
        raise _malformed("the hub's directory entry is not an object")
    if (
        directory.get("identity_key") != record["key"]
        or directory.get("fingerprint") != key.fingerprint
        or directory.get("hub_id") != hub_id
    ):
        raise _fail("the hub's key does not match its key directory entry")
    encryption = directory.get("encryption")
    if encryption is not None:  # its encryption key, announced by the identity key
        try:
            announced = SignedKeyAnnouncement.from_json(
                encryption.get("announcement") if isinstance(encryption, dict) else None
            )
            verify_announcement(announced, identity=key)
        except HubError:
            raise _fail("the hub's key directory entry is not signed by the hub's key") from None
    if pinned is not None and key.fingerprint != pinned.lower():
        raise EvidenceError(
            f"the hub's key is {key.fingerprint}, not the pinned {pinned.lower()}",
            code="key-mismatch",
        )
    return key


def _origin(hub_id: str) -> str:
    try:
        return checkpoint_origin(hub_id)
    except HubError:
        raise _malformed("the hub's id cannot name a log") from None


def _checkpoint(value: object, hub_id: str, key: IdentityPublicKey) -> tuple[Checkpoint, Note]:
    """The checkpoint and its note, once the hub's signature on it verifies."""
    if not isinstance(value, str):
        raise _malformed("the checkpoint is not a signed note")
    try:
        note = parse_note(value)
        checkpoint = Checkpoint.parse(note.text)
    except HubError as exc:
        raise _malformed(f"the checkpoint: {exc.message}") from None
    origin = _origin(hub_id)
    if checkpoint.origin != origin:
        raise _fail(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    verifier = hub_verifier(origin, key)
    signed = [s for s in note.signatures if (s.name, s.key_id) == (origin, verifier.key_id)]
    if len(signed) != 1 or not verifier.verify(note.text.encode("utf-8"), signed[0].signature):
        raise _fail("the checkpoint's signature does not verify with the hub's key")
    return checkpoint, note


def _cosigned(checkpoint: Checkpoint, note: Note, verifier: CosignatureVerifier, where: str) -> str:
    """When the witness cosigned the checkpoint (its cosignature verified)."""
    lines = [s for s in note.signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id)]
    if not lines:
        raise _fail(f"{where}'s cosignature is missing from the checkpoint")
    try:
        timestamp = verifier.check(checkpoint, lines[0])
    except HubError:
        raise _fail(f"{where}'s cosignature does not verify") from None
    try:
        return _second(datetime.fromtimestamp(timestamp, UTC))
    except (OverflowError, OSError, ValueError):
        raise _fail(f"{where}'s cosignature has an impossible time") from None


def _witness(
    value: object, checkpoint: Checkpoint, note: Note, pinned: set[str]
) -> tuple[CheckedWitness, CosignatureVerifier]:
    fields = ("agency", "fingerprint", "key", "name", "registered", "vkey")
    record = _object(value, fields, "a witness")
    agency = _str(record["agency"], "a witness's agency", 64)
    where = f"witness {agency}"
    key = _key(record, f"{where}'s")
    try:
        name = witness_name(agency, checkpoint.origin)
    except HubError:
        raise _malformed(f"{where} cannot name a witness key") from None
    if record["name"] != name:
        raise _fail(f"{where}'s key name is not {name!r}")
    verifier = CosignatureVerifier(name, key)
    _vkey(record, verifier.vkey(), f"{where}'s")
    registered = _proven(record["registered"], f"{where}'s key directory entry")
    logged = _included(registered, checkpoint, f"{where}'s key directory entry")
    logged_key = logged.get("key")
    if (
        logged.get("kind") != "key_registered"
        or logged.get("agency") != agency
        or not isinstance(logged_key, dict)
        or logged_key.get("role") != "identity"
        or logged_key.get("fingerprint") != key.fingerprint
    ):
        raise _fail(f"{where}'s key is not the identity key the log registered for it")
    cosigned_at = _cosigned(checkpoint, note, verifier, where)
    checked = CheckedWitness(
        agency, key.fingerprint, registered.index, cosigned_at, key.fingerprint in pinned
    )
    return checked, verifier


@dataclass(frozen=True, slots=True)
class _Manifest:
    hub_id: str
    hub_fingerprint: str
    created: str
    requested: tuple[str, ...]
    entries: list[int]
    checkpoint_size: int
    logged_as: int


def _parse(data: bytes) -> tuple[dict[str, Any], _Manifest]:
    """The bundle's top-level object and its manifest: size, JSON, shape, canonical form."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _malformed(f"the file is larger than {MAX_BUNDLE_BYTES // 2**20} MiB")
    try:
        doc = loads_strict(data)
    except HubError:
        raise _malformed("the file is not JSON (truncated, or not a bundle)") from None
    if not _shallow(doc):
        raise _malformed(f"it nests arrays and objects deeper than {MAX_DEPTH}")
    top = _object(doc, _TOP, "the file")
    manifest = _object(top["manifest"], _MANIFEST, "the manifest")
    if manifest["format"] != FORMAT:
        raise _malformed(f"the manifest does not say format {FORMAT!r}")
    if manifest["version"] != VERSION:
        raise _malformed(f"version {manifest['version']!r} is not one this client reads")
    try:
        canonical = canonical_json(doc) == bytes(data)
    except HubError:
        canonical = False
    if not canonical:
        raise _fail("the file is not in canonical form: it was changed after it was made")
    hub = _object(manifest["hub"], ("fingerprint", "id"), "the manifest's hub")
    requested = _list(manifest["requested"], "the request", MAX_ENTRIES)
    listed = _list(manifest["entries"], "the manifest's entries", MAX_ENTRIES)
    return top, _Manifest(
        hub_id=_str(hub["id"], "the hub's id", 64),
        hub_fingerprint=_fingerprint(hub["fingerprint"], "the manifest's hub fingerprint"),
        created=_str(manifest["created"], "the manifest's created time", 40),
        requested=tuple(_str(r, "a requested entry") for r in requested),
        entries=[_int(i, "an entry index") for i in listed],
        checkpoint_size=_int(manifest["checkpoint_size"], "the checkpoint size"),
        logged_as=_int(manifest["logged_as"], "logged_as"),
    )


def _entries(value: object, checkpoint: Checkpoint, listed: list[int]) -> tuple[CheckedEntry, ...]:
    items = [_proven(e, "an entry") for e in _list(value, "entries", MAX_ENTRIES)]
    if not items:
        raise _malformed("it holds no entries")
    indices = [item.index for item in items]
    if indices != sorted(set(indices)):
        raise _fail("the entries are not in ascending order, each once")
    if indices != listed:
        raise _fail("the manifest lists other entries than the bundle holds")
    return tuple(
        CheckedEntry(i.index, _included(i, checkpoint, f"entry {i.index}"), len(i.proof))
        for i in items
    )


def _witnesses(
    value: object, checkpoint: Checkpoint, note: Note, hub: Ed25519Verifier, pins: set[str]
) -> tuple[CheckedWitness, ...]:
    found = [_witness(w, checkpoint, note, pins) for w in _list(value, "witnesses", MAX_WITNESSES)]
    witnesses = tuple(w for w, _ in found)
    if len({w.agency for w in witnesses}) != len(witnesses):
        raise _fail("a witness is listed twice")
    known = {(checkpoint.origin, hub.key_id)} | {(v.name, v.key_id) for _, v in found}
    strangers = [s.name for s in note.signatures if (s.name, s.key_id) not in known]
    if strangers:
        raise _fail(
            f"the checkpoint carries a signature by {strangers[0][:80]!r} with a key the "
            "bundle does not name"
        )
    missing = pins - {w.fingerprint for w in witnesses}
    if missing:
        raise EvidenceError(
            f"the pinned witness {sorted(missing)[0]} did not cosign this checkpoint",
            code="key-mismatch",
        )
    return witnesses


def verify_bundle(
    data: bytes, *, hub_key: str | None = None, witness_keys: Sequence[str] = ()
) -> Evidence:
    """Verify an evidence bundle offline; ``EvidenceError`` names the first failure.

    ``hub_key``: the fingerprint the hub's key must have (learnt out of band);
    ``witness_keys``: fingerprints of witnesses that must each have cosigned.
    """
    top, manifest = _parse(data)
    key = _hub_key(top["hub_key"], manifest.hub_id, hub_key)
    if manifest.hub_fingerprint != key.fingerprint:
        raise _fail("the manifest names another hub key than the bundle holds")
    checkpoint, note = _checkpoint(top["checkpoint"], manifest.hub_id, key)
    if manifest.checkpoint_size != checkpoint.size:
        raise _fail(
            f"the manifest says the checkpoint has {manifest.checkpoint_size} entries; "
            f"it has {checkpoint.size}"
        )
    pins = {p.lower() for p in witness_keys}
    hub = hub_verifier(checkpoint.origin, key)
    witnesses = _witnesses(top["witnesses"], checkpoint, note, hub, pins)
    entries = _entries(top["entries"], checkpoint, manifest.entries)
    signature = _bytes(top["signature"], "the signature", 64)
    unsigned = {k: v for k, v in top.items() if k != "signature"}
    if not key.verify(signature, _DOMAIN + canonical_json(unsigned)):
        raise _fail("the hub's signature over the bundle does not verify: it was changed")
    return Evidence(
        sha256=hashlib.sha256(data).hexdigest(),
        hub_id=manifest.hub_id,
        hub_fingerprint=key.fingerprint,
        hub_pinned=hub_key is not None,
        checkpoint_size=checkpoint.size,
        origin=checkpoint.origin,
        root=checkpoint.root,
        created=manifest.created,
        requested=manifest.requested,
        logged_as=manifest.logged_as,
        entries=entries,
        witnesses=witnesses,
    )
