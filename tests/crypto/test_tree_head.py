"""Signed tree heads: sign, verify, round-trip, and refuse what is malformed or altered."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import SignedTreeHead, sign_tree_head
from hub.protocol.errors import CryptoError, ProtocolError

KEY = IdentityKeyPair.generate()
ROOT = hashlib.sha256(b"root").digest()
WHEN = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def head() -> SignedTreeHead:
    return sign_tree_head(KEY, "hub", 12, ROOT, WHEN)


def test_signed_head_verifies_and_round_trips() -> None:
    signed = head()
    signed.verify(KEY.public)
    assert signed.timestamp == WHEN.replace(microsecond=0)
    wire = signed.to_json()
    assert wire["timestamp"] == "2026-11-23T10:00:00Z"
    again = SignedTreeHead.from_json(wire)
    assert again == signed
    again.verify(KEY.public)


def test_timestamp_in_another_zone_is_kept_in_utc() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert sign_tree_head(KEY, "hub", 1, ROOT, local).to_json()["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    "change",
    [
        {"size": 13},
        {"root": hashlib.sha256(b"other").digest()},
        {"log": "other-hub"},
        {"timestamp": WHEN.replace(microsecond=0) + timedelta(seconds=1)},
    ],
)
def test_any_altered_field_fails_verification(change: dict[str, Any]) -> None:
    signed = head()
    fields = {
        "log": signed.log,
        "size": signed.size,
        "root": signed.root,
        "timestamp": signed.timestamp,
        "signature": signed.signature,
        **change,
    }
    with pytest.raises(CryptoError) as caught:
        SignedTreeHead(**fields).verify(KEY.public)
    assert caught.value.code == "bad-tree-head"


def test_another_key_fails_verification() -> None:
    with pytest.raises(CryptoError):
        head().verify(IdentityKeyPair.generate().public)


def _with(**change: Any) -> dict[str, Any]:
    wire = head().to_json()
    wire.update(change)
    return wire


@pytest.mark.parametrize(
    "wire",
    [
        None,
        [],
        "head",
        {},
        _with(extra=1),
        {k: v for k, v in head().to_json().items() if k != "root"},
        _with(size=-1),
        _with(size=True),
        _with(size=1.5),
        _with(size=2**60),
        _with(size="12"),
        _with(log=""),
        _with(log="x" * 65),
        _with(log=7),
        _with(root="AAAA"),
        _with(root="not base64!"),
        _with(root=None),
        _with(signature="AAAA"),
        _with(timestamp="2026-11-23T10:00:00"),
        _with(timestamp="2026-11-23T10:00:00.5Z"),
        _with(timestamp="2026-11-23T11:00:00+01:00"),
        _with(timestamp="yesterday"),
        _with(timestamp="9" * 41),
        _with(timestamp=0),
    ],
)
def test_malformed_wire_forms_are_refused(wire: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        SignedTreeHead.from_json(wire)
    assert caught.value.code == "bad-tree-head"


def test_signing_refuses_a_root_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        sign_tree_head(KEY, "hub", 1, b"short", WHEN)
