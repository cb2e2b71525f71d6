"""SQLite's write-ahead log, checkpointed on a worker thread instead of inside commits.

By default the connection whose commit takes the WAL past 1 000 pages (about 4 MB)
copies it back into the database file and syncs it, inside that commit: on the hub
that is one send in forty held up by 5-10 ms, and every request behind it on the event
loop with it. The server turns SQLite's automatic checkpoints off on its own connections
(``create_engine(..., background_checkpoints=True)``) and runs a :class:`WalCheckpointer`
instead: a ``PASSIVE`` checkpoint every ``interval`` seconds on a connection of its own,
on a worker thread (SQLite releases the GIL while it copies and syncs). ``PASSIVE``
neither waits for nor blocks readers and writers; what a reader still needs is copied
next time. Durability is unchanged: commits still sync the WAL (``synchronous=FULL``),
and a WAL not yet checkpointed is replayed when the database is next opened.
Other processes on the file (the CLI) keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Final

__all__ = ["WalCheckpointer"]

log = logging.getLogger(__name__)

INTERVAL: Final = 0.5  # seconds; at 1 000 sends/s about 2.5 MB of WAL each time


class WalCheckpointer:
    """``PASSIVE`` checkpoints of one SQLite file, every ``interval`` seconds."""

    def __init__(self, path: str | Path, interval: float = INTERVAL) -> None:
        self._path = str(path)
        self._interval = interval
        self._db: sqlite3.Connection | None = None

    def checkpoint(self) -> tuple[int, int]:
        """One passive checkpoint: ``(frames in the WAL, frames copied back)``."""
        if self._db is None:
            self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=0")
        _busy, frames, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(copied)

    async def run(self) -> None:
        """Checkpoint on a worker thread every ``interval`` seconds until cancelled."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                job = asyncio.ensure_future(asyncio.to_thread(self._checkpoint_logged))
                try:
                    await asyncio.shield(job)
                except asyncio.CancelledError:
                    await job  # the thread finishes with the connection before it closes
                    raise
        finally:
            self.close()

    def _checkpoint_logged(self) -> None:
        try:
            self.checkpoint()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Close the checkpointing connection (a last checkpoint first)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._db.close()
            self._db = None
