"""The ``rendered`` message: a document in an agency's format, strict and bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.protocol import ProtocolError, canonical_json, parse_message, payload_of
from hub.protocol.messages import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MESSAGE_TYPES, Rendered

SECRET = "Jane Victim-Secret"
GOOD: dict[str, Any] = {
    "format": "fhir-r4",
    "original_type": "case_extract",
    "document": {"resourceType": "Bundle", "type": "collection", "entry": []},
}


def _refused(payload: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_message("rendered", payload)
    assert info.value.code == "invalid-message"
    assert SECRET not in info.value.diagnostics()
    return info.value


def _nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": SECRET}
    for _ in range(depth - 1):
        doc = {"x": doc}
    return doc


def test_registered_and_round_trips() -> None:
    assert MESSAGE_TYPES["rendered"] is Rendered
    message = parse_message("rendered", GOOD)
    assert payload_of(message) == GOOD
    assert parse_message("rendered", json.loads(canonical_json(payload_of(message)))) == message


def test_document_keeps_nulls_and_any_json_inside() -> None:
    doc = {"a": None, "b": [1, 2.5, True, "x", {"c": None}]}
    message = parse_message("rendered", {**GOOD, "document": doc})
    assert payload_of(message)["document"] == doc


@pytest.mark.parametrize(
    "change",
    [
        {"extra": SECRET},
        {"format": SECRET},
        {"format": "FHIR"},
        {"format": ""},
        {"original_type": "rendered"},
        {"original_type": "receipt"},
        {"original_type": SECRET},
        {"document": [SECRET]},
        {"document": SECRET},
        {"document": None},
        {"document": {"n": 2**64}},  # beyond what RFC 8785 numbers hold
    ],
)
def test_strict(change: dict[str, Any]) -> None:
    _refused({**GOOD, **change})


@pytest.mark.parametrize("field", ["format", "original_type", "document"])
def test_required(field: str) -> None:
    data = dict(GOOD)
    del data[field]
    assert field in str(_refused(data))


def test_oversized_document_refused() -> None:
    padding = SECRET * (MAX_DOCUMENT_BYTES // len(SECRET) + 1)
    _refused({**GOOD, "document": {"padding": padding}})


def test_document_at_the_size_limit_accepted() -> None:
    overhead = len(canonical_json({"p": ""}))
    doc = {"p": "x" * (MAX_DOCUMENT_BYTES - overhead)}
    assert len(canonical_json(doc)) == MAX_DOCUMENT_BYTES
    parse_message("rendered", {**GOOD, "document": doc})


def test_nesting_is_bounded() -> None:
    parse_message("rendered", {**GOOD, "document": _nested(MAX_DOCUMENT_DEPTH)})
    _refused({**GOOD, "document": _nested(MAX_DOCUMENT_DEPTH + 1)})
    _refused({**GOOD, "document": _nested(50_000)})


def test_frozen() -> None:
    message = parse_message("rendered", GOOD)
    with pytest.raises(ValueError):
        message.format = "pole"  # type: ignore[attr-defined]
