"""Copying a live database for a backup, and putting a copy back, on either database.

SQLite: SQLite's online backup API from the live file, in one read transaction, so the
copy is the database at one moment while the hub goes on serving (a WAL reader holds no
writer up); the copy is checked and left a single self-contained file (0600).
PostgreSQL: ``pg_dump`` (one snapshot, custom format) if it is installed, and
``pg_restore`` into an empty database; without ``pg_dump`` no copy is taken and the
caller says so (an operator's base backups with WAL archiving are the tool for
point-in-time recovery anyway).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.engine import make_url

from hub.protocol.errors import HubError
from hub.storage.engine import PRIVATE_FILE, private_sqlite_file

__all__ = [
    "PG_DUMP",
    "SQLITE_COPY",
    "DatabaseCopy",
    "check_restorable",
    "copy_database",
    "copy_private",
    "restore_database",
]

SQLITE_COPY: Final = "hub.sqlite3"
PG_DUMP: Final = "hub.pgdump"
CopyKind = Literal["sqlite", "pg_dump", "none"]


@dataclass(frozen=True, slots=True)
class DatabaseCopy:
    """What :func:`copy_database` wrote: ``kind``, the file's name in the backup (None for
    ``none``), the schema revision it is at (SQLite), and why nothing was copied."""

    kind: CopyKind
    file: str | None
    revision: str | None = None
    note: str | None = None


def _sqlite_file(url: str) -> tuple[bool, str | None]:
    """Whether ``url`` is SQLite, and its file (None in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False, None
    path = parsed.database
    return True, path if path and path != ":memory:" else None


def _libpq_url(url: str) -> str:
    """A libpq URL (``postgresql://``) for pg_dump and pg_restore."""
    return "postgresql://" + url.split("://", 1)[1]


def _run_tool(argv: list[str]) -> None:
    """Run pg_dump or pg_restore; HubError with its last line of stderr if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise HubError(f"{Path(argv[0]).name}: {last}", code="hub-error")


def _sqlite_backup(live: str, target: Path) -> str:
    """Copy the live database with SQLite's backup API (one snapshot); its revision."""
    private_sqlite_file(str(target))
    source = sqlite3.connect(live, timeout=30)  # reads only
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # all pages in one step: one read transaction
            check = dest.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise HubError(f"the copied database fails its check: {check}", code="hub-error")
            row = dest.execute("SELECT version_num FROM alembic_version").fetchone()
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dest.close()
    finally:
        source.close()
    return str(row[0]) if row else ""


def copy_database(url: str, dest: Path) -> DatabaseCopy:
    """A consistent copy of the live database at ``url`` into the directory ``dest``."""
    on_sqlite, live = _sqlite_file(url)
    if live is not None:
        if not Path(live).exists():
            raise HubError(f"no database at {live}", code="not-found")
        revision = _sqlite_backup(live, dest / SQLITE_COPY)
        return DatabaseCopy("sqlite", SQLITE_COPY, revision)
    if on_sqlite:
        raise HubError("an in-memory database cannot be backed up", code="conflict")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return DatabaseCopy(
            "none",
            None,
            note="PostgreSQL: pg_dump is not installed, so the database is NOT in this backup: "
            "back it up with your PostgreSQL tools (pg_dump, or base backups with WAL archiving)",
        )
    target = dest / PG_DUMP
    private_sqlite_file(str(target))  # an empty 0600 file for pg_dump to fill
    _run_tool([pg_dump, "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)])
    return DatabaseCopy("pg_dump", PG_DUMP)


def check_restorable(url: str, kind: object) -> None:
    """Refuse (``conflict``) a copy of one database's kind into the other's."""
    on_sqlite = _sqlite_file(url)[0]
    if kind == "sqlite" and not on_sqlite:
        raise HubError(
            "the backup holds a SQLite database; the settings name PostgreSQL", code="conflict"
        )
    if kind == "pg_dump" and on_sqlite:
        raise HubError(
            "the backup holds a PostgreSQL dump: "
            "set --database-url to an empty PostgreSQL database",
            code="conflict",
        )


def restore_database(url: str, source: Path, kind: object) -> tuple[list[str], list[str]]:
    """Put the copy in ``source`` back into the new database ``url`` names: what was
    restored, and notes for the operator."""
    if kind == "sqlite":
        live = _sqlite_file(url)[1]
        if live is None:
            raise HubError("a SQLite backup restores into a SQLite file", code="conflict")
        if Path(live).exists():
            raise HubError(f"{live} already exists: restore into a new database", code="conflict")
        copy_private(source / SQLITE_COPY, Path(live))
        return [live], []
    if kind == "pg_dump":
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise HubError("pg_restore is not installed", code="not-found")
        _run_tool(
            [
                pg_restore,
                "--no-owner",
                "--exit-on-error",
                f"--dbname={_libpq_url(url)}",
                str(source / PG_DUMP),
            ]
        )
        return [PG_DUMP], []
    return [], ["the backup holds no database: restore it with your PostgreSQL tools"]


def copy_private(source: Path, target: Path) -> None:
    """Copy ``source`` to the new file ``target`` (0600), synced to disk."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
