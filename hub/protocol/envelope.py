"""The sealed envelope: a clear header and an HPKE ciphertext.

Parsing is strict and total: any deviation from the wire format raises a
:class:`~hub.protocol.errors.ProtocolError` with a stable code, and nothing that
parses can be re-serialised differently (the header is signed and bound to the
ciphertext as HPKE ``info``, so it must round-trip byte for byte).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from hub.protocol.canonical import b64decode, b64encode_ascii, canonical_json, sha256_hex
from hub.protocol.errors import ProtocolError

__all__ = [
    "HEADER_FIELDS",
    "MAX_ENVELOPE_BYTES",
    "PROTOCOL_VERSION",
    "SUITES",
    "SUITE_HYBRID",
    "SUITE_X25519",
    "Envelope",
    "Header",
    "format_timestamp",
    "parse_envelope",
    "parse_timestamp",
]

PROTOCOL_VERSION: Final = 1
SUITE_X25519: Final = "hpke-x25519-sha256-chacha20poly1305"
SUITE_HYBRID: Final = "hpke-mlkem768x25519-sha256-chacha20poly1305"
SUITES: Final = frozenset({SUITE_X25519, SUITE_HYBRID})

MAX_ENVELOPE_BYTES: Final = 16 * 1024 * 1024
HEADER_FIELDS: Final = (
    "v",
    "id",
    "type",
    "from",
    "to",
    "sent_at",
    "case_ref",
    "sender_key",
    "recipient_key",
    "suite",
)

_PARTY = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
# A canonical ULID: 26 Crockford base32 upper-case characters, at most 2^128 - 1.
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
# ASCII digits only ("\d" would take any Unicode digit).
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_MAX_TEXT: Final = 128


@functools.lru_cache(maxsize=64)  # a batch seals many envelopes at one moment
def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` and microseconds, the only form on the wire."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # isoformat, not strftime: "%Y" does not zero-pad years before 1000 on glibc.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(text: object, *, field: str = "sent_at") -> datetime:
    """Parse a wire timestamp: RFC 3339, UTC, with ``Z``."""
    if not isinstance(text, str):
        raise ProtocolError(f"{field} must be a string", code="wrong-type")
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ProtocolError(f"{field} is not an RFC 3339 timestamp", code="bad-timestamp")
    if match.group(2) is None:
        raise ProtocolError(f"{field} has no time zone", code="naive-timestamp")
    if match.group(2) != "Z":
        raise ProtocolError(f"{field} must be in UTC with 'Z'", code="bad-timestamp")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ProtocolError(f"{field} is not a valid date and time", code="bad-timestamp") from None


@dataclass(frozen=True, slots=True)
class Header:
    """The clear, signed header of an envelope (DESIGN.md: the wire protocol).

    Build one from the wire with :meth:`from_json`, or from values with :meth:`build`:
    both check every field. A header made directly is not checked (tests make invalid
    ones on purpose); its canonical form then comes from the general RFC 8785 encoder.
    """

    id: str
    type: str
    sender: str
    recipient: str
    sent_at: str
    case_ref: str | None
    sender_key: str
    recipient_key: str
    suite: str
    v: int = PROTOCOL_VERSION
    _canonical: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The header as its wire JSON object."""
        return {
            "v": self.v,
            "id": self.id,
            "type": self.type,
            "from": self.sender,
            "to": self.recipient,
            "sent_at": self.sent_at,
            "case_ref": self.case_ref,
            "sender_key": self.sender_key,
            "recipient_key": self.recipient_key,
            "suite": self.suite,
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the header (HPKE ``info`` and part of what is signed)."""
        cached = self._canonical
        if cached is None:
            cached = canonical_json(self.to_json())
            object.__setattr__(self, "_canonical", cached)
        return cached

    @property
    def sent_at_datetime(self) -> datetime:
        """``sent_at`` as an aware datetime."""
        return parse_timestamp(self.sent_at)

    @classmethod
    def from_json(cls, obj: object) -> Header:
        """Validate a header object strictly."""
        if not isinstance(obj, Mapping):
            raise ProtocolError("header must be a JSON object", code="wrong-type")
        _exact_keys(obj, HEADER_FIELDS, "header")
        return _checked(
            cls,
            obj["v"],
            obj["id"],
            obj["type"],
            obj["from"],
            obj["to"],
            obj["sent_at"],
            obj["case_ref"],
            obj["sender_key"],
            obj["recipient_key"],
            obj["suite"],
        )

    @classmethod
    def build(
        cls,
        *,
        id: str,
        type: str,
        sender: str,
        recipient: str,
        sent_at: str,
        case_ref: str | None,
        sender_key: str,
        recipient_key: str,
        suite: str,
        v: int = PROTOCOL_VERSION,
    ) -> Header:
        """A header from values, with every check :meth:`from_json` makes (``ProtocolError``)."""
        return _checked(
            cls, v, id, type, sender, recipient, sent_at, case_ref, sender_key, recipient_key, suite
        )


def _checked(
    cls: type[Header],
    version: object,
    envelope_id: object,
    msg_type: object,
    sender: object,
    recipient: object,
    sent_at: object,
    case_ref: object,
    sender_key: object,
    recipient_key: object,
    suite: object,
) -> Header:
    """The one place a header's fields are checked, in a fixed order (it fixes the code
    of an error when several fields are wrong)."""
    if type(version) is not int:
        raise ProtocolError("header.v must be an integer", code="wrong-type")
    if version != PROTOCOL_VERSION:
        # Not the value: str() of a huge int raises ValueError (and echoes input).
        raise ProtocolError(
            f"protocol version is not supported (this end speaks {PROTOCOL_VERSION})",
            code="unsupported-version",
        )
    msg_type = _text(msg_type, "type")
    # imported here: the message models take a tenth of a second to build, and a command
    # that only reads a key file or the database has no envelope to check
    from hub.protocol.messages import MESSAGE_TYPES  # noqa: PLC0415

    if msg_type not in MESSAGE_TYPES:
        raise ProtocolError("unknown message type", code="unknown-type")
    suite = _text(suite, "suite")
    if suite not in SUITES:
        raise ProtocolError("unknown cipher suite", code="unknown-suite")
    envelope_id = _text(envelope_id, "id")
    if _ULID.fullmatch(envelope_id) is None:
        raise ProtocolError("header.id is not a canonical ULID", code="bad-ulid")
    sent_at = _text(sent_at, "sent_at")
    parse_timestamp(sent_at, field="header.sent_at")
    if case_ref is not None:
        case_ref = _pattern(_text(case_ref, "case_ref"), _CASE_REF, "case_ref")
    header = cls(
        v=PROTOCOL_VERSION,
        id=envelope_id,
        type=msg_type,
        sender=_pattern(_text(sender, "from"), _PARTY, "from"),
        recipient=_pattern(_text(recipient, "to"), _PARTY, "to"),
        sent_at=sent_at,
        case_ref=case_ref,
        sender_key=_fingerprint(_text(sender_key, "sender_key"), "sender_key"),
        recipient_key=_fingerprint(_text(recipient_key, "recipient_key"), "recipient_key"),
        suite=suite,
    )
    # Every value is now ASCII without quotes or backslashes (the patterns, ULID and
    # timestamp forms, and the fixed type and suite names), so RFC 8785 is this template:
    # members in key order, strings without escapes, v the integer 1.
    # tests/protocol/test_envelope.py checks it against the general encoder.
    case_ref_json = "null" if case_ref is None else f'"{case_ref}"'
    canonical = (
        f'{{"case_ref":{case_ref_json},"from":"{header.sender}","id":"{header.id}",'
        f'"recipient_key":"{header.recipient_key}","sender_key":"{header.sender_key}",'
        f'"sent_at":"{header.sent_at}","suite":"{header.suite}","to":"{header.recipient}",'
        f'"type":"{header.type}","v":{PROTOCOL_VERSION}}}'
    )
    object.__setattr__(header, "_canonical", canonical.encode("ascii"))
    return header


@dataclass(frozen=True, slots=True)
class Envelope:
    """A header and the HPKE ciphertext (``enc || ct``) it is bound to."""

    header: Header
    ciphertext: bytes
    # What parse_envelope saw: the ciphertext's (canonical) base64url text, or the whole
    # wire form when it was already canonical. Neither is compared or shown.
    _b64: str | None = field(default=None, init=False, repr=False, compare=False)
    _wire: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The envelope as its wire JSON object."""
        b64 = self._b64
        text = b64 if b64 is not None else b64encode_ascii(self.ciphertext).decode("ascii")
        return {"header": self.header.to_json(), "ciphertext": text}

    def to_bytes(self) -> bytes:
        """Canonical wire bytes of the envelope (computed once).

        Built directly: the members are in RFC 8785 order, the header is canonical and
        base64url never needs escaping, so this equals ``canonical_json(self.to_json())``.
        """
        wire = self._wire
        if wire is None:
            b64 = self._b64
            text = b64.encode("ascii") if b64 is not None else b64encode_ascii(self.ciphertext)
            wire = _CT_OPEN + text + _CT_CLOSE + self.header.canonical() + b"}"
            object.__setattr__(self, "_wire", wire)
        return wire

    def digest(self) -> str:
        """Hex SHA-256 of the canonical envelope: what receipts sign."""
        return sha256_hex(self.to_bytes())


_CT_OPEN: Final = b'{"ciphertext":"'
_CT_CLOSE: Final = b'","header":'


def parse_envelope(data: bytes | str | Mapping[str, Any]) -> Envelope:
    """Parse wire bytes (or an already-decoded object) into an :class:`Envelope`."""
    obj: object
    if isinstance(data, bytes | str):
        if len(data) > MAX_ENVELOPE_BYTES:
            raise ProtocolError("envelope is too large", code="payload-too-large")
        if isinstance(data, bytes):
            envelope = _parse_laid_out(data)
            if envelope is not None:
                return envelope
        obj = loads_strict(data)
    else:
        obj = data
    if not isinstance(obj, Mapping):
        raise ProtocolError("envelope must be a JSON object", code="wrong-type")
    _exact_keys(obj, ("header", "ciphertext"), "envelope")
    header = Header.from_json(obj["header"])
    text = obj["ciphertext"]
    if not isinstance(text, str):
        raise ProtocolError("ciphertext must be a string", code="wrong-type")
    if len(text) > MAX_ENVELOPE_BYTES:
        raise ProtocolError("ciphertext is too large", code="payload-too-large")
    envelope = Envelope(header=header, ciphertext=b64decode(text, field="ciphertext"))
    object.__setattr__(envelope, "_b64", text)  # b64decode takes only the canonical text
    return envelope


def _parse_laid_out(data: bytes) -> Envelope | None:
    """The envelope in ``data`` if it is laid out as :meth:`Envelope.to_bytes` writes it
    (``{"ciphertext":"…","header":…}``, no space around the first members), else None.

    The ciphertext is then sliced out, not scanned as JSON text: base64url has no quote,
    backslash or non-ASCII character, and the slice must be base64url. Only the header
    goes through the JSON parser. Any failure returns None and the general parser
    decides, so what this accepts, and every error, is exactly what that accepts and
    raises.
    """
    if not (data.startswith(_CT_OPEN) and data.endswith(b"}")):
        return None
    end = data.find(b'"', len(_CT_OPEN))
    if end < 0 or not data.startswith(_CT_CLOSE, end):
        return None
    try:
        text = data[len(_CT_OPEN) : end].decode("ascii")
        ciphertext = b64decode(text, field="ciphertext")
        header_json = data[end + len(_CT_CLOSE) : -1]
        header = Header.from_json(loads_strict(header_json))
    except (ProtocolError, UnicodeDecodeError):
        return None
    envelope = Envelope(header=header, ciphertext=ciphertext)
    if header_json == header.canonical():
        object.__setattr__(envelope, "_wire", data)  # already the canonical form
    else:
        object.__setattr__(envelope, "_b64", text)
    return envelope


def loads_strict(data: bytes | bytearray | str) -> Any:
    """``json.loads`` that refuses duplicate keys, NaN/Infinity and bad UTF-8."""
    try:
        # Bytes must be UTF-8 (RFC 8259 section 8.1): json.loads would also take
        # UTF-16/32 and a UTF-8 byte order mark.
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return _STRICT.decode(text)
    except (ValueError, RecursionError) as exc:
        code = exc.code if isinstance(exc, ProtocolError) else "malformed-json"
        raise ProtocolError("body is not valid JSON", code=code) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ProtocolError("duplicate key in JSON object", code="malformed-json")
    return out


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not allowed in JSON", code="malformed-json")


# One decoder for every call (json.loads with hooks builds a new one, and its scanner,
# each time). The default strict=True refuses control characters inside strings.
_STRICT: Final = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _exact_keys(obj: Mapping[str, Any], expected: tuple[str, ...], where: str) -> None:
    missing = [k for k in expected if k not in obj]
    if missing:
        raise ProtocolError(f"{where} lacks {', '.join(missing)}", code="missing-field")
    if len(obj) != len(expected):  # every expected key is there: anything more is extra
        extra = [k for k in obj if k not in expected]
        raise ProtocolError(f"{where} has {len(extra)} unexpected field(s)", code="unknown-field")


def _text(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"header.{key} must be a string", code="wrong-type")
    if len(value) > _MAX_TEXT:
        raise ProtocolError(f"header.{key} is too long", code="field-too-large")
    return value if type(value) is str else str.__str__(value)  # a subclass's plain value


def _pattern(value: str, pattern: re.Pattern[str], key: str) -> str:
    if pattern.fullmatch(value) is None:
        raise ProtocolError(f"header.{key} has an invalid form", code="malformed")
    return value


def _fingerprint(value: str, key: str) -> str:
    if _FINGERPRINT.fullmatch(value) is None:
        raise ProtocolError(f"header.{key} is not a key fingerprint", code="bad-fingerprint")
    return value
