"""The database: an async engine on SQLite (WAL) or PostgreSQL, migrated with Alembic."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["create_engine", "is_sqlite", "migrate"]

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE: Final = "marac_write"


class _SQLiteEngine(AsyncEngine):
    """``begin()`` marks its transaction as a write: only those take SQLite's write lock."""

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (``BEGIN IMMEDIATE``); ``connect()`` reads (``BEGIN``)."""
        async with self.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn


def is_sqlite(engine: AsyncEngine) -> bool:
    """True for the embedded SQLite database."""
    return engine.dialect.name == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout.

    On SQLite, ``engine.begin()`` is a write transaction (``BEGIN IMMEDIATE``: it takes
    the write lock up front) and ``engine.connect()`` a read (a deferred ``BEGIN``: WAL
    readers neither wait for the writer nor hold it up). Write only inside ``begin()``.
    """
    if url.startswith("sqlite"):
        engine = _SQLiteEngine(create_async_engine(url, connect_args={"timeout": 30}).sync_engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide where transactions begin and end: the
            # driver's implicit transactions turn SAVEPOINTs and reads into autocommits.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged send survives a crash
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so a transaction that reads and then
            # writes waits its turn instead of failing with SQLITE_BUSY_SNAPSHOT. Reads
            # (``connect()``) begin deferred and take no lock.
            write = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # No pre-ping (a round trip on every checkout): a broken connection fails its
    # statement, is invalidated and replaced; idle ones are recycled before servers drop them.
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
