"""The database: an async engine on SQLite (WAL) or PostgreSQL, migrated with Alembic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiosqlite
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, Table, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from hub.protocol.errors import HubError

__all__ = [
    "BUSY_MS",
    "Revision",
    "background_checkpoints",
    "command_database_url",
    "create_engine",
    "downgrade",
    "insert_many",
    "is_sqlite",
    "sqlite_file",
    "light_transaction",
    "migrate",
    "private_sqlite_file",
    "run_on_command_database",
    "schema_current",
    "schema_differences",
    "schema_heads",
    "schema_history",
    "upgrade",
    "writer_connection",
    "writer_lock",
]

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE: Final = "marac_write"
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

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if args and isinstance(args[0], str) and args[0].lstrip()[:15].upper() == "BEGIN IMMEDIATE":
            # Free (no other process writing: this one's writers queue on an asyncio
            # lock), the lock is taken inline; held by another process, on the worker.
            db = self._connection
            db.execute("PRAGMA busy_timeout=0")
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            finally:
                db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        return fn(*args, **kwargs)


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


def _connect_inline(database: str, **kwargs: Any) -> _InlineSQLite:
    def connector() -> sqlite3.Connection:
        if not kwargs.get("uri"):
            private_sqlite_file(database)
        kwargs["check_same_thread"] = False  # used from the loop's thread and the worker's
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    connection = _InlineSQLite(connector, 64)
    connection._thread.daemon = True
    return connection


_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    """This event loop's lock for ``engine``'s write transactions."""
    locks = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(id(engine.sync_engine), asyncio.Lock())


# A SQLite file engine's writes go through one connection of their own (see _SQLiteEngine).
_WRITES: weakref.WeakKeyDictionary[Any, AsyncEngine] = weakref.WeakKeyDictionary()


def _write_connection(engine: AsyncEngine) -> Any:
    """``connect()`` on the engine's writer connection (a file), else on its pool."""
    return _WRITES.get(engine.sync_engine, engine).connect()


async def writer_connection(engine: AsyncEngine) -> sqlite3.Connection:
    """The ``sqlite3`` connection every write of this process goes through (a SQLite
    file's engine only): for driver-level writes, under :func:`writer_lock`."""
    writes = _WRITES[engine.sync_engine]
    async with writes.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        db: sqlite3.Connection = raw._connection
        return db


class _SQLiteEngine(AsyncEngine):
    """``begin()`` marks its transaction as a write: only those take SQLite's write lock.

    Write transactions of one process queue on an asyncio lock before asking SQLite for
    its write lock: the next one starts the moment the last commits, where SQLite's own
    busy handler would have slept (up to 100 ms a try) and held every waiter up. Other
    processes (the CLI) still wait on SQLite's lock, with its busy timeout.

    On a file, every write runs on one connection (a ``StaticPool`` of its own), which
    the mailbox's driver-level writes share (:func:`writer_connection`): SQLite drops a
    connection's whole page cache when another connection has changed the database
    since its last transaction, so writers on separate connections would each start
    cold, reading every page they touch again.
    """

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (``BEGIN IMMEDIATE``); ``connect()`` reads (``BEGIN``)."""
        async with writer_lock(self), _write_connection(self) as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    async def dispose(self, close: bool = True) -> None:
        """Close the pool's connections and the writer's."""
        writes = _WRITES.pop(self.sync_engine, None)
        if writes is not None:
            await writes.dispose(close)
        await super().dispose(close)


def is_sqlite(engine: AsyncEngine) -> bool:
    """True for the embedded SQLite database."""
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The path of ``engine``'s SQLite file; None for PostgreSQL or an in-memory database."""
    path = engine.url.database
    return path if is_sqlite(engine) and path and path != ":memory:" else None


_BACKGROUND_CHECKPOINTS: weakref.WeakSet[Any] = weakref.WeakSet()


def background_checkpoints(engine: AsyncEngine) -> bool:
    """True if ``engine``'s SQLite connections leave WAL checkpoints to a
    :class:`hub.storage.checkpoints.WalCheckpointer` (the server's engine)."""
    return engine.sync_engine in _BACKGROUND_CHECKPOINTS


def create_engine(url: str, *, background_checkpoints: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout.

    On SQLite, ``engine.begin()`` is a write transaction (``BEGIN IMMEDIATE``: it takes
    the write lock up front) and ``engine.connect()`` a read (a deferred ``BEGIN``: WAL
    readers neither wait for the writer nor hold it up). Write only inside ``begin()``.
    ``background_checkpoints`` turns SQLite's automatic WAL checkpoints off on this
    engine's connections: the caller runs a ``WalCheckpointer`` (the server does).
    """
    if url.startswith("sqlite"):
        connect_args = {"timeout": 30, "async_creator_fn": _connect_inline}
        engine = _SQLiteEngine(create_async_engine(url, connect_args=connect_args).sync_engine)
        _sqlite_events(engine, background_checkpoints=background_checkpoints)
        if sqlite_file(engine) is not None:
            writes = create_async_engine(url, connect_args=connect_args, poolclass=StaticPool)
            _sqlite_events(
                writes, background_checkpoints=background_checkpoints, cache_kib=WRITER_CACHE_KIB
            )
            _WRITES[engine.sync_engine] = writes
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
    if background_checkpoints:
        _BACKGROUND_CHECKPOINTS.add(engine.sync_engine)

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
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextlib.asynccontextmanager
async def light_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction not flushed to disk at its commit: for what a power cut may
    lose at no cost (a request's nonce, a mailbox lease), never for a send or a receipt.

    SQLite commits it with ``synchronous=NORMAL`` (the next durable commit's fsync of
    the write-ahead log covers it; a crash of the process loses nothing), PostgreSQL with
    ``synchronous_commit`` off. Both keep the database consistent.
    """
    if is_sqlite(engine):
        async with writer_lock(engine), _write_connection(engine) as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            raw._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                await conn.execution_options(**{_WRITE: True})
                async with conn.begin():
                    yield conn
            finally:
                if raw._connection is not None:
                    raw._conn.execute("PRAGMA synchronous=FULL")
        return
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield conn


async def insert_many(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in ``conn``'s transaction.

    On SQLite, one executemany on the driver, each value put through its column type's
    bind processor (the bytes SQLAlchemy itself would store), without its per-row
    overhead; elsewhere SQLAlchemy's executemany.
    """
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name != "sqlite":
        await conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in columns]
    values = [
        tuple(
            p(row[name]) if p is not None else row[name]
            for name, p in zip(columns, processors, strict=True)
        )
        for row in rows
    ]
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    driver: Any = (await conn.get_raw_connection()).driver_connection
    await driver.executemany(sql, values)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration."""
    await upgrade(engine, "head")


# --- The operator's schema commands (``marac-hub db``) and the stock ``alembic`` command.


@dataclass(frozen=True, slots=True)
class Revision:
    """One migration: its id, the ones it follows, its docstring's first paragraph."""

    id: str
    down: tuple[str, ...]
    summary: str
    head: bool


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _revision_error(exc: Exception) -> HubError:
    return HubError(" ".join(str(exc).split()), code="not-found")


def schema_heads() -> tuple[str, ...]:
    """The newest revision(s) the code knows."""
    return tuple(_script().get_heads())


def schema_history() -> list[Revision]:
    """Every migration, newest first."""
    script = _script()
    heads = set(script.get_heads())
    history: list[Revision] = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        downs = () if down is None else (down,) if isinstance(down, str) else tuple(down)
        summary = " ".join((rev.doc or "").strip().split("\n\n")[0].split())
        history.append(Revision(rev.revision, downs, summary, rev.revision in heads))
    return history


async def schema_current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revision(s) the database is at; empty for a database never migrated."""

    def current(sync: Connection) -> tuple[str, ...]:
        return tuple(MigrationContext.configure(sync).get_current_heads())

    async with engine.connect() as conn:
        return await conn.run_sync(current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision`` (HubError ``not-found`` for an unknown one)."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))
    except CommandError as exc:
        raise _revision_error(exc) from None


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``base``: nothing left)."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), revision))
    except CommandError as exc:
        raise _revision_error(exc) from None


async def schema_differences(engine: AsyncEngine, metadata: MetaData) -> list[str]:
    """How the database's tables differ from ``metadata`` (Alembic's ``compare_metadata``):
    one line a difference; empty when they agree."""

    def compare(sync: Connection) -> list[str]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return [_describe(diff) for diff in compare_metadata(context, metadata)]

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    names = [getattr(r, "name", None) or str(r) for r in rest if r is not None][:3]
    return " ".join([str(kind), *map(str, names)])


def command_database_url() -> str:
    """The database the stock ``alembic`` command works on: ``MARAC_HUB_DATABASE_URL``, or
    the SQLite file in ``MARAC_HUB_DATA_DIR`` (default ``data``), as the hub's settings
    would name it (a TOML settings file is not read here: set the variable)."""
    url = os.environ.get("MARAC_HUB_DATABASE_URL")
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url
    return (
        f"sqlite+aiosqlite:///{Path(os.environ.get('MARAC_HUB_DATA_DIR', 'data')) / 'hub.sqlite3'}"
    )


def run_on_command_database(work: Callable[[Connection], None]) -> None:
    """Run ``work`` on a connection to :func:`command_database_url` in a write transaction:
    what ``migrations/env.py`` does when the stock ``alembic`` command, not the hub,
    runs it."""

    async def run() -> None:
        engine = create_engine(command_database_url())
        try:
            async with engine.begin() as conn:
                await conn.run_sync(work)
        finally:
            await engine.dispose()

    asyncio.run(run())
