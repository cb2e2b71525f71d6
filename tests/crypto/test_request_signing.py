"""Signed agency requests: every way a request can be wrong is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.crypto.keys import IdentityKeyPair
from hub.crypto.request_signing import (
    HEADER_DIGEST,
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    canonical_query,
    sign_request,
    verify_request,
)
from hub.protocol import CryptoError, ProtocolError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
AGENCY = IdentityKeyPair.generate()
BODY = b'{"envelope_id": "01KAQZ7Y3M8V4J9W2E6R5T1Q0P"}'


def _signed() -> dict[str, str]:
    return sign_request(
        AGENCY, "police-north", "POST", "/api/v1/receipts", "a=1&b=2", BODY, now=NOW
    )


def _verify(
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = "/api/v1/receipts",
    query: str = "a=1&b=2",
    body: bytes = BODY,
    now: datetime = NOW,
    key: IdentityKeyPair = AGENCY,
) -> None:
    verify_request(key.public, headers, method, path, query, body, now=now)


def test_valid_request_verifies_and_reports_its_nonce() -> None:
    headers = _signed()
    signed = verify_request(
        AGENCY.public,
        headers,
        "post",
        "/api/v1/receipts",
        "b=2&a=1",
        BODY,
        now=NOW + timedelta(minutes=4),
    )
    assert signed.agency == "police-north"
    assert signed.nonce == headers[HEADER_NONCE]
    assert signed.key_fingerprint == AGENCY.fingerprint


def test_each_request_has_a_fresh_nonce() -> None:
    assert _signed()[HEADER_NONCE] != _signed()[HEADER_NONCE]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"path": "/api/v1/receipts/other"}, "bad-signature"),
        ({"method": "PUT"}, "bad-signature"),
        ({"query": "a=1&b=3"}, "bad-signature"),
        ({"body": BODY + b" "}, "bad-signature"),
        ({"key": IdentityKeyPair.generate()}, "bad-signature"),
        ({"now": NOW + timedelta(minutes=5, seconds=1)}, "replayed-request"),
        ({"now": NOW - timedelta(minutes=5, seconds=1)}, "replayed-request"),
    ],
)
def test_altered_request_is_refused(change: dict[str, object], code: str) -> None:
    with pytest.raises(CryptoError) as info:
        _verify(_signed(), **change)  # type: ignore[arg-type]
    assert info.value.code == code


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (HEADER_SIGNATURE, "A" * 86),
        (HEADER_SIGNATURE, "not base64!"),
        (HEADER_SIGNATURE, "A" * 1000),
        (HEADER_TIMESTAMP, "2026-11-23T12:00:01.000000Z"),
        (HEADER_TIMESTAMP, "yesterday"),
        (HEADER_NONCE, "another-nonce"),
        (HEADER_DIGEST, "0" * 64),
    ],
)
def test_altered_signature_header_is_refused(header: str, value: str) -> None:
    headers = {**_signed(), header: value}
    with pytest.raises(CryptoError) as info:
        _verify(headers)
    assert info.value.code == "bad-signature"


@pytest.mark.parametrize(
    "header", [HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_DIGEST]
)
def test_missing_signature_header_is_refused(header: str) -> None:
    headers = {k: v for k, v in _signed().items() if k != header}
    with pytest.raises(CryptoError):
        _verify(headers)


def test_unsigned_request_is_refused() -> None:
    with pytest.raises(ProtocolError):
        _verify({})
    with pytest.raises(ProtocolError):
        _verify({**_signed(), HEADER_KEY: "short"})


def test_query_order_does_not_matter_but_values_do() -> None:
    assert canonical_query("b=2&a=1") == canonical_query("a=1&b=2")
    assert canonical_query("a=1&a=2") != canonical_query("a=2")
