"""Log entries: the contract's fields, RFC 8785 bytes, strict parsing of hostile input."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.log import LogEntry, entry_bytes, parse_entry
from hub.log.entries import EntryBasis, EntryKey, EntryOverride
from hub.log.search import COLUMNS, csv_row
from hub.protocol.canonical import canonical_json
from hub.protocol.errors import ProtocolError

AT = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def test_bytes_follow_the_contract() -> None:
    entry = LogEntry(
        kind="disclosure",
        at=AT.astimezone(timezone(timedelta(hours=1))),
        actor="coordinator:sam",
        envelope_id="01JABC",
        case_refs=("C-2", "C-1"),
        basis=EntryBasis(id="s115", version="2"),
        override=EntryOverride(id="o1", justification_sha256="ab" * 32),
    )
    data = entry_bytes(entry)
    assert data == (
        b'{"actor":"coordinator:sam","at":"2026-11-23T10:00:00.123456Z",'
        b'"basis":{"id":"s115","version":"2"},"case_refs":["C-2","C-1"],'
        b'"envelope_id":"01JABC","kind":"disclosure","override":{"id":"o1",'
        b'"justification_sha256":"' + b"ab" * 32 + b'"},"v":1}'
    )
    assert parse_entry(data) == entry


HOSTILE = [
    'quote " backslash \\ slash /',
    "\x00\x01\x1f\x7f\b\f\n\r\t",
    "\u2028\u2029 é 中文 😀 \ufeff",
    "</script><script>",
]


def test_fast_bytes_equal_rfc8785_on_hostile_strings() -> None:
    rng = random.Random(7)
    alphabet = [chr(c) for c in (*range(0, 0x80), 0xE9, 0x2028, 0xFFFF, 0x1F600, 0x10FFFF)]
    strings = HOSTILE + ["".join(rng.choice(alphabet) for _ in range(20)) for _ in range(300)]
    for text in strings:
        entry = LogEntry(
            kind="review",
            at=AT,
            actor=text[:200] or "x",
            case_refs=(text[:200] or "x", "b"),
            key=EntryKey(role="encryption", fingerprint="0" * 64, suite=text[:200] or "x"),
        )
        assert entry_bytes(entry) == canonical_json(
            entry.model_dump(mode="json", exclude_none=True)
        )


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="unicode"):
        LogEntry(kind="review", at=AT, actor="\ud800")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"not json",
        b'{"v":1}',
        b'{"v":2,"kind":"review","at":"2026-11-23T10:00:00Z","actor":"a"}',
        b'{"v":1,"kind":"gossip","at":"2026-11-23T10:00:00Z","actor":"a"}',
        b'{"v":1,"kind":"review","at":"2026-11-23T10:00:00","actor":"a"}',
        b'{"v":1,"kind":"review","at":"2026-11-23T10:00:00Z","actor":"a","name":"Jo"}',
        b'{"v":1,"kind":"review","at":"2026-11-23T10:00:00Z","actor":"a","actor":"b"}',
        b'{"v":1,"kind":"review","at":"2026-11-23T10:00:00Z","actor":"' + b"a" * 201 + b'"}',
        b'{"v":1,"kind":"review","at":"2026-11-23T10:00:00Z","actor":"a","key":{"role":"x"}}',
        b"[" * 100_000,
        b'{"v":1,"kind":"review","actor":"' + b"a" * 70_000 + b'"}',
        b"\xff\xfe",
    ],
)
def test_malformed_hostile_and_oversized_entries_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_entry(data)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        LogEntry(kind="review", at=datetime(2026, 1, 1), actor="a")


def test_the_csv_export_names_the_format_of_a_disclosure() -> None:
    entry = LogEntry(
        kind="disclosure",
        at=datetime(2026, 11, 23, tzinfo=UTC),
        actor="hub",
        recipient="health-east",
        message_type="case_extract",
        format="fhir-r4",
    )
    row = dict(zip(COLUMNS, csv_row(7, entry_bytes(entry)), strict=True))
    assert (row["index"], row["message_type"], row["format"]) == ("7", "case_extract", "fhir-r4")
