"""The agency-facing hot path on PostgreSQL, on asyncpg itself: a signed request's agency,
a mailbox look (with the request's nonce) and a batch of receipts.

Through SQLAlchemy each statement costs the hub 0.3-0.5 ms of CPU (compiling-cache
lookups, parameter processing, the adapter's greenlet hops), and a poll made five of
them: at 200 messages/s one hub process was nearly saturated by the agencies' polls and
receipts alone. Here the same SQL runs on the pooled connection's asyncpg driver:

* the agency, and a look without nonce or lease: one statement each, outside any
  transaction (asyncpg autocommit; SQLAlchemy began none, so it rolls none back);
* a look with the request's nonce: one transaction without the fsync
  (``SET LOCAL synchronous_commit TO OFF``, as ``hub.storage.database.light_transaction``)
  and one statement that inserts the nonce and reads the mailbox (a data-modifying
  ``WITH`` runs whether or not the query reads it). A nonce seen before is refused;
* a batch of receipts: one durable transaction, the nonce and the envelopes' rows read
  in one statement, then one insert of the receipts and one update of the outbox. If
  another request acknowledged one of them meanwhile, the batch is tried once more (it
  then finds those envelopes delivered).

A look with a lease (``FOR UPDATE SKIP LOCKED`` and the claim insert) stays on
SQLAlchemy (``hub.delivery.outbox.claim``). The statements are ``hub.delivery.outbox``'s,
which SQLite runs through ``hub.delivery.sqlite_mailbox``; the tests run both.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agencies import Agency
from hub.delivery.receipt_checks import receipt_json, sort_receipts
from hub.protocol.errors import CryptoError, HubError
from hub.protocol.messages import Receipt

__all__ = ["PostgresMailbox", "postgres_mailbox"]

_AGENCY: Final = (
    "SELECT id, name, kind, status, isp_version, isp_signed_by, isp_signed_on, "
    "identity_fingerprint, identity_key FROM agencies WHERE id = $1"
)
_READY_WHERE: Final = (
    "FROM outbox o WHERE o.agency_id = $1 AND o.status = 'queued' AND o.expires_at > $2 "
    "AND NOT EXISTS (SELECT 1 FROM outbox_claims c WHERE c.envelope_id = o.envelope_id "
    "AND c.until > $2) ORDER BY o.seq LIMIT $3"
)
_READY: Final = "SELECT o.envelope " + _READY_WHERE
# fixed text throughout; every value is a parameter
_NONCE_AND_READY: Final = (
    "WITH kept AS (INSERT INTO nonces (agency_id, nonce, seen_at) VALUES ($4, $5, $6)) "  # noqa: S608
    "SELECT o.envelope " + _READY_WHERE
)

_ROWS_WHERE: Final = (
    "SELECT envelope_id, digest, status FROM outbox WHERE agency_id = $1 "
    "AND envelope_id = ANY($2::text[])"
)
_NONCE_AND_ROWS: Final = (
    "WITH kept AS (INSERT INTO nonces (agency_id, nonce, seen_at) VALUES ($3, $4, $5)) "  # noqa: S608
    + _ROWS_WHERE
)
_RECEIPT: Final = (
    "INSERT INTO receipts (envelope_id, agency_id, received_at, stored_at, receipt, "
    "signature) VALUES ($1, $2, $3, $4, $5, $6)"
)
_DELIVERED: Final = (
    "UPDATE outbox SET status = 'delivered', delivered_at = $1 WHERE envelope_id = ANY($2::text[])"
)

Nonce = tuple[str, str, datetime]


class PostgresMailbox:
    """The hot path's statements on one PostgreSQL engine (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = weakref.ref(engine)  # kept per engine, not keeping it alive

    @contextlib.asynccontextmanager
    async def _driver(self) -> AsyncIterator[Any]:
        """A pooled connection's asyncpg connection, returned to the pool afterwards."""
        engine = self._engine()
        if engine is None:
            raise HubError("the database engine is gone")
        async with engine.connect() as conn:
            yield (await conn.get_raw_connection()).driver_connection

    async def agency(self, agency_id: str) -> Agency | None:
        """The agency a signed request names, as it is now."""
        async with self._driver() as db:
            row = await db.fetchrow(_AGENCY, agency_id)
        if row is None:
            return None
        key = bytes(row[8]) if row[8] is not None else None
        return Agency(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], key)

    async def look(
        self, agency_id: str, limit: int, now: datetime, nonce: Nonce | None
    ) -> list[bytes]:
        """Up to ``limit`` unleased envelopes, oldest first; with ``nonce``, kept in the
        same (unsynced) transaction, and a replayed one refused."""
        async with self._driver() as db:
            if nonce is None:
                rows = await db.fetch(_READY, agency_id, now, limit)
            else:
                try:
                    async with db.transaction():
                        await db.execute("SET LOCAL synchronous_commit TO OFF")
                        rows = await db.fetch(_NONCE_AND_READY, agency_id, now, limit, *nonce)
                except asyncpg.UniqueViolationError:
                    raise _replayed() from None
        return [bytes(row[0]) for row in rows]

    async def store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None,
    ) -> tuple[list[str], list[str]]:
        """One durable transaction: the nonce, every receipt and every outbox status
        change, or none; ``(acknowledged, already)``."""
        for attempt in (1, 2):
            try:
                return await self._store_receipts(agency_id, signed, now, nonce)
            except asyncpg.UniqueViolationError as exc:
                if exc.table_name == "nonces":
                    raise _replayed() from None
                if attempt == 2:  # acknowledged concurrently twice over: not expected
                    raise HubError("the receipts could not be stored") from None
        raise AssertionError("unreachable")

    async def _store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None,
    ) -> tuple[list[str], list[str]]:
        ids = [receipt.envelope_id for receipt, _ in signed]
        async with self._driver() as db, db.transaction():
            if nonce is None:
                rows = await db.fetch(_ROWS_WHERE, agency_id, ids)
            else:
                rows = await db.fetch(_NONCE_AND_ROWS, agency_id, ids, *nonce)
            fresh, already = sort_receipts(signed, rows)
            done = [receipt.envelope_id for receipt, _ in fresh]
            if fresh:
                await db.executemany(
                    _RECEIPT,
                    [
                        (r.envelope_id, agency_id, r.received_at, now, receipt_json(r), signature)
                        for r, signature in fresh
                    ],
                )
                await db.execute(_DELIVERED, now, done)
        return done, already


def _replayed() -> CryptoError:
    return CryptoError("this request was already made", code="replayed-request")


_OPEN: weakref.WeakKeyDictionary[AsyncEngine, PostgresMailbox] = weakref.WeakKeyDictionary()


def postgres_mailbox(engine: AsyncEngine) -> PostgresMailbox | None:
    """The hot path for ``engine`` if it is PostgreSQL on asyncpg, else None."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "asyncpg":
        return None
    found = _OPEN.get(engine)
    if found is None:
        found = _OPEN[engine] = PostgresMailbox(engine)
    return found
