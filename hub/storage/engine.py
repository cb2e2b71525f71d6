"""The engine set-up: an async SQLAlchemy engine on SQLite (WAL) or PostgreSQL.

This module and the two mailbox stores (``hub.storage.mailbox``) are where the hub tells
SQLite from PostgreSQL; ``hub.storage.sql`` holds the few statement-level differences
behind one face. The rest of the hub writes in ``engine.begin()`` and reads in
``engine.connect()``, whichever database it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

__all__ = [
    "BUSY_MS",
    "POOL_SIZE",
    "SQLiteEngine",
    "WRITE",
    "begin_without_waiting",
    "create_engine",
    "private_sqlite_file",
]

WRITE: Final = "marac_write"  # execution option: this connection's transaction writes
BUSY_MS: Final = 30_000  # how long a write waits for another process's
POOL_SIZE: Final = 20  # PostgreSQL connections a hub process keeps (and never exceeds)
WRITER_CACHE_KIB: Final = 65_536  # the writer connection's page cache (SQLite's default: 2 MiB)


class _InlineSQLite(aiosqlite.Connection):
    """aiosqlite, but statements that cannot wait run on the event loop's own thread.

    aiosqlite hands every call (cursor, execute, fetch, close) to a worker thread and
    back: a few of those per statement cost more CPU than SQLite itself. In WAL mode only
    taking the write lock (``BEGIN IMMEDIATE``) can wait for another connection: it is
    tried inline without waiting, and only if another process holds the lock does it go
    to the worker thread, where waiting does not stop the loop; reads, and writes under
    a lock already held, run inline. A commit's fsync (``synchronous=FULL``)
    runs inline too: it is what makes an acknowledged send survive a crash.
    """

    on_busy: Callable[[], None] = staticmethod(lambda: None)  # set by the engine

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if args and isinstance(args[0], str) and args[0].lstrip()[:15].upper() == "BEGIN IMMEDIATE":
            # Free (no other process writing: this one's writers queue on an asyncio
            # lock), the lock is taken inline; held by another process, on the worker.
            free, result = begin_without_waiting(self._connection, lambda: fn(*args, **kwargs))
            if free:
                return result
            self.on_busy()
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        return fn(*args, **kwargs)


def begin_without_waiting(db: sqlite3.Connection, begin: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``begin`` (a ``BEGIN IMMEDIATE`` on ``db``) with the busy timeout off:
    ``(True, its result)`` if the write lock was free, ``(False, None)`` if another
    connection holds it; the caller then waits for it off the event loop."""
    db.execute("PRAGMA busy_timeout=0")
    try:
        return True, begin()
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
            raise
        return False, None
    finally:
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")


PRIVATE_FILE: Final = 0o600  # the database and its -wal and -shm: the hub's owner alone
_SQLITE_SIDE_FILES: Final = ("", "-wal", "-shm", "-journal")


def private_sqlite_file(database: str) -> None:
    """Create the SQLite file ``database`` readable and writable by its owner alone, or
    narrow an existing one (and its -wal, -shm and -journal files) to that, whatever the
    umask. SQLite gives the files it creates beside a database the database's own mode,
    so a database made private stays private. In-memory and URI names are left alone."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for suffix in _SQLITE_SIDE_FILES:
        path = database + suffix
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if os.stat(path).st_mode & 0o777 != PRIVATE_FILE:
                os.chmod(path, PRIVATE_FILE)


def _connect_inline(database: str, *, on_busy: Callable[[], None], **kwargs: Any) -> _InlineSQLite:
    def connector() -> sqlite3.Connection:
        if not kwargs.get("uri"):
            private_sqlite_file(database)
        kwargs["check_same_thread"] = False  # used from the loop's thread and the worker's
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    connection = _InlineSQLite(connector, 64)
    connection.on_busy = on_busy
    connection._thread.daemon = True
    return connection


class SQLiteEngine(AsyncEngine):
    """A SQLite engine: ``begin()`` is a write transaction, ``connect()`` a read.

    ``begin()`` marks its transaction as a write: only those take SQLite's write lock
    (``BEGIN IMMEDIATE``); ``connect()`` begins deferred and takes none (WAL readers
    neither wait for the writer nor hold it up). Write transactions of one process queue
    on an asyncio lock before asking SQLite for its write lock: the next one starts the
    moment the last commits, where SQLite's own busy handler would have slept (up to
    100 ms a try) and held every waiter up. Other processes (the CLI) still wait on
    SQLite's lock, with its busy timeout.

    On a file, every write runs on one connection (a ``StaticPool`` of its own), which
    the SQLite mailbox store's driver-level writes share (:meth:`writer_connection`):
    SQLite drops a connection's whole page cache when another connection has changed the
    database since its last transaction, so writers on separate connections would each
    start cold, reading every page they touch again.

    ``background_checkpoints``: this engine's connections leave WAL checkpoints to a
    :class:`hub.storage.checkpoints.WalCheckpointer` (the server runs one).
    """

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        self.busy_waits = 0  # write transactions that found another process writing
        creator = functools.partial(_connect_inline, on_busy=self._waited)
        connect_args = {"timeout": 30, "async_creator_fn": creator}
        super().__init__(create_async_engine(url, connect_args=connect_args).sync_engine)
        self.background_checkpoints = background_checkpoints
        _sqlite_events(self, background_checkpoints=background_checkpoints)
        path = self.url.database
        self.file: str | None = path if path and path != ":memory:" else None
        self._writes: AsyncEngine | None = None
        if self.file is not None:
            self._writes = create_async_engine(url, connect_args=connect_args, poolclass=StaticPool)
            _sqlite_events(
                self._writes,
                background_checkpoints=background_checkpoints,
                cache_kib=WRITER_CACHE_KIB,
            )
        # One lock an event loop (a command may run several loops on one engine).
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _waited(self) -> None:
        self.busy_waits += 1

    async def begin_immediate(self, db: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE`` on a driver-level ``sqlite3`` connection (the mailbox
        store's): at once if the write lock is free, else waited for on a worker thread
        (the busy timeout) and counted in :attr:`busy_waits`, as the engine's own writes."""
        if begin_without_waiting(db, lambda: db.execute("BEGIN IMMEDIATE"))[0]:
            return
        self._waited()
        await asyncio.to_thread(db.execute, "BEGIN IMMEDIATE")

    def writer_lock(self) -> asyncio.Lock:
        """This event loop's lock for the engine's write transactions."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _write_connection(self) -> Any:
        """``connect()`` on the writer connection (a file), else on the pool."""
        if self._writes is not None:
            return self._writes.connect()
        return super().connect()

    async def writer_connection(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection every write of this process goes through (a file
        only): for driver-level writes, under :meth:`writer_lock`."""
        assert self._writes is not None, "an in-memory database has no writer connection"
        async with self._writes.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            db: sqlite3.Connection = raw._connection
            return db

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (``BEGIN IMMEDIATE``); ``connect()`` reads (``BEGIN``)."""
        async with self.writer_lock(), self._write_connection() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn

    async def dispose(self, close: bool = True) -> None:
        """Close the pool's connections and the writer's."""
        if self._writes is not None:
            await self._writes.dispose(close)
        await super().dispose(close)


def create_engine(
    url: str, *, background_checkpoints: bool = False, existing: bool = False
) -> AsyncEngine:
    """An async engine for ``url``: a :class:`SQLiteEngine` (WAL, foreign keys, a busy
    timeout), or a pooled PostgreSQL one.

    Write only inside ``begin()``. ``background_checkpoints`` turns SQLite's automatic
    WAL checkpoints off on this engine's connections: the caller runs a
    ``WalCheckpointer`` (the server does). ``existing``: refuse (``FileNotFoundError``)
    a SQLite file that is not there yet, rather than create it on first connect.
    """
    if url.startswith("sqlite"):
        engine = SQLiteEngine(url, background_checkpoints=background_checkpoints)
        if existing and engine.file is not None and not os.path.exists(engine.file):
            raise FileNotFoundError(engine.file)
        return engine
    # No pre-ping (a round trip on every checkout): a broken connection fails its
    # statement, is invalidated and replaced; idle ones are recycled before servers drop them.
    # No overflow: an overflow connection is closed when it is returned, so every burst of
    # polls (20 agencies woken by one notice) opened and closed ten connections, each a
    # TCP, TLS and authentication handshake. A checkout beyond the 20 waits for one back.
    return create_async_engine(url, pool_size=POOL_SIZE, max_overflow=0, pool_recycle=1800)


def _sqlite_events(
    engine: AsyncEngine, *, background_checkpoints: bool, cache_kib: int | None = None
) -> None:
    """Pragmas on every new connection (``cache_kib``: its page cache, if not SQLite's
    default); ``BEGIN IMMEDIATE`` for writes."""

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin and end: the
        # driver's implicit transactions turn SAVEPOINTs and reads into autocommits.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged send survives a crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        if cache_kib is not None:
            cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then
        # writes waits its turn instead of failing with SQLITE_BUSY_SNAPSHOT. Reads
        # (``connect()``) begin deferred and take no lock.
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
