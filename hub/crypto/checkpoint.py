"""Log checkpoints (C2SP tlog-checkpoint) and witness cosignatures (C2SP tlog-cosignature).

A checkpoint is a signed note (``hub.crypto.signed_note``) whose text is::

    <origin>\\n<tree size>\\n<base64 RFC 6962 root hash>\\n[<extension line>\\n ...]

The hub signs it with its identity key under the key name ``origin``
(``checkpoint_origin(hub_id)`` = ``marac-hub.<hub id>/log``), Ed25519 type ``0x01``.

A witness (an agency) adds a cosignature: a note signature of type ``0x04`` under its
own key name (``witness_name(agency_id, origin)``), key ID ``SHA-256(name || 0x0A ||
0x04 || public key)[:4]``, whose bytes are ``timestamp (u64, big-endian) || Ed25519
signature`` over::

    cosignature/v1\\ntime <timestamp>\\n<checkpoint text>

API:

* ``Checkpoint(origin, size, root, extensions)``; ``.text()``; ``Checkpoint.parse(text)``;
* ``sign_checkpoint(identity, checkpoint)`` -> ``Note``; ``hub_verifier(origin, key)``;
* ``open_checkpoint(data, verifier)`` -> ``SignedCheckpoint`` (note + checkpoint, the hub's
  signature verified, every other signature kept);
* ``Cosigner(name, key).cosign(checkpoint, timestamp)`` -> ``NoteSignature``;
  ``CosignatureVerifier(name, public)`` is a ``NoteVerifier`` (``verify_note`` works with
  it) and ``.check(checkpoint, sig)`` returns the cosignature's timestamp or raises;
* ``parse_cosignature_lines(data)``: the body of ``POST /api/v1/log/cosignatures``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Final

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.merkle import HASH_SIZE
from hub.crypto.signed_note import (
    MAX_SIGNATURES,
    Ed25519Verifier,
    Note,
    NoteSignature,
    NoteSigner,
    b64_std,
    b64_std_decode,
    check_key_name,
    key_id,
    parse_note,
    verify_note,
)
from hub.protocol.errors import CryptoError, ProtocolError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "Checkpoint",
    "CosignatureVerifier",
    "Cosigner",
    "SignedCheckpoint",
    "checkpoint_origin",
    "hub_verifier",
    "open_checkpoint",
    "parse_cosignature_lines",
    "sign_checkpoint",
    "witness_name",
]

ALG_COSIGNATURE_V1: Final = 0x04
MAX_TREE_SIZE: Final = 2**63 - 1
MAX_TIMESTAMP: Final = 2**63 - 1
MAX_EXTENSIONS: Final = 16
_SIZE: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_CODE: Final = "bad-checkpoint"
_COSIG: Final = "bad-cosignature"


def checkpoint_origin(hub_id: str) -> str:
    """The origin line (and the hub's key name) of the log of hub ``hub_id``."""
    return check_key_name(f"marac-hub.{hub_id}/log")


def witness_name(agency_id: str, origin: str) -> str:
    """The key name agency ``agency_id`` cosigns the log ``origin`` under."""
    return check_key_name(f"{agency_id}.witness.{origin}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's size and RFC 6962 root hash at that size, named by the log's origin."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_key_name(self.origin)
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError("a checkpoint size is a whole number below 2**63")
        if len(self.root) != HASH_SIZE:
            raise ValueError("a checkpoint root is 32 bytes")
        if len(self.extensions) > MAX_EXTENSIONS or any(
            not line or "\n" in line for line in self.extensions
        ):
            raise ValueError("checkpoint extension lines are non-empty single lines")

    def text(self) -> str:
        """The note text."""
        lines = [self.origin, str(self.size), b64_std(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse note text strictly (``ProtocolError`` ``bad-checkpoint``)."""
        if not text.endswith("\n"):
            raise ProtocolError("a checkpoint ends in a newline", code=_CODE)
        lines = text[:-1].split("\n")
        if len(lines) < 3 or len(lines) > 3 + MAX_EXTENSIONS or any(not ln for ln in lines):
            raise ProtocolError("a checkpoint is three non-empty lines or more", code=_CODE)
        origin, size, root = lines[0], lines[1], lines[2]
        try:
            check_key_name(origin)
        except ProtocolError:
            raise ProtocolError("a checkpoint origin has no spaces or '+'", code=_CODE) from None
        if not _SIZE.fullmatch(size) or int(size) > MAX_TREE_SIZE:
            raise ProtocolError("a checkpoint size is a decimal number", code=_CODE)
        raw = b64_std_decode(root, code=_CODE)
        if len(raw) != HASH_SIZE:
            raise ProtocolError("a checkpoint root hash is 32 bytes", code=_CODE)
        return cls(origin, int(size), raw, tuple(lines[3:]))


def hub_verifier(origin: str, key: IdentityPublicKey) -> Ed25519Verifier:
    """The verifier of the hub's checkpoint signatures."""
    return Ed25519Verifier(origin, key)


def sign_checkpoint(identity: IdentityKeyPair, checkpoint: Checkpoint) -> Note:
    """The checkpoint as a note signed by the hub under its origin."""
    text = checkpoint.text()
    return Note(text, (NoteSigner(checkpoint.origin, identity).sign(text),))


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and the note it came in (the hub's signature verified)."""

    checkpoint: Checkpoint
    note: Note

    def cosignatures(self, verifiers: list[CosignatureVerifier]) -> dict[str, int]:
        """The witnesses (by key name) whose valid cosignature the note carries, with
        each cosignature's timestamp. A bad cosignature from a known witness is skipped."""
        known = {(v.name, v.key_id): v for v in verifiers}
        found: dict[str, int] = {}
        for sig in self.note.signatures:
            verifier = known.get((sig.name, sig.key_id))
            if verifier is None or sig.name in found:
                continue
            try:
                found[sig.name] = verifier.check(self.checkpoint, sig)
            except CryptoError:
                continue
        return found


def open_checkpoint(data: bytes | str, verifier: Ed25519Verifier) -> SignedCheckpoint:
    """Parse a checkpoint note and verify the hub's signature on it (``ProtocolError``
    ``bad-checkpoint`` or ``bad-note``; ``CryptoError`` ``bad-note`` if not signed by
    ``verifier``). The origin must be the verifier's key name."""
    note = parse_note(data)
    checkpoint = Checkpoint.parse(note.text)
    if checkpoint.origin != verifier.name:
        raise ProtocolError("the checkpoint is of another log", code=_CODE)
    verify_note(note, [verifier])
    return SignedCheckpoint(checkpoint, note)


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """A witness's Ed25519 cosignature key (type ``0x04``); a ``NoteVerifier``."""

    name: str
    public: IdentityPublicKey

    @property
    def key_id(self) -> bytes:
        """``SHA-256(name || 0x0A || 0x04 || public key)[:4]``."""
        return key_id(self.name, ALG_COSIGNATURE_V1, self.public.raw)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True if ``signature`` (timestamp || Ed25519) cosigns the checkpoint ``text``."""
        if len(signature) != 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp > MAX_TIMESTAMP:
            return False
        message = b"cosignature/v1\ntime %d\n" % timestamp + text
        return self.public.verify(signature[8:], message)

    def vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(0x04 || public key)>``."""
        encoded = b64_std(bytes([ALG_COSIGNATURE_V1]) + self.public.raw)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def check(self, checkpoint: Checkpoint, sig: NoteSignature) -> int:
        """The timestamp of ``sig`` if it is this witness's valid cosignature of
        ``checkpoint``, else ``CryptoError`` ``bad-cosignature``."""
        if (sig.name, sig.key_id) != (self.name, self.key_id) or not self.verify(
            checkpoint.text().encode("utf-8"), sig.signature
        ):
            raise CryptoError(f"the cosignature of {sig.name} does not verify", code=_COSIG)
        return int(struct.unpack(">Q", sig.signature[:8])[0])


@dataclass(frozen=True, slots=True)
class Cosigner:
    """A witness's Ed25519 key cosigning checkpoints under ``name``."""

    name: str
    key: IdentityKeyPair

    @property
    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        return CosignatureVerifier(self.name, self.key.public)

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> NoteSignature:
        """A cosignature line for ``checkpoint`` made at POSIX time ``timestamp``."""
        check_key_name(self.name)
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise ValueError("a cosignature timestamp is a positive POSIX time")
        message = _cosigned_message(checkpoint.text(), timestamp)
        signed = struct.pack(">Q", timestamp) + self.key.sign(message)
        return NoteSignature(self.name, self.verifier.key_id, signed)


def parse_cosignature_lines(data: bytes) -> list[NoteSignature]:
    """Parse one or more note signature lines (as tlog-witness's add-checkpoint answers),
    strictly (``ProtocolError`` ``bad-cosignature``)."""
    if len(data) > 1024 * MAX_SIGNATURES or not data.endswith(b"\n") or b"\n\n" in data:
        raise ProtocolError("cosignature lines end in a newline", code=_COSIG)
    # A stand-in text makes the lines a note, so the note parser checks every line.
    try:
        note = parse_note(b"x\n\n" + data)
    except ProtocolError as exc:
        raise ProtocolError(f"malformed cosignature lines: {exc.message}", code=_COSIG) from None
    return list(note.signatures)
