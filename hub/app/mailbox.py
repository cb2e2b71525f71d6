"""The agency's side of the protocol: who a signed request comes from, its nonce, the
mailbox, receipts, enrolment, key rotation and what the hub publishes about itself.

These are not staff use-cases (no ``@use_case``, no Actor): an agency is authenticated
by its request signature (``hub.service.auth.agency_request``), and its protocol has
no roles or areas. The hot path (checking a signed request, a mailbox look, a batch of
receipts) goes straight to the database's mailbox store (``rt.mailbox``,
``hub.storage.mailbox``), with nothing added but the receipts' checks
(``hub.delivery.outbox.acknowledge``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import __version__
from hub.adapters.formats.pole import schema_bytes as pole_schema_bytes
from hub.agencies import Agency, agency_from_row
from hub.agencies import enrol as store_enrolment
from hub.agencies import register_key as store_key
from hub.app.runtime import Runtime
from hub.crypto.announce import SignedKeyAnnouncement, announce_key
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.receipts import parse_signed_receipt
from hub.crypto.request_signing import WINDOW, verify_request
from hub.crypto.signature_checker import SignatureChecker
from hub.delivery.outbox import Acknowledgement, keep_nonce
from hub.delivery.outbox import acknowledge as check_and_store
from hub.delivery.tables import nonces
from hub.delivery.waiters import Waiters, wait_for_event
from hub.protocol.canonical import b64encode
from hub.protocol.errors import PolicyError
from hub.protocol.messages import Receipt
from hub.storage.mailbox import Nonce

__all__ = [
    "Acknowledgement",
    "Agency",
    "Nonce",
    "Waiters",
    "acknowledge",
    "calling_agency",
    "check_caller",
    "enrol",
    "keep_nonce",
    "look",
    "parse_receipts",
    "pole_schema_bytes",
    "prune_nonces",
    "public_info",
    "register_key",
    "remember_nonce",
    "wait_for_event",
]


_REFUSED: Final = {
    "pending": ("agency enrolled; awaiting approval", "agency-not-approved"),
    "invited": ("agency has not enrolled", "agency-not-approved"),
    "suspended": ("agency suspended", "agency-suspended"),
    "revoked": ("agency revoked", "key-revoked"),
}


async def calling_agency(rt: Runtime, agency_id: str) -> Agency | None:
    """The agency a signed request names, read now (the mailbox store's hot path)."""
    row = await rt.mailbox.agency(agency_id)
    return None if row is None else agency_from_row(row)


async def look(
    rt: Runtime,
    agency_id: str,
    limit: int,
    *,
    lease: float = 0,
    nonce: Nonce | None = None,
) -> list[bytes]:
    """One look in the agency's mailbox, now (see ``MailboxStore.look``)."""
    return await rt.mailbox.look(agency_id, limit, rt.clock(), lease=lease, nonce=nonce)


async def acknowledge(
    rt: Runtime,
    agency: Agency,
    signed: list[tuple[Receipt, bytes]],
    *,
    nonce: Nonce | None = None,
    checker: SignatureChecker | None = None,
) -> Acknowledgement:
    """Check and store a batch of the agency's signed receipts, all or nothing."""
    return await check_and_store(
        rt.mailbox, agency, signed, now=rt.clock(), nonce=nonce, checker=checker
    )


def check_caller(
    agency: Agency | None,
    fingerprint: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    now: datetime,
) -> tuple[Agency, str]:
    """The active agency that signed this request and its nonce (which the caller must
    keep: ``keep_nonce``); ``unknown-agency``, a signature error or the agency's refusal
    (``agency-not-approved``, ``agency-suspended``, ``key-revoked``) otherwise."""
    if agency is None or agency.identity_key is None or agency.identity_fingerprint != fingerprint:
        raise PolicyError("unknown agency or key", code="unknown-agency")
    verified = verify_request(
        IdentityPublicKey.from_bytes(agency.identity_key),
        headers,
        method,
        path,
        query,
        body,
        now=now,
    )
    if agency.status in _REFUSED:
        message, code = _REFUSED[agency.status]
        raise PolicyError(message, code=code)
    return agency, verified.nonce


async def remember_nonce(engine: AsyncEngine, agency_id: str, nonce: str, now: datetime) -> None:
    """Keep a signed request's nonce in a transaction of its own (``replayed-request``
    if seen before)."""
    async with engine.begin() as conn:
        await keep_nonce(conn, agency_id, nonce, now)


async def prune_nonces(engine: AsyncEngine, now: datetime) -> None:
    """Forget nonces older than twice the window (they fail the time check anyway)."""
    async with engine.begin() as conn:
        await conn.execute(
            delete(nonces).where(nonces.c.seen_at < now - 2 * WINDOW - timedelta(seconds=1))
        )


def parse_receipts(items: list[Any]) -> list[tuple[Receipt, bytes]]:
    """Signed receipts from their wire form (``bad-receipt`` if one is malformed)."""
    return [parse_signed_receipt(item) for item in items]


def public_info(rt: Runtime) -> dict[str, Any]:
    """The hub's identity key, which clients pin at enrolment, and its encryption key,
    announced (signed) by the identity key: what agencies seal their messages to."""
    keys, hub_id = rt.keys, rt.settings.hub_id
    encryption = keys.encryption.public
    announcement = announce_key(keys.identity, hub_id, encryption, now=rt.clock())
    return {
        "identity_key": b64encode(keys.identity.public.raw),
        "fingerprint": keys.identity.fingerprint,
        "version": __version__,
        "hub_id": hub_id,
        "encryption": {
            "suite": encryption.suite,
            "key": b64encode(encryption.raw),
            "fingerprint": encryption.fingerprint,
            "announcement": announcement.to_json(),
        },
    }


async def enrol(rt: Runtime, code: str, announcement: object) -> dict[str, Any]:
    """Consume an enrolment code with the agency's signed first key (its wire form);
    what the agency learns: its status, its keys' fingerprints and the hub's key."""
    signed = SignedKeyAnnouncement.from_json(announcement)
    agency = await store_enrolment(rt.engine, code, signed, now=rt.clock())
    identity = rt.keys.identity
    return {
        "agency_id": agency.id,
        "status": agency.status,
        "identity_fingerprint": agency.identity_fingerprint,
        "encryption_fingerprint": agency.encryption_fingerprint,
        "hub": {
            "identity_key": b64encode(identity.public.raw),
            "fingerprint": identity.fingerprint,
        },
    }


async def register_key(rt: Runtime, agency: Agency, announcement: object) -> str:
    """Register a rotated encryption key, signed by the agency's identity key (the
    announcement's wire form); its fingerprint."""
    signed = SignedKeyAnnouncement.from_json(announcement)
    key = await store_key(rt.engine, agency, signed, now=rt.clock())
    return key.fingerprint
