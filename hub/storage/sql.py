"""The few statements SQLite and PostgreSQL spell differently, behind one face.

Every function takes a connection in the caller's transaction and works on either
database; which one is decided here, by :func:`_on_sqlite`, and nowhere else in the
hub's domain. (The engine set-up, ``hub.storage.engine``, and the two mailbox stores,
``hub.storage.mailbox``, are the other places that know.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Integer, Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from hub.storage.engine import SQLiteEngine

__all__ = [
    "byte_position",
    "fetch_raw",
    "insert_many",
    "insert_rows",
    "overwrite_deleted",
    "read_only_connection",
    "release_session_lock",
    "scrub_free_pages",
    "serialise",
    "try_session_lock",
    "upsert",
]


def _on_sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


async def serialise(conn: AsyncConnection, key: int) -> None:
    """Serialise the transactions that call this with ``key`` until they end: a
    transaction-scoped advisory lock on PostgreSQL; on SQLite the write transaction
    (``BEGIN IMMEDIATE``) already holds the database's only write lock."""
    if not _on_sqlite(conn):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def try_session_lock(conn: AsyncConnection, key: int) -> bool:
    """Try for a lock held by ``conn``'s session until released or disconnected (a
    PostgreSQL advisory lock: shared databases only); commits the statement's
    transaction. True if this session now holds it."""
    won = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
    await conn.commit()
    return bool(won)


async def release_session_lock(conn: AsyncConnection, key: int) -> None:
    """Release a lock :func:`try_session_lock` took (a pooled session would keep it)."""
    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    await conn.commit()


async def fetch_raw(conn: AsyncConnection, sql: str) -> list[Any]:
    """Rows of a fixed, parameterless ``sql`` straight from the driver (aiosqlite or
    asyncpg): SQLAlchemy's layers cost more than a small indexed query."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if _on_sqlite(conn):
        return list(await driver.execute_fetchall(sql))
    return list(await driver.fetch(sql))


def upsert(conn: AsyncConnection) -> Callable[[Table], Any]:
    """The database's ``insert`` with ``on_conflict_do_update`` / ``do_nothing``."""
    if _on_sqlite(conn):
        return sqlite.insert
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415 (not loaded on SQLite)

    return postgresql.insert


async def overwrite_deleted(conn: AsyncConnection) -> None:
    """Make what this transaction deletes or overwrites unrecoverable from the file's free
    pages (SQLite's ``secure_delete``; PostgreSQL's storage is the operator's to scrub)."""
    if _on_sqlite(conn):
        await conn.execute(text("PRAGMA secure_delete=ON"))


def read_only_connection(engine: AsyncEngine) -> sqlite3.Connection | None:
    """A read-only ``sqlite3`` connection to ``engine``'s database, for reads so small
    that the driver's thread hop costs more than the query, run on the caller's thread;
    None where there is none (PostgreSQL: borrow a pooled connection instead)."""
    if not isinstance(engine, SQLiteEngine) or engine.file is None:
        return None
    return sqlite3.connect(
        f"file:{engine.file}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
    )


async def scrub_free_pages(engine: AsyncEngine) -> None:
    """After :func:`overwrite_deleted` work, fold SQLite's write-ahead log into the
    database and truncate it, so no old page survives there either (PostgreSQL: nothing
    the hub can do; ``VACUUM`` and the operator's storage)."""
    if not isinstance(engine, SQLiteEngine):
        return
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()  # outside any transaction, as a checkpoint must be
        driver: Any = raw.driver_connection
        cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await cursor.close()


def _bound(conn: AsyncConnection, table: Table, columns: Sequence[str]) -> list[Any]:
    dialect = conn.dialect
    return [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in columns]


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    replace_on: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (tuples of ``columns``' values) into ``table`` with one executemany,
    in ``conn``'s transaction. ``replace_on``: a key whose existing row is updated instead
    (``ON CONFLICT … DO UPDATE``, the same SQL on both databases).

    On SQLite the driver runs it, each value through its column type's bind processor
    (the bytes SQLAlchemy itself would store), without SQLAlchemy's per-row overhead.
    """
    if not rows:
        return
    names = ", ".join(columns)
    conflict = ""
    if replace_on:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in replace_on)
        conflict = f" ON CONFLICT ({', '.join(replace_on)}) DO UPDATE SET {updates}"
    if not _on_sqlite(conn):
        marks = ", ".join(f":{c}" for c in columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}){conflict}"  # noqa: S608
        await conn.execute(text(sql), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    processors = _bound(conn, table, columns)
    if any(p is not None for p in processors):
        rows = [
            tuple(v if p is None else p(v) for v, p in zip(row, processors, strict=True))
            for row in rows
        ]
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}){conflict}"  # noqa: S608
    driver: Any = (await conn.get_raw_connection()).driver_connection
    await driver.executemany(sql, rows)


async def insert_many(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in ``conn``'s transaction:
    on SQLite through :func:`insert_rows`, elsewhere SQLAlchemy's executemany."""
    if not rows:
        return
    if not _on_sqlite(conn):
        await conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    await insert_rows(conn, table, columns, [tuple(row[c] for c in columns) for row in rows])


class byte_position(FunctionElement[int]):
    """SQL: where ``needle`` first occurs in ``haystack`` (bytes), 1-based; 0 if nowhere
    (SQLite's ``instr``, PostgreSQL's ``position``)."""

    type = Integer()
    inherit_cache = True
    name = "byte_position"


@compiles(byte_position)
def _instr(element: byte_position, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)})"


@compiles(byte_position, "postgresql")
def _strpos(element: byte_position, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"position({compiler.process(needle, **kw)} in {compiler.process(haystack, **kw)})"
