"""Log entries: what one disclosure (or key, status, review, retention event) records.

An entry holds no names or free text about people: case references, pseudonymous
subject ids, agency ids, purposes, field names, hashes, the lawful basis and who acted.
Its bytes are the RFC 8785 canonical JSON of the model, absent fields omitted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, field_validator

from hub.protocol.canonical import canonical_json
from hub.protocol.envelope import format_timestamp, loads_strict
from hub.protocol.errors import ProtocolError

__all__ = ["KINDS", "EntryBasis", "EntryKey", "EntryOverride", "LogEntry", "Kind", "entry_bytes"]

Kind = Literal[
    "disclosure",
    "refusal",
    "override",
    "review",
    "key_registered",
    "key_rotated",
    "key_revoked",
    "agency_status",
    "retention",
    "access",
    "amendment",  # a referral amended: who, when, the door, the changed field names
]
KINDS: Final = get_args(Kind)
KEY_KINDS: Final = ("key_registered", "key_rotated", "key_revoked")
MAX_ENTRY_BYTES: Final = 64 * 1024

Short = Annotated[str, Field(min_length=1, max_length=200)]
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Names = tuple[Short, ...]
Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class EntryBasis(_Strict):
    """The lawful basis a disclosure relied on: its record id and version."""

    id: Short
    version: Short


class EntryOverride(_Strict):
    """A coordinator's override: its id and the SHA-256 of the written justification."""

    id: Short
    justification_sha256: Hex64


class EntryKey(_Strict):
    """A key an entry registers, rotates or revokes."""

    role: Literal["identity", "encryption"]
    fingerprint: Hex64
    suite: Short


class LogEntry(_Strict):
    """One entry of the disclosure log (see docs/internals.md for the contract)."""

    v: Literal[1] = 1
    kind: Kind
    at: Timestamp
    actor: Short
    envelope_id: Short | None = None
    envelope_sha256: Hex64 | None = None
    payload_sha256: Hex64 | None = None
    case_refs: Names | None = None
    subject_ids: Names | None = None
    sender: Short | None = None
    recipient: Short | None = None
    purpose: Short | None = None
    message_type: Short | None = None
    format: Short | None = None  # of a disclosure's sealed payload: json, fhir-r4, pole, ...
    fields: Names | None = None
    data_categories: Names | None = None
    basis: EntryBasis | None = None
    consent: Short | None = None
    policy_version: Short | None = None
    override: EntryOverride | None = None
    refusal_code: Short | None = None
    agency: Short | None = None
    key: EntryKey | None = None
    status: Short | None = None
    door: Literal["api", "web", "cli"] | None = None  # where a person acted (access, ...)
    requested_by: Short | None = None  # a four-eyes approval: who asked for it

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        return value.astimezone(UTC)


def entry_bytes(entry: LogEntry) -> bytes:
    """The entry's RFC 8785 canonical JSON, absent (None) fields omitted: what is hashed.

    An entry holds only ASCII keys, strings and the integer ``v``; for those,
    ``json.dumps`` with sorted keys, no spaces and no ASCII escaping is byte for byte
    RFC 8785 (tests/log/test_log_entries.py checks it against ``canonical_json`` on
    hostile strings) and ~20x faster. (The model refuses lone surrogates; should one
    get through, ``canonical_json`` refuses it.)
    """
    doc = entry.model_dump(mode="json", exclude_none=True)
    try:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return canonical_json(doc)


def parse_entry(data: bytes) -> LogEntry:
    """Parse stored or received entry bytes strictly (``ProtocolError`` if malformed)."""
    if len(data) > MAX_ENTRY_BYTES:
        raise ProtocolError("log entry is too large", code="field-too-large")
    doc: Any = loads_strict(data)
    try:
        return LogEntry.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "entry"
        raise ProtocolError(f"malformed log entry at {where}: {first['msg']}") from None
