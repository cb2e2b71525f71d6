"""Signed agency requests, in the spirit of RFC 9421 HTTP Message Signatures.

An agency signs, with its Ed25519 identity key, the canonical JSON of the method,
path, query, a timestamp, a nonce, the body's SHA-256, its agency id and key
fingerprint. The signature and its inputs travel in ``X-Marac-*`` headers. The hub
checks the signature, a 5-minute window around its clock and that the nonce is new
(the nonce store is the caller's: :func:`verify_request` returns the nonce to record).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl, urlencode

from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.envelope import format_timestamp, parse_timestamp
from hub.protocol.errors import CryptoError, ProtocolError

__all__ = [
    "HEADER_AGENCY",
    "HEADER_DIGEST",
    "HEADER_KEY",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "WINDOW",
    "SignedRequest",
    "canonical_query",
    "sign_request",
    "verify_request",
]

HEADER_AGENCY: Final = "X-Marac-Agency"
HEADER_KEY: Final = "X-Marac-Key"
HEADER_TIMESTAMP: Final = "X-Marac-Timestamp"
HEADER_NONCE: Final = "X-Marac-Nonce"
HEADER_DIGEST: Final = "X-Marac-Content-SHA256"
HEADER_SIGNATURE: Final = "X-Marac-Signature"
WINDOW: Final = timedelta(minutes=5)
_NONCE_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of a request that were signed, as the verifier saw them."""

    agency: str
    key_fingerprint: str
    timestamp: datetime
    nonce: str


def canonical_query(query: str) -> str:
    """The query string with its parameters sorted, so encoding order does not matter."""
    return urlencode(sorted(parse_qsl(query, keep_blank_values=True)))


def _base(
    method: str,
    path: str,
    query: str,
    agency: str,
    key: str,
    timestamp: str,
    nonce: str,
    digest: str,
) -> bytes:
    return canonical_json(
        {
            "marac-hub-request": 1,
            "method": method.upper(),
            "path": path,
            "query": canonical_query(query),
            "agency": agency,
            "key": key,
            "timestamp": timestamp,
            "nonce": nonce,
            "body_sha256": digest,
        }
    )


def sign_request(
    identity: IdentityKeyPair,
    agency: str,
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    now: datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign this request as ``agency``."""
    timestamp = format_timestamp(now)
    nonce = nonce or b64encode(os.urandom(_NONCE_BYTES))
    digest = hashlib.sha256(body).hexdigest()
    base = _base(method, path, query, agency, identity.fingerprint, timestamp, nonce, digest)
    return {
        HEADER_AGENCY: agency,
        HEADER_KEY: identity.fingerprint,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_DIGEST: digest,
        HEADER_SIGNATURE: b64encode(identity.sign(base)),
    }


def read_claims(headers: Mapping[str, str]) -> tuple[str, str]:
    """The agency id and key fingerprint a request claims (``ProtocolError`` if absent)."""
    agency, key = headers.get(HEADER_AGENCY), headers.get(HEADER_KEY)
    if not agency or not key or len(agency) > 64 or len(key) != 64:
        raise ProtocolError("request is not signed by an agency", code="bad-signature")
    return agency, key


def verify_request(
    key: IdentityPublicKey,
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    now: datetime,
) -> SignedRequest:
    """Check a signed request; ``CryptoError`` ``bad-signature`` or ``replayed-request``.

    The caller must then record the returned nonce and refuse it if already seen.
    """
    agency, claimed_key = read_claims(headers)
    timestamp, nonce = headers.get(HEADER_TIMESTAMP), headers.get(HEADER_NONCE)
    digest, signature = headers.get(HEADER_DIGEST), headers.get(HEADER_SIGNATURE)
    if not timestamp or not nonce or not digest or not signature:
        raise CryptoError("request signature headers are missing", code="bad-signature")
    if claimed_key != key.fingerprint or len(nonce) > 64 or len(signature) > 128:
        raise CryptoError("request signature does not verify", code="bad-signature")
    try:
        moment = parse_timestamp(timestamp, field=HEADER_TIMESTAMP)
        raw_signature = b64decode(signature, field=HEADER_SIGNATURE)
    except ProtocolError:
        raise CryptoError("request signature headers are malformed", code="bad-signature") from None
    if hashlib.sha256(body).hexdigest() != digest:
        raise CryptoError("body does not match its signed digest", code="bad-signature")
    base = _base(method, path, query, agency, claimed_key, timestamp, nonce, digest)
    if not key.verify(raw_signature, base):
        raise CryptoError("request signature does not verify", code="bad-signature")
    if abs(now - moment) > WINDOW:
        raise CryptoError("request is outside the 5-minute window", code="replayed-request")
    return SignedRequest(agency=agency, key_fingerprint=claimed_key, timestamp=moment, nonce=nonce)
