"""Tests on each storage engine: SQLite, and PostgreSQL on 127.0.0.1:5432 (skipped, with
the reason, where no server answers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.testing import RunningHub, migrated_sqlite, postgres_database, running_hub

ENGINES = ["sqlite", "postgresql"]


@contextlib.asynccontextmanager
async def database_url(
    engine: str, tmp_path: Path, name: str = "hub.sqlite3", *, migrated: bool = False
) -> AsyncIterator[str]:
    """A fresh database on ``engine``, empty or (``migrated``) at the newest migration: its
    URL (a PostgreSQL one is dropped after)."""
    if engine == "sqlite":
        if migrated:
            await migrated_sqlite(tmp_path / name)
        yield f"sqlite+aiosqlite:///{tmp_path / name}"
        return
    database = postgres_database(migrated=migrated)
    try:
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def hub_on(engine: str, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub serving on loopback with its database on ``engine``."""
    if engine == "sqlite":
        async with running_hub(tmp_path) as running:
            yield running
        return
    async with (
        database_url(engine, tmp_path, migrated=True) as url,
        running_hub(tmp_path, database_url=url) as running,
    ):
        yield running


class SyncPostgres:
    """A fresh PostgreSQL database for synchronous tests (the CLI, threaded hubs), held
    open by an event loop of its own until ``close`` (skipped if no server answers)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._db = postgres_database()
        try:
            self.url = self._loop.run_until_complete(self._db.__aenter__())
        except OSError as exc:
            self._loop.close()
            pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")

    def close(self) -> None:
        """Drop the database."""
        self._loop.run_until_complete(self._db.__aexit__(None, None, None))
        self._loop.close()
