"""The mailbox store on SQLite, on the driver itself: signed-request lookups, mailbox
looks (with their nonce and lease) and receipts.

Every signed request an agency makes reads its agency row, records its nonce, and looks
in its mailbox or stores receipts. Through SQLAlchemy's async layer each of those costs
about 0.1 ms (a connection checkout, its BEGIN and rollback, statement execution, all
hopping through greenlets), some 1 ms a request, while SQLite itself takes microseconds.
Here they are a handful of fixed statements on two ``sqlite3`` connections, run on the
event loop's thread:

* reads (the agency, a look without nonce or lease) on a reader connection kept here:
  WAL readers never wait for the writer;
* writes on the engine's own writer connection (``SQLiteEngine.writer_connection``: one connection
  for all of a process's writes keeps its page cache warm), inside the same asyncio lock
  as the engine's write transactions, so this process's writers still take turns;
  ``BEGIN IMMEDIATE`` is tried without waiting and, if another process holds SQLite's
  lock, waited for on a worker thread;
* receipts are group-committed: the batches of receipts that arrive in the same turn of
  the event loop (several agencies acknowledging at once) share one durable transaction,
  each inside its own savepoint, so one fsync covers them all. A batch that fails rolls
  back to its savepoint and fails alone; each request is answered only once the shared
  transaction has committed (or with its error, if the commit failed: then none stored).

Values are stored exactly as SQLAlchemy stores them (each through its column type's bind
processor), so the rest of the hub reads these rows as its own. The SQL is the same as
the PostgreSQL store's (:mod:`hub.storage.mailbox.postgres`) but for its placeholders;
the tests run both through one suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from hub.storage.engine import SQLiteEngine
from hub.storage.mailbox.base import (
    AGENCY_COLUMNS,
    AgencyRow,
    Nonce,
    Stored,
    receipt_json,
    replayed,
    sort_receipts,
)
from hub.storage.tables import TZ

if TYPE_CHECKING:  # the message models load when a receipt is stored
    from hub.protocol.messages import Receipt

__all__ = ["SQLiteMailbox"]

_AGENCY: Final = f"SELECT {AGENCY_COLUMNS} FROM agencies WHERE id = ?"  # noqa: S608
_READY: Final = (
    "SELECT o.envelope_id, o.envelope FROM outbox o WHERE o.agency_id = ? "
    "AND o.status = 'queued' AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM "
    "outbox_claims c WHERE c.envelope_id = o.envelope_id AND c.until > ?) "
    "ORDER BY o.seq LIMIT ?"
)
_CLAIM: Final = (
    "INSERT INTO outbox_claims (envelope_id, agency_id, until) VALUES {} "
    "ON CONFLICT (envelope_id) DO UPDATE SET until = excluded.until "
    "WHERE outbox_claims.until <= ? RETURNING envelope_id"
)
_NONCE: Final = "INSERT INTO nonces (agency_id, nonce, seen_at) VALUES (?, ?, ?)"
_OUTBOX_ROWS: Final = (
    "SELECT envelope_id, digest, status FROM outbox WHERE agency_id = ? AND envelope_id IN ({})"
)
_RECEIPT: Final = (
    "INSERT INTO receipts (envelope_id, agency_id, received_at, stored_at, receipt, "
    "signature) VALUES (?, ?, ?, ?, ?, ?)"
)
_DELIVERED: Final = (
    "UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE envelope_id IN ({})"
)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class SQLiteMailbox:
    """The mailbox store on one SQLite file (see the module docstring)."""

    def __init__(self, engine: SQLiteEngine) -> None:
        if engine.file is None:
            raise ValueError("the SQLite mailbox store needs a database file")
        self._engine = engine
        dialect = engine.dialect
        stamp = TZ.dialect_impl(dialect).bind_processor(dialect)
        self._stamp: Callable[[datetime], Any] = stamp or (lambda value: value)
        self._file = engine.file
        self._opened: sqlite3.Connection | None = None  # the reader, opened on first use
        self._writer: sqlite3.Connection | None = None  # the engine's: writer_connection
        self._group: _Group | None = None  # the receipts transaction open now, if any
        self._running: set[asyncio.Task[None]] = set()  # group commits under way
        self.commits = 0  # receipts transactions committed (for tests and diagnostics)

    @property
    def _reader(self) -> sqlite3.Connection:
        """The reader connection (opened on first use: the file exists by then)."""
        if self._opened is None:
            self._opened = self._connect(self._file, self._engine.background_checkpoints)
        return self._opened

    @staticmethod
    def _connect(path: str, background_checkpoints: bool) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=0")
        if background_checkpoints:
            db.execute("PRAGMA wal_autocheckpoint=0")
        return db

    def close(self) -> None:
        """Close the reader (the writer is the engine's, closed with it)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None
        self._writer = None

    @contextlib.asynccontextmanager
    async def _writer_locked(self) -> AsyncIterator[sqlite3.Connection]:
        """The engine's writer connection, after this process's other writers."""
        async with self._engine.writer_lock():
            if self._writer is None:
                self._writer = await self._engine.writer_connection()
            yield self._writer

    async def agency(self, agency_id: str) -> AgencyRow | None:
        """The agency a signed request names, as it is now."""
        row = self._reader.execute(_AGENCY, (agency_id,)).fetchone()
        if row is None:
            return None
        signed_on = date.fromisoformat(row[6]) if isinstance(row[6], str) else row[6]
        key = bytes(row[8]) if row[8] is not None else None
        agency_id, name, kind, status, isp_version, isp_signed_by = row[:6]
        return AgencyRow(
            agency_id, name, kind, status, isp_version, isp_signed_by, signed_on, row[7], key
        )

    async def look(
        self,
        agency_id: str,
        limit: int,
        now: datetime,
        *,
        lease: float = 0,
        nonce: Nonce | None = None,
    ) -> list[bytes]:
        """Up to ``limit`` envelopes, oldest first; with ``nonce`` (kept in the same
        transaction) or ``lease`` (claimed until ``now + lease``) a write, under this
        process's writers' lock, committed without the fsync."""
        at = self._stamp(now)
        if nonce is None and lease <= 0:
            rows = self._reader.execute(_READY, (agency_id, at, at, limit)).fetchall()
            return [bytes(r[1]) for r in rows]
        async with self._light_transaction() as db:
            if nonce is not None:
                self._keep_nonce(db, nonce)
            rows = db.execute(_READY, (agency_id, at, at, limit)).fetchall()
            if lease <= 0 or not rows:
                return [bytes(r[1]) for r in rows]
            until = self._stamp(now + timedelta(seconds=lease))
            values = [v for r in rows for v in (r[0], agency_id, until)]
            sql = _CLAIM.format(", ".join(["(?, ?, ?)"] * len(rows)))
            won = {r[0] for r in db.execute(sql, (*values, at)).fetchall()}
            return [bytes(r[1]) for r in rows if r[0] in won]

    async def store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None = None,
    ) -> Stored:
        """One durable transaction, group-committed with the batches that arrive in the
        same turn of the event loop: the nonce, every receipt and every outbox status
        change, or none."""
        ids = [receipt.envelope_id for receipt, _ in signed]
        async with self._grouped() as db:
            if nonce is not None:
                self._keep_nonce(db, nonce)
            rows = db.execute(_OUTBOX_ROWS.format(_marks(len(ids))), (agency_id, *ids))
            fresh_receipts, already = sort_receipts(signed, rows)
            stored = self._stamp(now)
            fresh = [
                (r.envelope_id, agency_id, self._stamp(r.received_at), stored, receipt_json(r), sig)
                for r, sig in fresh_receipts
            ]
            done = [r.envelope_id for r, _ in fresh_receipts]
            if fresh:
                db.executemany(_RECEIPT, fresh)
                db.execute(_DELIVERED.format(_marks(len(done))), (stored, *done))
        return Stored(done, already)

    @contextlib.asynccontextmanager
    async def _grouped(self) -> AsyncIterator[sqlite3.Connection]:
        """A savepoint in this turn's shared durable transaction (see the module
        docstring); the body must not await. Returns once the transaction committed."""
        while True:
            group = self._group
            if group is None:
                group = self._group = _Group(asyncio.get_running_loop())
                task = asyncio.create_task(self._commit_group(group))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            await asyncio.shield(group.opened)
            if not group.closing:
                break  # else it committed while this batch waited: join the next one
        db = self._writer
        assert db is not None  # fetched before the group opened
        name = f"receipts_{group.units}"
        group.units += 1
        group.open_units += 1
        db.execute(f"SAVEPOINT {name}")
        try:
            try:
                yield db
            except BaseException:
                db.execute(f"ROLLBACK TO {name}")
                raise
            finally:
                db.execute(f"RELEASE {name}")
        finally:
            group.open_units -= 1
        await asyncio.shield(group.committed)

    async def _commit_group(self, group: _Group) -> None:
        """Open the shared transaction, let this turn's batches in, commit once."""
        try:
            async with self._writer_locked() as db:
                await self._engine.begin_immediate(db)
                try:
                    group.opened.set_result(None)
                    for _ in range(_JOIN_TURNS):  # the waiters' wake-ups run first
                        await asyncio.sleep(0)
                    while group.open_units:
                        await asyncio.sleep(0)
                    self._close(group)  # later batches start the next transaction
                    db.execute("COMMIT")
                except BaseException:
                    self._close(group)
                    db.execute("ROLLBACK")
                    raise
        except BaseException as exc:
            self._close(group)
            for waiting in (group.opened, group.committed):
                if not waiting.done():
                    waiting.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self.commits += 1
            group.committed.set_result(None)

    def _close(self, group: _Group) -> None:
        """No batch joins ``group`` any more."""
        group.closing = True
        if self._group is group:
            self._group = None

    def _keep_nonce(self, db: sqlite3.Connection, nonce: Nonce) -> None:
        agency_id, value, seen = nonce
        try:
            db.execute(_NONCE, (agency_id, value, self._stamp(seen)))
        except sqlite3.IntegrityError:
            raise replayed() from None

    @contextlib.asynccontextmanager
    async def _light_transaction(self) -> AsyncIterator[sqlite3.Connection]:
        """A write transaction committed without the fsync (``synchronous=NORMAL``), for
        a look's nonce and lease: a crash of the process loses nothing, a power cut at
        most these (the next durable commit's fsync of the WAL covers them)."""
        async with self._writer_locked() as db:
            db.execute("PRAGMA synchronous=NORMAL")
            try:
                await self._engine.begin_immediate(db)
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                db.execute("PRAGMA synchronous=FULL")


_JOIN_TURNS: Final = 3  # loop turns the shared transaction stays open for this turn's batches


class _Group:
    """One shared durable transaction: opened, then committed (or failed) once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.opened: asyncio.Future[None] = loop.create_future()
        self.committed: asyncio.Future[None] = loop.create_future()
        for waiting in (self.opened, self.committed):
            waiting.add_done_callback(_seen)
        self.units = 0  # savepoints so far (their names)
        self.open_units = 0  # inside their savepoint now
        self.closing = False  # committing: no batch may join any more


def _seen(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()  # retrieved: a waiter may have gone away
