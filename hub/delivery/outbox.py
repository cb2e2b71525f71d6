"""The transactional outbox around the mailbox store: checking a batch of receipts before
it is stored, keeping a signed request's nonce, and expiring what was never collected.

Envelopes are queued by the disclosure pipeline (``hub.disclosure``), in the transaction
that logs them; agencies collect them and acknowledge them through the database's mailbox
store (``hub.storage.mailbox``), or the push dispatcher delivers them
(``hub.delivery.push``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.agencies import Agency
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.receipts import verify_receipts
from hub.crypto.signature_checker import SignatureChecker
from hub.delivery.tables import alerts, nonces, outbox, outbox_claims
from hub.protocol.errors import PolicyError, ProtocolError
from hub.protocol.messages import Receipt
from hub.storage.mailbox import MailboxStore, Nonce, Stored
from hub.storage.mailbox.base import replayed

__all__ = ["Acknowledgement", "acknowledge", "expire", "keep_nonce"]

Acknowledgement = Stored
"""What a batch of receipts did: ``acknowledged`` now, and ``already`` before."""


_INSERT_NONCE = nonces.insert()


async def keep_nonce(conn: AsyncConnection, agency_id: str, nonce: str, now: datetime) -> None:
    """Remember a signed request's nonce in ``conn``'s transaction; one seen before is
    refused (``replayed-request``)."""
    try:
        await conn.execute(_INSERT_NONCE, {"agency_id": agency_id, "nonce": nonce, "seen_at": now})
    except IntegrityError:
        raise replayed() from None


async def acknowledge(
    mailbox: MailboxStore,
    agency: Agency,
    signed: Sequence[tuple[Receipt, bytes]],
    *,
    now: datetime,
    nonce: Nonce | None = None,
    checker: SignatureChecker | None = None,
) -> Acknowledgement:
    """Check a batch of signed receipts (the agency's own, none repeated, each signature
    by the agency's identity key) and store them, all or nothing, with ``nonce`` (a signed
    request's) in the same transaction. ``checker``: verify a large batch's signatures in
    its helper process."""
    if agency.identity_key is None:
        raise PolicyError("agency has no identity key", code="unknown-agency")
    key = IdentityPublicKey.from_bytes(agency.identity_key)
    ids = [receipt.envelope_id for receipt, _ in signed]
    if len(set(ids)) != len(ids):
        raise ProtocolError("a receipt is repeated in the batch", code="bad-receipt")
    if any(receipt.agency_id != agency.id for receipt, _ in signed):
        raise ProtocolError("a receipt names another agency", code="bad-receipt")
    await verify_receipts(key, signed, checker)
    return await mailbox.store_receipts(agency.id, signed, now, nonce)


async def expire(engine: AsyncEngine, now: datetime) -> int:
    """Mark envelopes past their time as expired and alert the coordinators; return count.

    Also forgets leases that have ended (a claim only matters while it runs).
    """
    async with engine.begin() as conn:
        await conn.execute(delete(outbox_claims).where(outbox_claims.c.until <= now))
        rows = (
            await conn.execute(
                select(outbox.c.envelope_id, outbox.c.agency_id).where(
                    outbox.c.status == "queued", outbox.c.expires_at <= now
                )
            )
        ).all()
        if not rows:
            return 0
        await conn.execute(
            update(outbox)
            .where(outbox.c.envelope_id.in_([r.envelope_id for r in rows]))
            .values(status="expired")
        )
        await conn.execute(
            alerts.insert(),
            [
                {
                    "kind": "envelope-expired",
                    "agency_id": r.agency_id,
                    "envelope_id": r.envelope_id,
                    "created_at": now,
                }
                for r in rows
            ],
        )
    return len(rows)
