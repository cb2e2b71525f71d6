"""``open_database``: the store is chosen once, for a database the hub can keep its data in;
and the SQLite store, like the engine, waits for another process's write lock off the
event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.protocol.errors import CryptoError, HubError
from hub.storage.database import open_database
from hub.storage.engine import SQLiteEngine
from hub.storage.mailbox.sqlite import SQLiteMailbox
from hub.storage.schema import migrate


async def test_an_in_memory_database_is_refused_before_anything_is_kept_in_it() -> None:
    with pytest.raises(HubError, match="not in memory"):
        open_database("sqlite+aiosqlite:///:memory:")
    engine = SQLiteEngine("sqlite+aiosqlite:///:memory:")
    try:
        with pytest.raises(ValueError, match="needs a database file"):
            SQLiteMailbox(engine)
    finally:
        await engine.dispose()


async def test_a_look_that_meets_another_process_writing_waits_off_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.sqlite3"
    database = open_database(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # another process, as SQLite sees it
    try:
        await migrate(database.engine)
        now = datetime.now(UTC)
        other.execute("BEGIN IMMEDIATE")
        look = asyncio.create_task(
            database.mailbox.look("police", 10, now, nonce=("police", "n-1", now))
        )
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the look waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not look.done() and ticks == 20
        other.execute("COMMIT")
        assert await asyncio.wait_for(look, 60) == []
        with pytest.raises(CryptoError):  # and its nonce was kept
            await database.mailbox.look("police", 10, now, nonce=("police", "n-1", now))
        assert isinstance(database.engine, SQLiteEngine)
        assert database.engine.busy_waits == 1  # counted as the engine's own writes are
    finally:
        other.close()
        await database.dispose()
