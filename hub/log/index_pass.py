"""The quick index comparison of a whole log, shared between a helper process and the caller.

``log verify`` has two passes of about the same cost: the hash pass (Python, one core)
and the index comparison (``hub.log.index_quick``: decoding and reading back a million
entries' search rows). On a SQLite file the index comparison starts in a helper process
(``python -m hub.log.index_pass FILE SIZE RANGE``) before the hash pass, taking the ranges of
entries from the first up and writing one line per range; when the hash pass is done,
the caller takes ranges from the last down, until it meets the helper, so both cores
work until the end. The helper reads the file through its own read-only connection:
entries below the size counted at the start are never rewritten by the hub, so both see
the same rows. Elsewhere (PostgreSQL, a database in memory, a log too small to be worth a
process) the caller compares every range itself, through its own connection.

A helper that cannot start, fails or dies leaves its ranges to the caller: nothing is
skipped. The result is the ranges that differ, for the exact comparison to name.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import select as select_fd
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hub.log import index_quick
from hub.log.tables import log_entries

__all__ = ["HELPER_FROM", "IndexPass", "read_entries"]

HELPER_FROM: Final = 100_000  # entries from which a helper process pays for its start
_LINE: Final = re.compile(rb"(\d{1,12}) ([01])")  # the helper's report of one range


def read_entries(conn: Connection, low: int, high: int) -> Sequence[Any]:
    """Entries ``low`` to ``high - 1``: ``(idx, bytes)`` rows, in order."""
    query = (
        select(log_entries.c.idx, log_entries.c.entry)
        .where(log_entries.c.idx >= low, log_entries.c.idx < high)
        .order_by(log_entries.c.idx)
    )
    return conn.execute(query).fetchall()


class IndexPass:
    """``start`` before the hash pass; ``finish`` after it, for the lows of the ranges
    whose rows differ; ``close`` in any case."""

    def __init__(self, sqlite_file: str | None, size: int) -> None:
        self._file, self._size = sqlite_file, size
        self.range = index_quick.RANGE  # entries a range
        self._ranges = -(-size // self.range)
        self._use_helper = sqlite_file is not None and size >= max(HELPER_FROM, 1)
        self._helper: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def start(self) -> None:
        """Start the helper process, where there is one to start."""
        if not self._use_helper:
            return
        command = [sys.executable, "-m", "hub.log.index_pass"]
        command += [str(self._file), str(self._size), str(self.range)]
        with contextlib.suppress(OSError):  # no process to be had: the caller does it all
            self._helper = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )

    def finish(self, conn: Connection) -> list[tuple[int, int]]:
        """Compare ranges from the last down until they meet the helper's (through a
        read-only connection of the caller's own on a SQLite file, else through ``conn``);
        redo any the helper did not finish. The ranges that differ, ``(low, high)``."""
        done: dict[int, bool] = {}
        with self._checker(conn) as same:
            number = self._ranges - 1
            while number >= 0:
                self._read_helper(done)
                if number in done:  # the helper has come this far up: all below are its
                    break
                done[number] = same(number)
                number -= 1
            self.close()
            for missing in range(self._ranges):
                if missing not in done:  # the helper failed or died before it
                    done[missing] = same(missing)
        return [self._bounds(n) for n in sorted(done) if not done[n]]

    def _bounds(self, number: int) -> tuple[int, int]:
        low = number * self.range
        return low, min(low + self.range, self._size)

    def close(self) -> None:
        """Stop the helper (done, or the pass ended early)."""
        helper, self._helper = self._helper, None
        if helper is None:
            return
        if helper.poll() is None:
            helper.kill()
        helper.wait()
        if helper.stdout is not None:
            helper.stdout.close()

    def _read_helper(self, done: dict[int, bool]) -> None:
        """Take the helper's lines (``NUMBER 0|1``) that are ready."""
        helper = self._helper
        if helper is None or helper.stdout is None:
            return
        out: IO[bytes] = helper.stdout
        while True:
            if not select_fd.select([out], [], [], 0)[0]:
                return
            chunk = os.read(out.fileno(), 65536)
            if not chunk:  # it exited: what it did not report is the caller's
                self.close()
                return
            lines = (self._buffer + chunk).split(b"\n")
            self._buffer = lines.pop()
            for line in lines:
                match = _LINE.fullmatch(line)
                if match is None or int(match[1]) >= self._ranges:
                    self.close()  # not the helper's own report: trust none of what is left
                    return
                done[int(match[1])] = match[2] == b"1"

    @contextlib.contextmanager
    def _checker(self, conn: Connection) -> Iterator[Callable[[int], bool]]:
        if self._file is None:
            yield lambda number: index_quick.same_connection(
                conn, read_entries(conn, *self._bounds(number))
            )
            return
        db = sqlite3.connect(f"file:{self._file}?mode=ro", uri=True)
        try:
            yield lambda number: index_quick.same_sqlite(db, *self._bounds(number))
        finally:
            db.close()


def _helper(path: str, size: int, entries: int) -> None:
    """Compare every range of ``entries`` entries from the first up, one line each."""
    gc.disable()  # it keeps nothing: reference counting frees every range's rows
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = sys.stdout.buffer
    for number in range(-(-size // entries)):
        low = number * entries
        same = index_quick.same_sqlite(db, low, min(low + entries, size))
        out.write(b"%d %d\n" % (number, same))
        out.flush()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        _helper(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
