"""The transactional outbox: sealed envelopes, queued and acknowledged atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, bindparam, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.agencies import Agency, newest_key
from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.receipts import verify_receipts
from hub.crypto.sealing import seal
from hub.crypto.signature_checker import SignatureChecker
from hub.delivery.postgres_mailbox import postgres_mailbox
from hub.delivery.receipt_checks import receipt_json, sort_receipts
from hub.delivery.sqlite_mailbox import sqlite_mailbox
from hub.delivery.tables import alerts, nonces, outbox, outbox_claims, receipts
from hub.protocol.errors import CryptoError, PolicyError, ProtocolError
from hub.protocol.messages import Message, Receipt
from hub.storage.database import light_transaction

__all__ = [
    "Acknowledgement",
    "acknowledge",
    "claim",
    "expire",
    "keep_nonce",
    "look",
    "pending",
    "queue_message",
]


async def queue_message(
    conn: AsyncConnection,
    message: Message,
    recipients: Sequence[Agency],
    *,
    hub_identity: IdentityKeyPair,
    hub_id: str,
    now: datetime,
    ttl: timedelta,
    case_ref: str | None = None,
    sent_by: str | None = None,
) -> list[tuple[str, str]]:
    """Seal ``message`` to each recipient's newest key and queue it, in ``conn``'s transaction.

    Refuses (``PolicyError``) if any recipient is not active or has no valid key: a
    refusal queues nothing. Returns ``(envelope_id, agency_id)`` pairs.
    """
    rows, queued = [], []
    for agency in recipients:
        if agency.status != "active":
            raise PolicyError(
                f"agency {agency.id} is {agency.status}: nothing was sent", code="agency-not-active"
            )
        key = await newest_key(conn, agency.id, now)
        if key is None:
            raise PolicyError(
                f"agency {agency.id} has no valid encryption key: nothing was sent",
                code="key-revoked",
            )
        envelope = seal(
            message,
            sender=hub_identity,
            sender_id=hub_id,
            recipient_id=agency.id,
            recipient_key=key,
            now=now,
            case_ref=case_ref,
        )
        rows.append(
            {
                "envelope_id": envelope.header.id,
                "agency_id": agency.id,
                "type": envelope.header.type,
                "case_ref": case_ref,
                "recipient_key": key.fingerprint,
                "digest": envelope.digest(),
                "envelope": envelope.to_bytes(),
                "status": "queued",
                "created_at": now,
                "expires_at": now + ttl,
                "sent_by": sent_by,
            }
        )
        queued.append((envelope.header.id, agency.id))
    if rows:
        await conn.execute(outbox.insert(), rows)
    return queued


async def pending(engine: AsyncEngine, agency_id: str, limit: int, now: datetime) -> list[bytes]:
    """Up to ``limit`` of the agency's queued, unexpired, unclaimed envelopes, oldest first."""
    async with engine.connect() as conn:
        return await claim(conn, agency_id, limit, now)


_LEASED = exists().where(
    outbox_claims.c.envelope_id == outbox.c.envelope_id,
    outbox_claims.c.until > bindparam("now"),
)
# The agency's queued, unexpired envelopes no running lease holds, oldest first (built
# once: every poll runs it).
_READY = (
    select(outbox.c.envelope_id, outbox.c.envelope)
    .where(
        outbox.c.agency_id == bindparam("agency_id"),
        outbox.c.status == "queued",
        outbox.c.expires_at > bindparam("now"),
        ~_LEASED,
    )
    .order_by(outbox.c.seq)
    .limit(bindparam("limit", type_=Integer))
)
_READY_FOR_CLAIM = _READY.with_for_update(skip_locked=True, of=outbox)


async def claim(
    conn: AsyncConnection, agency_id: str, limit: int, now: datetime, lease: float = 0
) -> list[bytes]:
    """Up to ``limit`` envelopes for the agency, oldest first, in ``conn``'s transaction.

    With ``lease`` > 0 (seconds) the rows are claimed until ``now + lease``: no other
    poll hands them out meanwhile. PostgreSQL skips rows another poll is claiming
    (``FOR UPDATE SKIP LOCKED``) and the claim insert only wins a row whose earlier
    lease has ended, so two hub processes never hand out one row at once; SQLite's
    write lock serialises the same statements. Call it in a write transaction then.
    """
    params = {"agency_id": agency_id, "now": now, "limit": limit}
    if lease <= 0:
        return [bytes(row.envelope) for row in await conn.execute(_READY, params)]
    rows = (await conn.execute(_READY_FOR_CLAIM, params)).all()
    if not rows:
        return []
    until = now + timedelta(seconds=lease)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(outbox_claims)
        .values(
            [{"envelope_id": r.envelope_id, "agency_id": agency_id, "until": until} for r in rows]
        )
        .on_conflict_do_update(
            index_elements=[outbox_claims.c.envelope_id],
            set_={"until": until},
            where=outbox_claims.c.until <= now,
        )
        .returning(outbox_claims.c.envelope_id)
    )
    won = set((await conn.execute(statement)).scalars())
    return [bytes(row.envelope) for row in rows if row.envelope_id in won]


async def look(
    engine: AsyncEngine,
    agency_id: str,
    limit: int,
    now: datetime,
    lease: float = 0,
    nonce: tuple[str, str, datetime] | None = None,
) -> list[bytes]:
    """One look in the agency's mailbox (``claim``), in its own transaction; with
    ``nonce`` (a signed request's), the nonce is kept in that transaction. A write only
    with a nonce or a lease, and never flushed to disk at its commit (``light_transaction``:
    both are worth nothing after a power cut). SQLite files take the driver-level path
    (``hub.delivery.sqlite_mailbox``)."""
    fast = sqlite_mailbox(engine)
    if fast is not None:
        return await fast.look(agency_id, limit, now, lease, nonce)
    driver = postgres_mailbox(engine) if lease <= 0 else None
    if driver is not None:
        return await driver.look(agency_id, limit, now, nonce)
    if nonce is None and lease <= 0:
        async with engine.connect() as conn:
            return await claim(conn, agency_id, limit, now)
    async with light_transaction(engine) as conn:
        if nonce is not None:
            await keep_nonce(conn, *nonce)
        return await claim(conn, agency_id, limit, now, lease)


_INSERT_NONCE = nonces.insert()


async def keep_nonce(conn: AsyncConnection, agency_id: str, nonce: str, now: datetime) -> None:
    """Remember a signed request's nonce in ``conn``'s transaction; one seen before is
    refused (``replayed-request``)."""
    try:
        await conn.execute(_INSERT_NONCE, {"agency_id": agency_id, "nonce": nonce, "seen_at": now})
    except IntegrityError:
        raise CryptoError("this request was already made", code="replayed-request") from None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What a batch of receipts did."""

    acknowledged: list[str]
    already: list[str]


async def acknowledge(
    engine: AsyncEngine,
    agency: Agency,
    signed: Sequence[tuple[Receipt, bytes]],
    *,
    now: datetime,
    nonce: tuple[str, str, datetime] | None = None,
    checker: SignatureChecker | None = None,
) -> Acknowledgement:
    """Store a batch of signed receipts, all or nothing.

    ``nonce`` (a signed request's) is kept in the same transaction, so one commit
    covers both. ``checker``: verify a large batch's signatures in its helper process.
    """
    if agency.identity_key is None:
        raise PolicyError("agency has no identity key", code="unknown-agency")
    key = IdentityPublicKey.from_bytes(agency.identity_key)
    ids = [receipt.envelope_id for receipt, _ in signed]
    if len(set(ids)) != len(ids):
        raise ProtocolError("a receipt is repeated in the batch", code="bad-receipt")
    if any(receipt.agency_id != agency.id for receipt, _ in signed):
        raise ProtocolError("a receipt names another agency", code="bad-receipt")
    await verify_receipts(key, signed, checker)
    fast = sqlite_mailbox(engine)
    if fast is not None:
        return Acknowledgement(*await fast.store_receipts(agency.id, signed, now, nonce))
    driver = postgres_mailbox(engine)
    if driver is not None:
        return Acknowledgement(*await driver.store_receipts(agency.id, signed, now, nonce))
    for attempt in (1, 2):
        try:
            return await _store_receipts(engine, agency, signed, ids, now, nonce)
        except IntegrityError:  # acknowledged concurrently by another request: look again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _store_receipts(
    engine: AsyncEngine,
    agency: Agency,
    signed: Sequence[tuple[Receipt, bytes]],
    ids: list[str],
    now: datetime,
    nonce: tuple[str, str, datetime] | None,
) -> Acknowledgement:
    """One transaction: every receipt and every outbox status change, or none."""
    async with engine.begin() as conn:
        if nonce is not None:
            await keep_nonce(conn, *nonce)
        rows = await conn.execute(
            select(outbox.c.envelope_id, outbox.c.digest, outbox.c.status).where(
                outbox.c.envelope_id.in_(ids), outbox.c.agency_id == agency.id
            )
        )
        fresh_receipts, already = sort_receipts(signed, rows)
        fresh = [
            {
                "envelope_id": r.envelope_id,
                "agency_id": agency.id,
                "received_at": r.received_at,
                "stored_at": now,
                "receipt": receipt_json(r),
                "signature": signature,
            }
            for r, signature in fresh_receipts
        ]
        done = [r.envelope_id for r, _ in fresh_receipts]
        if fresh:
            await conn.execute(receipts.insert(), fresh)
            await conn.execute(
                update(outbox)
                .where(outbox.c.envelope_id.in_(done))
                .values(status="delivered", delivered_at=now)
            )
    return Acknowledgement(done, already)


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
