"""The mailbox store on PostgreSQL, on asyncpg itself: a signed request's agency, a
mailbox look (with the request's nonce, and with a lease) and a batch of receipts.

Through SQLAlchemy each statement costs the hub 0.3-0.5 ms of CPU (compiling-cache
lookups, parameter processing, the adapter's greenlet hops), and a poll made five of
them: at 200 messages/s one hub process was nearly saturated by the agencies' polls and
receipts alone. Here the same SQL runs on a pooled connection's asyncpg driver:

* the agency, and a look without nonce or lease: one statement each, outside any
  transaction (asyncpg autocommit; SQLAlchemy began none, so it rolls none back);
* a look with the request's nonce or a lease: one transaction without the fsync
  (``SET LOCAL synchronous_commit TO OFF``). The nonce is inserted by the statement that
  reads the mailbox (a data-modifying ``WITH`` runs whether or not the query reads it);
  a nonce seen before is refused. A lease locks the rows it reads (``FOR UPDATE SKIP
  LOCKED``: another poll skips them) and claims them with an insert that only wins a row
  whose earlier lease has ended, so two hub processes never hand out one row at once;
* a batch of receipts: one durable transaction, the nonce and the envelopes' rows read
  in one statement, then one insert of the receipts and one update of the outbox. If
  another request acknowledged one of them meanwhile, the batch is tried once more (it
  then finds those envelopes delivered).

The SQL is the SQLite store's (:mod:`hub.storage.mailbox.sqlite`) but for placeholders and
the row locks; the tests run both through one suite.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.protocol.messages import Receipt
from hub.storage.mailbox.base import (
    AGENCY_COLUMNS,
    AgencyRow,
    Nonce,
    Stored,
    receipt_json,
    replayed,
    sort_receipts,
)

__all__ = ["PostgresMailbox"]

_AGENCY: Final = f"SELECT {AGENCY_COLUMNS} FROM agencies WHERE id = $1"  # noqa: S608
_READY_WHERE: Final = (
    "FROM outbox o WHERE o.agency_id = $1 AND o.status = 'queued' AND o.expires_at > $2 "
    "AND NOT EXISTS (SELECT 1 FROM outbox_claims c WHERE c.envelope_id = o.envelope_id "
    "AND c.until > $2) ORDER BY o.seq LIMIT $3"
)
_READY: Final = "SELECT o.envelope " + _READY_WHERE
_KEEP_NONCE: Final = "INSERT INTO nonces (agency_id, nonce, seen_at) VALUES ($1, $2, $3)"
# The rows a leased look hands out: locked as they are read (another poll skips them),
# then claimed; a row some other process claimed meanwhile, its lease running, is lost.
_CLAIM: Final = (
    "WITH ready AS (SELECT o.envelope_id, o.envelope, o.seq "  # noqa: S608 (fixed text)
    + _READY_WHERE
    + " FOR UPDATE OF o SKIP LOCKED), won AS (INSERT INTO outbox_claims (envelope_id, "
    "agency_id, until) SELECT envelope_id, $1, $4 FROM ready ON CONFLICT (envelope_id) DO "
    "UPDATE SET until = excluded.until WHERE outbox_claims.until <= $2 RETURNING envelope_id) "
    "SELECT r.envelope FROM ready r JOIN won w ON w.envelope_id = r.envelope_id ORDER BY r.seq"
)
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


class PostgresMailbox:
    """The mailbox store on one PostgreSQL engine (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.driver != "asyncpg":
            raise ValueError("the PostgreSQL mailbox store runs on asyncpg")
        self._engine = engine

    @contextlib.asynccontextmanager
    async def _driver(self) -> AsyncIterator[Any]:
        """A pooled connection's asyncpg connection, returned to the pool afterwards."""
        async with self._engine.connect() as conn:
            yield (await conn.get_raw_connection()).driver_connection

    def close(self) -> None:
        """Nothing of its own to close: its connections are the engine's pool's."""

    async def agency(self, agency_id: str) -> AgencyRow | None:
        """The agency a signed request names, as it is now."""
        async with self._driver() as db:
            row = await db.fetchrow(_AGENCY, agency_id)
        if row is None:
            return None
        key = bytes(row[8]) if row[8] is not None else None
        return AgencyRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], key)

    async def look(
        self,
        agency_id: str,
        limit: int,
        now: datetime,
        *,
        lease: float = 0,
        nonce: Nonce | None = None,
    ) -> list[bytes]:
        """Up to ``limit`` unleased envelopes, oldest first; with ``nonce`` or ``lease``
        one unsynced transaction (a replayed nonce refused, a lease claimed)."""
        async with self._driver() as db:
            if nonce is None and lease <= 0:
                rows = await db.fetch(_READY, agency_id, now, limit)
                return [bytes(row[0]) for row in rows]
            try:
                async with db.transaction():
                    await db.execute("SET LOCAL synchronous_commit TO OFF")
                    if lease <= 0:
                        assert nonce is not None
                        rows = await db.fetch(_NONCE_AND_READY, agency_id, now, limit, *nonce)
                    else:
                        if nonce is not None:
                            await db.execute(_KEEP_NONCE, *nonce)
                        until = now + timedelta(seconds=lease)
                        rows = await db.fetch(_CLAIM, agency_id, now, limit, until)
            except asyncpg.UniqueViolationError:
                raise replayed() from None
        return [bytes(row[0]) for row in rows]

    async def store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None = None,
    ) -> Stored:
        """One durable transaction: the nonce, every receipt and every outbox status
        change, or none."""
        for attempt in (1, 2):
            try:
                return await self._store_receipts(agency_id, signed, now, nonce)
            except asyncpg.UniqueViolationError as exc:
                if exc.table_name == "nonces":
                    raise replayed() from None
                if attempt == 2:  # acknowledged concurrently twice over: not expected
                    raise HubError("the receipts could not be stored") from None
        raise AssertionError("unreachable")

    async def _store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None,
    ) -> Stored:
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
        return Stored(done, already)
