"""The sealed envelope: a clear header and an HPKE ciphertext.

Parsing is strict and total: any deviation from the wire format raises a
:class:`~hub.protocol.errors.ProtocolError` with a stable code, and nothing that
parses can be re-serialised differently (the header is signed and bound to the
ciphertext as HPKE ``info``, so it must round-trip byte for byte).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ulid import ULID

from hub.protocol.canonical import b64decode, b64encode, canonical_json, sha256_hex
from hub.protocol.errors import ProtocolError
from hub.protocol.messages import MESSAGE_TYPES

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
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_MAX_TEXT: Final = 128


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
    """The clear, signed header of an envelope (DESIGN.md: the wire protocol)."""

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
        return canonical_json(self.to_json())

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
        version = obj["v"]
        if type(version) is not int:
            raise ProtocolError("header.v must be an integer", code="wrong-type")
        if version != PROTOCOL_VERSION:
            # Not the value: str() of a huge int raises ValueError (and echoes input).
            raise ProtocolError(
                f"protocol version is not supported (this end speaks {PROTOCOL_VERSION})",
                code="unsupported-version",
            )
        msg_type = _text(obj, "type")
        if msg_type not in MESSAGE_TYPES:
            raise ProtocolError("unknown message type", code="unknown-type")
        suite = _text(obj, "suite")
        if suite not in SUITES:
            raise ProtocolError("unknown cipher suite", code="unknown-suite")
        envelope_id = _text(obj, "id")
        try:
            if str(ULID.from_str(envelope_id)) != envelope_id:
                raise ValueError(envelope_id)
        except ValueError:
            raise ProtocolError("header.id is not a canonical ULID", code="bad-ulid") from None
        sent_at = _text(obj, "sent_at")
        parse_timestamp(sent_at, field="header.sent_at")
        case_ref = obj["case_ref"]
        if case_ref is not None:
            case_ref = _text(obj, "case_ref")
            _pattern(case_ref, _CASE_REF, "case_ref")
        header = cls(
            v=version,
            id=envelope_id,
            type=msg_type,
            sender=_pattern(_text(obj, "from"), _PARTY, "from"),
            recipient=_pattern(_text(obj, "to"), _PARTY, "to"),
            sent_at=sent_at,
            case_ref=case_ref,
            sender_key=_fingerprint(_text(obj, "sender_key"), "sender_key"),
            recipient_key=_fingerprint(_text(obj, "recipient_key"), "recipient_key"),
            suite=suite,
        )
        return header


@dataclass(frozen=True, slots=True)
class Envelope:
    """A header and the HPKE ciphertext (``enc || ct``) it is bound to."""

    header: Header
    ciphertext: bytes

    def to_json(self) -> dict[str, Any]:
        """The envelope as its wire JSON object."""
        return {"header": self.header.to_json(), "ciphertext": b64encode(self.ciphertext)}

    def to_bytes(self) -> bytes:
        """Canonical wire bytes of the envelope.

        Built directly: the members are in RFC 8785 order, the header is canonical and
        base64url never needs escaping, so this equals ``canonical_json(self.to_json())``.
        """
        return (
            b'{"ciphertext":"'
            + b64encode(self.ciphertext).encode("ascii")
            + b'","header":'
            + self.header.canonical()
            + b"}"
        )

    def digest(self) -> str:
        """Hex SHA-256 of the canonical envelope: what receipts sign."""
        return sha256_hex(self.to_bytes())


def parse_envelope(data: bytes | str | Mapping[str, Any]) -> Envelope:
    """Parse wire bytes (or an already-decoded object) into an :class:`Envelope`."""
    obj: object
    if isinstance(data, bytes | str):
        if len(data) > MAX_ENVELOPE_BYTES:
            raise ProtocolError("envelope is too large", code="payload-too-large")
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
    return Envelope(header=header, ciphertext=b64decode(text, field="ciphertext"))


def loads_strict(data: bytes | str) -> Any:
    """``json.loads`` that refuses duplicate keys, NaN/Infinity and bad UTF-8."""
    try:
        # Bytes must be UTF-8 (RFC 8259 section 8.1): json.loads would also take
        # UTF-16/32 and a UTF-8 byte order mark.
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        code = exc.code if isinstance(exc, ProtocolError) else "malformed-json"
        raise ProtocolError("body is not valid JSON", code=code) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ProtocolError("duplicate key in JSON object", code="malformed-json")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not allowed in JSON", code="malformed-json")


def _exact_keys(obj: Mapping[str, Any], expected: tuple[str, ...], where: str) -> None:
    missing = [k for k in expected if k not in obj]
    if missing:
        raise ProtocolError(f"{where} lacks {', '.join(missing)}", code="missing-field")
    extra = [k for k in obj if k not in expected]
    if extra:
        raise ProtocolError(f"{where} has {len(extra)} unexpected field(s)", code="unknown-field")


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise ProtocolError(f"header.{key} must be a string", code="wrong-type")
    if len(value) > _MAX_TEXT:
        raise ProtocolError(f"header.{key} is too long", code="field-too-large")
    return value


def _pattern(value: str, pattern: re.Pattern[str], key: str) -> str:
    if pattern.fullmatch(value) is None:
        raise ProtocolError(f"header.{key} has an invalid form", code="malformed")
    return value


def _fingerprint(value: str, key: str) -> str:
    if _FINGERPRINT.fullmatch(value) is None:
        raise ProtocolError(f"header.{key} is not a key fingerprint", code="bad-fingerprint")
    return value
