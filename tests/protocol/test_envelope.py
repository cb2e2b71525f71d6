"""Strict parsing of sealed envelopes (DESIGN.md: the wire protocol).

Envelopes are built by hand from a :class:`Header` and random ciphertext bytes: the
parser never looks inside the ciphertext, so no cryptography is needed here.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ulid import ULID

from hub.protocol import (
    MESSAGE_TYPES,
    PROBLEM_TYPES,
    PROTOCOL_VERSION,
    SUITE_HYBRID,
    SUITE_X25519,
    SUITES,
    Envelope,
    Header,
    ProtocolError,
    b64encode,
    canonical_json,
    format_timestamp,
    parse_envelope,
    parse_timestamp,
)
from hub.protocol.envelope import HEADER_FIELDS, MAX_ENVELOPE_BYTES

SENDER_KEY = hashlib.sha256(b"hub identity key").hexdigest()
RECIPIENT_KEY = hashlib.sha256(b"police encryption key").hexdigest()
ENVELOPE_ID = "01HZX3K8N5VQ2W7R9T4M6P1C0D"


def make_header(**changes: Any) -> Header:
    fields: dict[str, Any] = {
        "id": ENVELOPE_ID,
        "type": "case_extract",
        "sender": "hub",
        "recipient": "met-police",
        "sent_at": "2024-05-01T09:30:00.123456Z",
        "case_ref": "MARAC-2024-0117",
        "sender_key": SENDER_KEY,
        "recipient_key": RECIPIENT_KEY,
        "suite": SUITE_X25519,
    }
    fields.update(changes)
    return Header(**fields)


def make_envelope(ciphertext: bytes | None = None, **changes: Any) -> Envelope:
    if ciphertext is None:
        ciphertext = os.urandom(32 + 200)
    return Envelope(header=make_header(**changes), ciphertext=ciphertext)


def wire(env: Envelope | None = None) -> dict[str, Any]:
    """A fresh, mutable wire object (as ``json.loads`` would give it)."""
    result: dict[str, Any] = json.loads((env or make_envelope()).to_bytes())
    return result


def refused(data: Any, code: str) -> ProtocolError:
    """Parse ``data`` expecting a ProtocolError with ``code``; return the error."""
    assert code in PROBLEM_TYPES, f"{code} is not a registered problem type"
    with pytest.raises(ProtocolError) as info:
        parse_envelope(data)
    assert info.value.code == code, info.value.diagnostics()
    return info.value


def with_header(**changes: Any) -> dict[str, Any]:
    obj = wire()
    obj["header"].update(changes)
    return obj


def as_all_forms(obj: dict[str, Any]) -> list[Any]:
    """The same wire object as a dict, a str and bytes."""
    text = json.dumps(obj)
    return [obj, text, text.encode("utf-8")]


# --- valid envelopes ---------------------------------------------------------------


def test_valid_envelope_round_trips_byte_for_byte() -> None:
    env = make_envelope()
    data = env.to_bytes()
    parsed = parse_envelope(data)
    assert parsed == env
    assert parsed.to_bytes() == data
    assert parsed.digest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("form", ["bytes", "str", "dict"])
def test_parses_bytes_str_and_dicts_alike(form: str) -> None:
    env = make_envelope()
    data = env.to_bytes()
    given_data: Any = {
        "bytes": data,
        "str": data.decode("utf-8"),
        "dict": json.loads(data),
    }[form]
    parsed = parse_envelope(given_data)
    assert parsed == env
    assert parsed.to_bytes() == data


def test_wire_form_is_canonical_json() -> None:
    env = make_envelope(ciphertext=b"\xfb\xff\x00")
    data = env.to_bytes()
    # Keys sorted, no whitespace, unpadded base64url.
    assert data.startswith(b'{"ciphertext":"-_8A","header":{"case_ref":"MARAC-2024-0117",')
    assert b" " not in data
    assert b"\n" not in data
    header = json.loads(data, object_pairs_hook=lambda pairs: pairs)[1][1]
    assert [k for k, _ in header] == sorted(HEADER_FIELDS)


def test_non_canonical_input_parses_and_reserialises_canonically() -> None:
    env = make_envelope()
    pretty = json.dumps(wire(env), indent=2, sort_keys=False)
    parsed = parse_envelope(pretty)
    assert parsed == env
    assert parsed.to_bytes() == env.to_bytes()


def test_header_json_uses_wire_names() -> None:
    header = make_header()
    obj = header.to_json()
    assert obj["from"] == "hub"
    assert obj["to"] == "met-police"
    assert obj["v"] == PROTOCOL_VERSION == 1
    assert "sender" not in obj
    assert "recipient" not in obj
    assert header.canonical() == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def test_case_ref_may_be_null() -> None:
    env = make_envelope(case_ref=None, type="notice")
    data = env.to_bytes()
    assert b'"case_ref":null' in data
    assert parse_envelope(data) == env


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_both_suites_accepted(suite: str) -> None:
    env = make_envelope(suite=suite)
    assert parse_envelope(env.to_bytes()).header.suite == suite


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_every_message_type_accepted(msg_type: str) -> None:
    env = make_envelope(type=msg_type)
    assert parse_envelope(env.to_bytes()).header.type == msg_type


@pytest.mark.parametrize(
    "sent_at",
    [
        "2024-05-01T09:30:00Z",
        "2024-05-01T09:30:00.1Z",
        "2024-05-01T09:30:00.000000Z",
        "2024-02-29T23:59:59.999999Z",  # leap year
    ],
)
def test_accepted_timestamps_are_kept_verbatim(sent_at: str) -> None:
    env = make_envelope(sent_at=sent_at)
    parsed = parse_envelope(env.to_bytes())
    assert parsed.header.sent_at == sent_at
    assert parsed.header.sent_at_datetime.tzinfo is not None
    assert parsed.header.sent_at_datetime.utcoffset() == timedelta(0)


def test_sent_at_datetime() -> None:
    header = make_header(sent_at="2024-05-01T09:30:00.123456Z")
    assert header.sent_at_datetime == datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "ulid",
    ["00000000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", str(ULID())],
    ids=["zero", "largest", "fresh"],  # a fresh ULID's id would differ between xdist workers
)
def test_ulid_extremes_accepted(ulid: str) -> None:
    assert parse_envelope(make_envelope(id=ulid).to_bytes()).header.id == ulid


@pytest.mark.parametrize(
    "party", ["hub", "a", "met-police", "nhs.trust_01", "0", "a" * 64, "x" * 1 + "-._" * 21]
)
def test_party_forms_accepted(party: str) -> None:
    env = make_envelope(sender=party, recipient=party)
    assert parse_envelope(env.to_bytes()).header.sender == party


def test_empty_ciphertext_is_well_formed() -> None:
    # An empty ciphertext cannot be opened, but that is the crypto layer's business.
    assert parse_envelope(make_envelope(ciphertext=b"").to_bytes()).ciphertext == b""


# --- version, type, suite ------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 2, -1, 99, 2**63])
def test_unknown_version(version: int) -> None:
    for data in as_all_forms(with_header(v=version)):
        refused(data, "unsupported-version")


def test_huge_version_in_a_dict_is_refused_cleanly() -> None:
    # str() of an int this long raises ValueError; the parser must not try.
    obj = with_header(v=10**5000)
    error = refused(obj, "unsupported-version")
    assert "0000000000" not in str(error)


@pytest.mark.parametrize("version", [True, False, "1", 1.0, None, [1], {"v": 1}])
def test_version_of_wrong_json_type(version: object) -> None:
    for data in as_all_forms(with_header(v=version)):
        refused(data, "wrong-type")


@pytest.mark.parametrize(
    "msg_type", ["", "Agenda", "agenda ", "minute", "case-extract", "__class__", "x" * 128]
)
def test_unknown_type(msg_type: str) -> None:
    for data in as_all_forms(with_header(type=msg_type)):
        refused(data, "unknown-type")


@pytest.mark.parametrize(
    "suite",
    [
        "",
        "hpke-x25519-sha256-aes128gcm",
        SUITE_X25519.upper(),
        SUITE_HYBRID + " ",
        "none",
    ],
)
def test_unknown_suite(suite: str) -> None:
    for data in as_all_forms(with_header(suite=suite)):
        refused(data, "unknown-suite")


# --- ULIDs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        ENVELOPE_ID.lower(),  # non-canonical lowercase
        ENVELOPE_ID[:-1].lower() + ENVELOPE_ID[-1],
        ENVELOPE_ID[:-1],  # 25 characters
        ENVELOPE_ID + "0",  # 27 characters
        "",
        "I" + ENVELOPE_ID[1:],  # not in Crockford's alphabet
        ENVELOPE_ID[:10] + "L" + ENVELOPE_ID[11:],
        ENVELOPE_ID[:10] + "O" + ENVELOPE_ID[11:],
        ENVELOPE_ID[:10] + "U" + ENVELOPE_ID[11:],
        ENVELOPE_ID[:10] + "-" + ENVELOPE_ID[11:],
        "8" + ENVELOPE_ID[1:],  # overflows 128 bits
        "Z" + ENVELOPE_ID[1:],
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "\u0663" + ENVELOPE_ID[1:],  # ARABIC-INDIC DIGIT THREE
        "01HZX3K8N5VQ2W7R-T4M6P1C0D",
        "01hzx3k8-n5vq-2w7r-9t4m-6p1c0d",
    ],
)
def test_bad_ulid(bad_id: str) -> None:
    for data in as_all_forms(with_header(id=bad_id)):
        refused(data, "bad-ulid")


def test_overlong_id_is_field_too_large() -> None:
    refused(with_header(id="0" * 129), "field-too-large")


# --- timestamps --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent_at", ["2024-05-01T09:30:00", "2024-05-01T09:30:00.123456", "2024-02-30T00:00:00"]
)
def test_naive_timestamp(sent_at: str) -> None:
    for data in as_all_forms(with_header(sent_at=sent_at)):
        refused(data, "naive-timestamp")


@pytest.mark.parametrize(
    "sent_at",
    [
        "2024-05-01T10:30:00+01:00",  # non-UTC offset
        "2024-05-01T09:30:00+00:00",  # UTC, but not written with Z
        "2024-05-01T09:30:00-00:00",
        "2024-05-01T04:30:00.5-05:00",
        "2024-02-30T00:00:00Z",  # Feb 30
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T23:60:00Z",
        "2024-05-01T23:59:60Z",  # leap seconds are not representable
        "garbage",
        "",
        "2024-05-01",
        "2024-05-01T09:30Z",
        "2024-05-01 09:30:00Z",
        "2024-05-01t09:30:00z",
        "2024-05-01T09:30:00z",
        "2024-05-01T09:30:00.Z",
        "2024-05-01T09:30:00.1234567Z",
        "20240501T093000Z",
        " 2024-05-01T09:30:00Z",
        "2024-05-01T09:30:00Z\n",
        "\u0662\u0660\u0662\u0664-05-01T09:30:00Z",  # non-ASCII digits
        "2024-05-01T09:30:00ZZ",
        "1714555800",
    ],
)
def test_bad_timestamp(sent_at: str) -> None:
    for data in as_all_forms(with_header(sent_at=sent_at)):
        refused(data, "bad-timestamp")


@pytest.mark.parametrize("sent_at", [1714555800, 1714555800.0, None, ["2024-05-01T09:30:00Z"]])
def test_timestamp_of_wrong_type(sent_at: object) -> None:
    refused(with_header(sent_at=sent_at), "wrong-type")


def test_parse_timestamp_names_its_field() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_timestamp("2024-05-01T09:30:00", field="responded_at")
    assert info.value.code == "naive-timestamp"
    assert "responded_at" in info.value.message
    with pytest.raises(ProtocolError) as info:
        parse_timestamp(17, field="responded_at")
    assert info.value.code == "wrong-type"


def test_format_timestamp_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2024, 5, 1, 9, 30))


def test_format_timestamp_converts_to_utc() -> None:
    moment = datetime(2024, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2024-05-01T09:30:00.000000Z"


def test_format_timestamp_remembers_only_what_it_wrote() -> None:
    """Formatted once per moment (a batch seals many envelopes at one): the same instant
    in another zone is the same text; a naive datetime is refused every time."""
    utc = datetime(2024, 5, 1, 9, 30, 0, 17, tzinfo=UTC)
    later = datetime(2024, 5, 1, 11, 30, 0, 17, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(utc) == format_timestamp(later) == "2024-05-01T09:30:00.000017Z"
    assert format_timestamp(utc + timedelta(microseconds=1)) == "2024-05-01T09:30:00.000018Z"
    for _ in range(2):
        with pytest.raises(ValueError, match="timezone-aware"):
            format_timestamp(datetime(2024, 5, 1, 9, 30, 0, 17))


def test_format_timestamp_pads_early_years() -> None:
    text = format_timestamp(datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert text == "0005-01-02T03:04:05.000006Z"
    assert parse_timestamp(text) == datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


@given(
    moment=st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.builds(
            timezone, st.integers(-23 * 60 + 1, 23 * 60 - 1).map(lambda m: timedelta(minutes=m))
        ),
    )
)
def test_format_and_parse_timestamp_round_trip(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert parse_timestamp(text) == moment
    assert format_timestamp(parse_timestamp(text)) == text
    assert parse_envelope(make_envelope(sent_at=text).to_bytes()).header.sent_at == text


# --- party names, case references, fingerprints -----------------------------------


@pytest.mark.parametrize("key", ["from", "to"])
@pytest.mark.parametrize(
    "value",
    ["", "Met-Police", "-police", ".police", "police force", "a" * 65, "police\n", "pölice"],
)
def test_bad_party_is_malformed(key: str, value: str) -> None:
    refused(with_header(**{key: value}), "malformed")


@pytest.mark.parametrize(
    "case_ref", ["", "-MARAC", "MARAC 2024", "MARAC/2024", "A" * 41, "MARAC_1", "MARAC-1\n"]
)
def test_bad_case_ref_is_malformed(case_ref: str) -> None:
    refused(with_header(case_ref=case_ref), "malformed")


@pytest.mark.parametrize("case_ref", [17, True, ["MARAC-1"], {"ref": "MARAC-1"}])
def test_case_ref_of_wrong_type(case_ref: object) -> None:
    refused(with_header(case_ref=case_ref), "wrong-type")


@pytest.mark.parametrize("key", ["sender_key", "recipient_key"])
@pytest.mark.parametrize(
    "value",
    [
        SENDER_KEY.upper(),
        SENDER_KEY[:-1],
        SENDER_KEY + "0",
        "g" * 64,
        "",
        " " + SENDER_KEY[1:],
        SENDER_KEY[:-1] + "\n",
        b64encode(bytes.fromhex(SENDER_KEY)),  # base64, not hex
        "sha256:" + SENDER_KEY[:57],
    ],
)
def test_bad_fingerprint(key: str, value: str) -> None:
    for data in as_all_forms(with_header(**{key: value})):
        refused(data, "bad-fingerprint")


@pytest.mark.parametrize(
    "key",
    ["id", "type", "from", "to", "sent_at", "case_ref", "sender_key", "recipient_key", "suite"],
)
def test_oversized_header_field(key: str) -> None:
    for data in as_all_forms(with_header(**{key: "A" * 129})):
        refused(data, "field-too-large")


@pytest.mark.parametrize(
    "key", ["id", "type", "from", "to", "sent_at", "sender_key", "recipient_key", "suite"]
)
@pytest.mark.parametrize("value", [None, 1, 1.5, True, [], {}])
def test_text_field_of_wrong_type(key: str, value: object) -> None:
    refused(with_header(**{key: value}), "wrong-type")


# --- missing, unknown, structure ---------------------------------------------------


@pytest.mark.parametrize("key", HEADER_FIELDS)
def test_missing_header_field(key: str) -> None:
    obj = wire()
    del obj["header"][key]
    for data in as_all_forms(obj):
        refused(data, "missing-field")


@pytest.mark.parametrize("key", ["header", "ciphertext"])
def test_missing_envelope_field(key: str) -> None:
    obj = wire()
    del obj[key]
    for data in as_all_forms(obj):
        refused(data, "missing-field")


@pytest.mark.parametrize("key", ["sender", "recipient", "V", "signature", "payload", ""])
def test_unknown_header_field(key: str) -> None:
    obj = wire()
    obj["header"][key] = "x"
    for data in as_all_forms(obj):
        refused(data, "unknown-field")


@pytest.mark.parametrize("key", ["signature", "Header", "enc", "payload"])
def test_unknown_envelope_field(key: str) -> None:
    obj = wire()
    obj[key] = "x"
    for data in as_all_forms(obj):
        refused(data, "unknown-field")


def test_unknown_field_error_does_not_echo_the_key() -> None:
    obj = wire()
    obj["header"]["Jane Victim-Secret"] = "x"
    error = refused(obj, "unknown-field")
    assert "Jane" not in str(error)


def test_renamed_field_is_missing_first() -> None:
    obj = wire()
    obj["header"]["sender"] = obj["header"].pop("from")
    refused(obj, "missing-field")


@pytest.mark.parametrize("header", [[], "header", 1, None, True])
def test_header_not_an_object(header: object) -> None:
    obj = wire()
    obj["header"] = header
    for data in as_all_forms(obj):
        refused(data, "wrong-type")


@pytest.mark.parametrize("ciphertext", [None, 1, [], {}, True])
def test_ciphertext_not_a_string(ciphertext: object) -> None:
    obj = wire()
    obj["ciphertext"] = ciphertext
    for data in as_all_forms(obj):
        refused(data, "wrong-type")


def test_ciphertext_as_python_bytes_is_wrong_type() -> None:
    obj = wire()
    obj["ciphertext"] = os.urandom(8)
    refused(obj, "wrong-type")


@pytest.mark.parametrize(
    "data", [b"[]", b'"envelope"', b"1", b"null", b"true", b"3.5", "[]", "[{}]", [], ()]
)
def test_json_that_is_not_an_object(data: Any) -> None:
    refused(data, "wrong-type")


# --- base64 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ciphertext",
    [
        "AAAA=",
        "AA==",
        "AAA=",
        "ab+/",  # standard alphabet, not base64url
        "ab+-",
        "a/b_",
        "AB",  # non-canonical: trailing bits set
        "AAB",
        "A",  # impossible length
        "AAAAA",
        "AA AA",
        "AAAA\n",
        " AAAA",
        "AA\tAA",
        "AA.A",
        "AA!A",
        "\u00e9\u00e9\u00e9\u00e9",
        "\ud800AAA",
        "=",
        "====",
    ],
)
def test_bad_base64(ciphertext: str) -> None:
    obj = wire()
    obj["ciphertext"] = ciphertext
    refused(obj, "bad-base64")
    refused(json.dumps(obj), "bad-base64")


def test_padded_base64_of_valid_ciphertext_refused() -> None:
    raw = os.urandom(31)
    obj = wire(make_envelope(ciphertext=raw))
    assert len(obj["ciphertext"]) % 4 != 0
    obj["ciphertext"] += "=" * (-len(obj["ciphertext"]) % 4)
    refused(obj, "bad-base64")


# --- sizes -------------------------------------------------------------------------


def _largest_fitting_envelope() -> bytes:
    overhead = len(make_envelope(ciphertext=b"").to_bytes())
    room = MAX_ENVELOPE_BYTES - overhead
    raw_len = room * 3 // 4
    data = make_envelope(ciphertext=b"\x00" * raw_len).to_bytes()
    while len(data) > MAX_ENVELOPE_BYTES:  # pragma: no cover - depends on arithmetic
        raw_len -= 1
        data = make_envelope(ciphertext=b"\x00" * raw_len).to_bytes()
    return data


def test_envelope_size_limit_is_exact() -> None:
    data = _largest_fitting_envelope()
    # Pad with insignificant whitespace to exactly the limit.
    at_limit = data[:-1] + b" " * (MAX_ENVELOPE_BYTES - len(data)) + b"}"
    assert len(at_limit) == MAX_ENVELOPE_BYTES
    assert parse_envelope(at_limit).to_bytes() == data
    over = at_limit[:-1] + b" }"
    assert len(over) == MAX_ENVELOPE_BYTES + 1
    refused(over, "payload-too-large")
    refused(over.decode("ascii"), "payload-too-large")


def test_oversized_garbage_is_refused_before_parsing() -> None:
    refused(b"[" * (MAX_ENVELOPE_BYTES + 1), "payload-too-large")


def test_oversized_ciphertext_in_a_dict() -> None:
    obj = wire()
    obj["ciphertext"] = "A" * (MAX_ENVELOPE_BYTES + 4)
    refused(obj, "payload-too-large")


# --- JSON strictness ---------------------------------------------------------------


def test_duplicate_key_in_envelope() -> None:
    text = make_envelope().to_bytes().decode()
    dup = text[:-1] + ',"ciphertext":"AAAA"}'
    refused(dup, "malformed-json")
    refused(dup.encode(), "malformed-json")


def test_duplicate_key_in_header() -> None:
    text = make_envelope().to_bytes().decode()
    dup = text.replace('"v":1', '"v":1,"v":1')
    assert dup != text
    refused(dup, "malformed-json")


def test_duplicate_key_in_header_with_different_values() -> None:
    text = make_envelope().to_bytes().decode()
    dup = text.replace('"to":"met-police"', '"to":"met-police","to":"hub"')
    assert dup != text
    refused(dup, "malformed-json")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers(constant: str) -> None:
    text = make_envelope().to_bytes().decode().replace('"v":1', f'"v":{constant}')
    refused(text, "malformed-json")
    refused(text.encode(), "malformed-json")


@pytest.mark.parametrize(
    "data",
    [
        b'{"header":"\xff","ciphertext":""}',
        b'{"header":"\xc3\x28","ciphertext":""}',
        b'{"header":"\xed\xa0\x80","ciphertext":""}',  # encoded surrogate
        b'{"header":"\xc0\xaf","ciphertext":""}',  # overlong encoding
        b"\xff\xfe",
    ],
)
def test_non_utf8_bytes(data: bytes) -> None:
    refused(data, "malformed-json")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_other_unicode_encodings_refused(encoding: str) -> None:
    text = make_envelope().to_bytes().decode()
    refused(text.encode(encoding), "malformed-json")


def test_byte_order_mark_in_str_refused() -> None:
    refused("\ufeff" + make_envelope().to_bytes().decode(), "malformed-json")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" ",
        b"{",
        b"}",
        b"{'header': 1}",
        b'{"header":1,}',
        b'{"header" 1}',
        b"[1,]",
        b"01",
        b"nul",
        b'"unterminated',
        b'"\\x41"',
        b"\x00",
        b"{} {}",
        b"{}x",
        b"/* comment */ {}",
        b"1" * 5000,  # beyond Python's int-to-str limit
    ],
)
def test_malformed_json(data: bytes) -> None:
    refused(data, "malformed-json")
    refused(data.decode("utf-8"), "malformed-json")


def test_trailing_garbage_after_valid_envelope() -> None:
    refused(make_envelope().to_bytes() + b"x", "malformed-json")


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"header":' + b"[" * 100_000 + b"]" * 100_000 + b',"ciphertext":""}',
    ],
)
def test_deeply_nested_json_does_not_crash(data: bytes) -> None:
    refused(data, "malformed-json")


def test_parser_still_works_after_deep_nesting() -> None:
    refused(b"[" * 100_000, "malformed-json")
    env = make_envelope()
    assert parse_envelope(env.to_bytes()) == env


def test_truncations_are_all_refused() -> None:
    data = make_envelope(ciphertext=os.urandom(12)).to_bytes()
    for end in range(len(data)):
        with pytest.raises(ProtocolError):
            parse_envelope(data[:end])


# --- properties --------------------------------------------------------------------

ulids = st.binary(min_size=16, max_size=16).map(lambda b: str(ULID.from_bytes(b)))
parties = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")
case_refs = st.none() | st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,39}\Z")
fingerprints = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
).map(format_timestamp)
headers = st.builds(
    Header,
    id=ulids,
    type=st.sampled_from(sorted(MESSAGE_TYPES)),
    sender=parties,
    recipient=parties,
    sent_at=timestamps,
    case_ref=case_refs,
    sender_key=fingerprints,
    recipient_key=fingerprints,
    suite=st.sampled_from(sorted(SUITES)),
)
envelopes = st.builds(Envelope, header=headers, ciphertext=st.binary(max_size=512))


@given(envelopes)
def test_any_valid_envelope_round_trips(env: Envelope) -> None:
    data = env.to_bytes()
    parsed = parse_envelope(data)
    assert parsed == env
    assert parsed.to_bytes() == data
    assert parse_envelope(data.decode("utf-8")) == env
    assert parse_envelope(json.loads(data)) == env


def _parses_or_protocol_error(data: Any) -> None:
    try:
        env = parse_envelope(data)
    except ProtocolError as exc:
        assert exc.code in PROBLEM_TYPES
        assert "\n" not in exc.diagnostics()
    else:
        # Whatever parses re-serialises to something that parses to the same thing.
        assert parse_envelope(env.to_bytes()) == env


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    _parses_or_protocol_error(data)


@given(st.text(max_size=2048))
def test_arbitrary_text_parses_or_raises_protocol_error(data: str) -> None:
    _parses_or_protocol_error(data)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_arbitrary_json_parses_or_raises_protocol_error(value: Any) -> None:
    _parses_or_protocol_error(value)
    _parses_or_protocol_error(json.dumps(value))
    _parses_or_protocol_error(json.dumps(value).encode())
    _parses_or_protocol_error({"header": value, "ciphertext": "AAAA"})


@given(st.sampled_from(HEADER_FIELDS), json_values | ulids | parties | timestamps | fingerprints)
def test_arbitrary_value_in_any_header_field(key: str, value: Any) -> None:
    obj = with_header(**{key: value})
    _parses_or_protocol_error(obj)
    _parses_or_protocol_error(json.dumps(obj))


@given(envelopes, st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mutated_envelopes_parse_or_raise_protocol_error(
    env: Envelope, data: st.DataObject
) -> None:
    raw = bytearray(env.to_bytes())
    mutate: Callable[[bytearray], None] = data.draw(
        st.sampled_from(
            [
                lambda b: b.__setitem__(
                    data.draw(st.integers(0, len(b) - 1)), data.draw(st.integers(0, 255))
                ),
                lambda b: b.__delitem__(data.draw(st.integers(0, len(b) - 1))),
                lambda b: b.insert(
                    data.draw(st.integers(0, len(b))),
                    data.draw(st.sampled_from(b'{}[]",:0aZ\\ \xff')),
                ),
            ]
        )
    )
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(raw)
    _parses_or_protocol_error(bytes(raw))


@given(st.text(alphabet=string.printable, max_size=64))
def test_arbitrary_ciphertext_text(text: str) -> None:
    obj = wire()
    obj["ciphertext"] = text
    _parses_or_protocol_error(obj)


@given(ciphertext=st.binary(max_size=300))
def test_to_bytes_is_the_rfc8785_form(ciphertext: bytes) -> None:
    """The hand-built wire form equals the canonical JSON of the envelope object."""
    envelope = Envelope(header=_fast_path_header(), ciphertext=ciphertext)
    assert envelope.to_bytes() == canonical_json(envelope.to_json())


def _fast_path_header() -> Header:
    return Header.from_json(
        {
            "v": 1,
            "id": "01KAQZ7Y3M8V4J9W2E6R5T1Q0P",
            "type": "notice",
            "from": "hub",
            "to": "police-north",
            "sent_at": "2026-11-23T10:30:00.000000Z",
            "case_ref": None,
            "sender_key": "a" * 64,
            "recipient_key": "b" * 64,
            "suite": "hpke-x25519-sha256-chacha20poly1305",
        }
    )


# --- the fast paths agree with the general ones -------------------------------------------


@given(headers)
def test_checked_header_template_is_rfc8785(header: Header) -> None:
    """A checked header's canonical bytes are built from a template: the general
    encoder writes the same bytes, and from_json and build check alike."""
    parsed = Header.from_json(header.to_json())
    assert parsed.canonical() == canonical_json(header.to_json())
    assert parsed == header
    built = Header.build(
        id=header.id,
        type=header.type,
        sender=header.sender,
        recipient=header.recipient,
        sent_at=header.sent_at,
        case_ref=header.case_ref,
        sender_key=header.sender_key,
        recipient_key=header.recipient_key,
        suite=header.suite,
    )
    assert built == parsed
    assert built.canonical() == parsed.canonical()


@pytest.mark.parametrize("key", ["id", "type", "sender", "recipient", "sent_at", "case_ref"])
def test_build_refuses_what_from_json_refuses(key: str) -> None:
    fields: dict[str, Any] = {
        "id": ENVELOPE_ID,
        "type": "notice",
        "sender": "hub",
        "recipient": "met-police",
        "sent_at": "2024-05-01T09:30:00.123456Z",
        "case_ref": None,
        "sender_key": SENDER_KEY,
        "recipient_key": RECIPIENT_KEY,
        "suite": SUITE_X25519,
    }
    fields[key] = 'bad"value\\'
    with pytest.raises(ProtocolError):
        Header.build(**fields)


def test_unicode_digits_are_not_a_timestamp() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_timestamp("\u0662\u0660\u0662\u0664-05-01T09:30:00Z")
    assert info.value.code == "bad-timestamp"


def test_header_subclass_strings_are_kept_as_plain_strings() -> None:
    class Party(str):
        def __str__(self) -> str:
            return "not-the-value"

        def __format__(self, spec: str) -> str:
            return '","injected":"'

    header = Header.build(
        id=ENVELOPE_ID,
        type="notice",
        sender=Party("hub"),
        recipient="met-police",
        sent_at="2024-05-01T09:30:00.123456Z",
        case_ref=None,
        sender_key=SENDER_KEY,
        recipient_key=RECIPIENT_KEY,
        suite=SUITE_X25519,
    )
    assert type(header.sender) is str
    assert header.canonical() == canonical_json(header.to_json())
    assert b"injected" not in header.canonical()


def _outcome(data: bytes | str) -> tuple[str, Any]:
    try:
        env = parse_envelope(data)
    except ProtocolError as exc:
        return "refused", exc.code
    assert env.to_bytes() == canonical_json(env.to_json())  # whatever it cached
    return "parsed", (env, env.to_bytes())


_LAYOUT_EDITS = [
    lambda w: w,
    lambda w: w.replace(b'"header":{', b'"header": {'),
    lambda w: w.replace(b'","header":', b'" ,"header":'),
    lambda w: w[:-1] + b" }",
    lambda w: w[:-2] + b" }}",
    lambda w: w[:-1] + b',"header":{}}',
    lambda w: w[:-1] + b',"ciphertext":"AAAA"}',
    lambda w: w.replace(b'{"ciphertext":"', b'{"ciphertext":"\\u0041', 1),
    lambda w: w.replace(b'{"ciphertext":"', b'{"ciphertext":"\\/', 1),
    lambda w: w.replace(b'{"ciphertext":"', b'{"ciphertext":"\x01', 1),
    lambda w: w.replace(b'"v":1', b'"v":1.0'),
    lambda w: w.replace(b'"v":1', b'"v":1,"v":1'),
    lambda w: w.replace(b'"case_ref":', b'"case_ref" :'),
    lambda w: w.replace(b'"type":"', b'"type":"\\u006e'),
]


@given(envelopes, st.sampled_from(range(len(_LAYOUT_EDITS))), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_laid_out_bytes_parse_exactly_as_the_general_parser_does(
    env: Envelope, edit: int, data: st.DataObject
) -> None:
    """Bytes take a fast path that slices the ciphertext out; text takes the general
    parser. Same verdict, same error code, same envelope, same wire bytes."""
    raw = bytearray(_LAYOUT_EDITS[edit](env.to_bytes()))
    for _ in range(data.draw(st.integers(0, 2))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(
            st.sampled_from(b'{}[]",:0aZ-_=\\ \x7f')
        )
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return
    assert _outcome(bytes(raw)) == _outcome(text)


def test_canonical_wire_bytes_are_kept_not_re_encoded() -> None:
    data = make_envelope().to_bytes()
    parsed = parse_envelope(data)
    assert parsed.to_bytes() is data
    assert parsed.digest() == hashlib.sha256(data).hexdigest()
    # From a decoded object, the base64url text is reused, and the bytes are the same.
    assert parse_envelope(json.loads(data)).to_bytes() == data
