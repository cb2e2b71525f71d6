"""Signed notes (C2SP signed-note v1.0.0): text, a blank line, then signature lines.

A note is UTF-8 text ending in a newline, a blank line, and one or more lines::

    — <key name> <base64(key ID (4 bytes) || signature)>

The text is what a signature covers (with its final newline, without the blank line).
Ed25519 keys (signature type ``0x01``) have the key ID ``SHA-256(name || 0x0A || 0x01 ||
public key)[:4]``; a verifier key ("vkey") is ``<name>+<hex key ID>+<base64(0x01 ||
public key)>``. Base64 here is the standard alphabet with padding (RFC 4648 section 4),
unlike the rest of the wire protocol.

API:

* ``parse_note(data)`` -> ``Note``: strict structure only (size limits, UTF-8, no control
  characters but newline, exact newlines, names without spaces or ``+``, every
  signature line well-formed); ``Note.text``, ``Note.signatures``, ``Note.encode()``;
* ``NoteSigner(name, key)`` / ``sign_note(text, signer, ...)``: Ed25519 signatures;
* ``NoteVerifier`` (a protocol: ``name``, ``key_id``, ``verify(text, sig)``) and
  ``Ed25519Verifier`` (``from_vkey``, ``vkey``); ``verify_note(note, verifiers)`` returns
  the signatures that verified, ignoring (but keeping, in the note) unknown ones; it
  raises ``CryptoError`` ``bad-note`` if a known key's signature fails or none verifies.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.protocol.errors import CryptoError, ProtocolError

__all__ = [
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Ed25519Verifier",
    "Note",
    "NoteSigner",
    "NoteSignature",
    "NoteVerifier",
    "b64_std",
    "b64_std_decode",
    "check_key_name",
    "key_id",
    "parse_note",
    "sign_note",
    "verify_note",
]

ALG_ED25519: Final = 0x01
MAX_NOTE_BYTES: Final = 64 * 1024  # a checkpoint with 100 cosignatures is under 12 KiB
MAX_SIGNATURES: Final = 100  # the spec asks for at least 16 to be accepted
MAX_NAME_BYTES: Final = 256
_DASH: Final = "\u2014 "
_CODE: Final = "bad-note"


def check_key_name(name: str) -> str:
    """``name`` if it is a valid key name (non-empty, no spaces, no ``+``, no control
    characters, at most 256 bytes), else ``ProtocolError`` ``bad-note``."""
    if (
        not isinstance(name, str)
        or not name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
        or "+" in name
        or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
        or not _utf8(name)
    ):
        raise ProtocolError("a note key name must be short, without spaces or '+'", code=_CODE)
    return name


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, alg: int, public: bytes) -> bytes:
    """The 4-byte key ID ``SHA-256(name || 0x0A || alg || public)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public).digest()[:4]


def b64_std(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4), as notes use."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64_std_decode(text: str, *, code: str = _CODE) -> bytes:
    """Decode standard padded base64 strictly: one accepted encoding per byte string."""
    if not text.isascii():
        raise ProtocolError("not standard base64", code=code)
    try:
        raw = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("not standard base64", code=code) from None
    if b64_std(raw) != text:  # non-zero unused bits
        raise ProtocolError("not canonical base64", code=code)
    return raw


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID, the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, with its newline."""
        return f"{_DASH}{self.name} {b64_std(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: its text (ending in a newline) and every signature line, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        """The note as bytes: text, blank line, signature lines."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """This note with ``extra`` appended (a line already present is not repeated)."""
        lines = list(self.signatures)
        for sig in extra:
            if sig not in lines:
                lines.append(sig)
        return Note(self.text, tuple(lines))


def _check_text(text: str) -> None:
    """UTF-8, no control characters but newline, ends in a newline (the note text)."""
    if not text.endswith("\n"):
        raise ProtocolError("a note's text ends in a newline", code=_CODE)
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise ProtocolError("a note has no control characters but newline", code=_CODE)


def parse_note(data: bytes | str) -> Note:
    """Parse a signed note strictly (``ProtocolError`` ``bad-note``); verify nothing."""
    if isinstance(data, str):
        if not _utf8(data):
            raise ProtocolError("a note is UTF-8", code=_CODE)
        data = data.encode("utf-8")
    if len(data) > MAX_NOTE_BYTES:
        raise ProtocolError("the note is too large", code=_CODE)
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("a note is UTF-8", code=_CODE) from None
    _check_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise ProtocolError("a note has a blank line before its signatures", code=_CODE)
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise ProtocolError("a note has at least one signature", code=_CODE)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise ProtocolError("the note has too many signatures", code=_CODE)
    return Note(text, tuple(_parse_line(line) for line in lines))


def _parse_line(line: str) -> NoteSignature:
    if not line.startswith(_DASH):
        raise ProtocolError("a note signature line starts with an em dash", code=_CODE)
    parts = line[len(_DASH) :].split(" ")
    if len(parts) != 2:
        raise ProtocolError("a note signature line is a name and a signature", code=_CODE)
    name, encoded = check_key_name(parts[0]), parts[1]
    raw = b64_std_decode(encoded)
    if len(raw) < 5:
        raise ProtocolError("a note signature is too short", code=_CODE)
    return NoteSignature(name, raw[:4], raw[4:])


class NoteVerifier(Protocol):
    """A known key: its name, key ID, and how it checks a signature of a note's text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    """An Ed25519 note key (signature type ``0x01``)."""

    name: str
    public: IdentityPublicKey

    @property
    def key_id(self) -> bytes:
        """``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
        return key_id(self.name, ALG_ED25519, self.public.raw)

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``text``."""
        return self.public.verify(signature, text)

    def vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        encoded = b64_std(bytes([ALG_ED25519]) + self.public.raw)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        """Parse an Ed25519 vkey strictly (``ProtocolError`` ``bad-note``)."""
        if not isinstance(vkey, str) or len(vkey) > MAX_NAME_BYTES + 64:
            raise ProtocolError("a verifier key is a short string", code=_CODE)
        parts = vkey.split("+")
        if len(parts) != 3:
            raise ProtocolError("a verifier key is name+keyid+key", code=_CODE)
        name, hex_id, encoded = check_key_name(parts[0]), parts[1], parts[2]
        raw = b64_std_decode(encoded)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise ProtocolError("not an Ed25519 verifier key", code=_CODE)
        try:
            verifier = cls(name, IdentityPublicKey.from_bytes(raw[1:]))
        except ValueError:
            raise ProtocolError("not an Ed25519 verifier key", code=_CODE) from None
        if hex_id != verifier.key_id.hex():
            raise ProtocolError("the verifier key's ID does not match its key", code=_CODE)
        return verifier


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 key that signs notes under ``name``."""

    name: str
    key: IdentityKeyPair

    @property
    def verifier(self) -> Ed25519Verifier:
        """The matching verifier."""
        return Ed25519Verifier(self.name, self.key.public)

    def sign(self, text: str) -> NoteSignature:
        """A signature line over ``text`` (which must be valid note text)."""
        check_key_name(self.name)
        _check_text(text)
        return NoteSignature(self.name, self.verifier.key_id, self.key.sign(text.encode("utf-8")))


def sign_note(text: str, *signers: NoteSigner) -> Note:
    """A note of ``text`` signed by each of ``signers`` in turn."""
    if not signers:
        raise ValueError("a note needs at least one signer")
    _check_text(text)
    note = Note(text, tuple(s.sign(text) for s in signers))
    parse_note(note.encode())  # the result must itself parse (size, blank lines)
    return note


def verify_note(note: Note, verifiers: Sequence[NoteVerifier]) -> list[NoteSignature]:
    """The signatures of ``note`` made by ``verifiers`` (each once); unknown keys (name
    and key ID not both matching one verifier) are ignored. ``CryptoError`` ``bad-note``
    if a known key's signature fails, or if no known key signed."""
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode("utf-8")
    good: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None or (sig.name, sig.key_id) in seen:
            continue
        if not verifier.verify(text, sig.signature):
            raise CryptoError(f"the note signature of {sig.name} does not verify", code=_CODE)
        seen.add((sig.name, sig.key_id))
        good.append(sig)
    if not good:
        raise CryptoError("the note has no signature from a known key", code=_CODE)
    return good
