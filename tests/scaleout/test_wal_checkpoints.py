"""SQLite's WAL checkpointed on a worker thread, not inside a commit on the event loop.

What is only in the WAL is invisible to a reader of the database file alone
(``immutable=1`` ignores the WAL): that tells a checkpoint from none.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from scaleout_helpers import enrol_agencies, staff
from sqlalchemy import text

from hub.service.appkeys import ENGINE, RUNTIME
from hub.storage.checkpoints import WalCheckpointer
from hub.storage.engine import WRITER_CACHE_KIB, SQLiteEngine, create_engine
from hub.storage.mailbox.sqlite import SQLiteMailbox
from hub.testing import running_hub

ROW = "x" * 4000  # one page a row: 1 200 rows are past SQLite's automatic 1 000 pages


def _in_file(path: Path, sql: str) -> int:
    """``sql``'s count from the database file alone, ignoring the WAL."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


async def _fill(path: Path, *, background: bool) -> sqlite3.Connection:
    """1 200 rows in ``t``; returns a connection that keeps the WAL open (SQLite
    checkpoints when the last connection to a file closes)."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}", background_checkpoints=background)
    assert isinstance(engine, SQLiteEngine) and engine.background_checkpoints is background
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
        keeper = sqlite3.connect(path)
        keeper.execute("SELECT count(*) FROM t").fetchone()
        for _ in range(12):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": ROW}] * 100)
    finally:
        await engine.dispose()
    return keeper


async def test_without_automatic_checkpoints_only_the_checkpointer_copies_the_wal(
    tmp_path: Path,
) -> None:
    default, background = tmp_path / "default.sqlite3", tmp_path / "background.sqlite3"
    keep_open = [await _fill(default, background=False), await _fill(background, background=True)]
    try:
        assert _in_file(default, "SELECT count(*) FROM t") >= 1000  # SQLite copied most
        assert _in_file(background, "SELECT count(*) FROM sqlite_master") == 0
        checkpointer = WalCheckpointer(background)
        frames, copied = checkpointer.checkpoint()
        checkpointer.close()
        assert frames >= 1200 and copied == frames
        assert _in_file(background, "SELECT count(*) FROM t") == 1200
    finally:
        for db in keep_open:
            db.close()


async def test_the_server_checkpoints_in_the_background(tmp_path: Path) -> None:
    """The server's own connections (engine and mailbox hot path) leave checkpoints to
    its checkpointer, which copies sent envelopes into the database file within a second."""
    async with running_hub(tmp_path) as hub, aiohttp.ClientSession() as http:
        engine = hub.app[ENGINE]
        assert isinstance(engine, SQLiteEngine) and engine.background_checkpoints
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA wal_autocheckpoint")) == 0
        (agency,) = await enrol_agencies(http, hub.url, hub.admin_token, 1, publish=False)
        mailbox = hub.app[RUNTIME].mailbox
        assert isinstance(mailbox, SQLiteMailbox)
        assert mailbox._reader.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        writer = await engine.writer_connection()  # the mailbox's writes share the engine's
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for n in range(5):
            body = {"to": agency.id, "text": f"notice {n}"}
            await staff(http, hub.url, hub.admin_token, "/api/v1/notices", body)
        path = Path(hub.settings.db_url.split("///", 1)[1])
        for _ in range(40):
            if _in_file(path, "SELECT count(*) FROM outbox") == 5:
                break
            await asyncio.sleep(0.05)
        assert _in_file(path, "SELECT count(*) FROM outbox") == 5


_CRASH = """
import asyncio, os, sys
from sqlalchemy import text
from hub.storage.engine import create_engine

async def main():
    engine = create_engine("sqlite+aiosqlite:///" + sys.argv[1], background_checkpoints=True)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x TEXT)"))
    for _ in range(12):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "y" * 4000}] * 100)
    os._exit(0)  # the process dies: no dispose, no checkpoint at close

asyncio.run(main())
"""


def test_what_is_committed_but_never_checkpointed_survives_a_crash(tmp_path: Path) -> None:
    """Checkpoints left to the server's checkpointer: a process killed before any
    checkpoint loses nothing it committed (the WAL is replayed at the next open)."""
    path = tmp_path / "crash.sqlite3"
    done = subprocess.run([sys.executable, "-c", _CRASH, str(path)], timeout=60, check=False)
    assert done.returncode == 0
    assert Path(f"{path}-wal").stat().st_size > 1200 * 4000  # all of it still in the WAL
    assert _in_file(path, "SELECT count(*) FROM sqlite_master") == 0
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 1200
    finally:
        db.close()


async def test_a_failed_checkpoint_is_logged_and_the_next_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No database file yet (its directory is missing): each try fails, is logged with the
    error's type only, and the loop goes on; cancelling it ends it cleanly."""
    missing = tmp_path / "not-yet" / "hub.sqlite3"
    task = asyncio.create_task(WalCheckpointer(missing, interval=0.01).run())
    for _ in range(200):
        if len([r for r in caplog.records if "WAL checkpoint failed" in r.message]) >= 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    failures = [r.getMessage() for r in caplog.records if "WAL checkpoint failed" in r.message]
    assert len(failures) >= 2
    assert all(m == "WAL checkpoint failed: OperationalError" for m in failures)


async def test_every_write_of_a_process_goes_through_one_connection(tmp_path: Path) -> None:
    """Engine write transactions and the mailbox store's driver-level writes share one
    ``sqlite3`` connection (its page cache stays warm); reads use the pool."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    assert isinstance(engine, SQLiteEngine)
    store = SQLiteMailbox(engine)
    try:
        writer = await engine.writer_connection()
        seen = set()
        for _ in range(3):
            async with engine.begin() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                seen.add(id(raw._connection))
                await conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
            async with store._light_transaction() as db:
                seen.add(id(db))
                db.execute("INSERT INTO t VALUES ('y')")
        assert seen == {id(writer)} and await engine.writer_connection() is writer
        assert writer.execute("PRAGMA cache_size").fetchone()[0] == -WRITER_CACHE_KIB
        async with engine.connect() as conn:  # a read: the pool, not the writer
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw._connection is not writer
            assert raw._connection.execute("PRAGMA cache_size").fetchone()[0] == -2000  # default
            assert await conn.scalar(text("SELECT count(*) FROM t")) == 3
    finally:
        store.close()
        await engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError):  # disposed with the engine
        writer.execute("SELECT 1")
