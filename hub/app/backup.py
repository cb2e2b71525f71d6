"""``marac-hub backup`` and ``restore``: a consistent online copy of a hub, and bringing
it back into an empty data directory.

A backup is a directory (0700, every file 0600): the database, the hub's three key files,
the settings and policy files if the hub has them, and ``backup.json`` (what it holds,
each file's SHA-256, the schema revision). Never the key passphrase: the key files are
useless without it, and a backup that held both would give the hub's keys to whoever
reads the backup. Keep the passphrase apart (a password manager, a safe).

On SQLite the database is copied with SQLite's online backup API from the live file: one
read transaction, so the copy is the database at one moment, while the hub goes on
serving (in WAL mode a reader holds no writer up). On PostgreSQL ``pg_dump`` (one
snapshot, custom format) is run if it is installed; an operator's own PostgreSQL backup
(base backups and WAL archiving, managed snapshots) is the right tool for point-in-time
recovery, and this command then copies the keys and settings alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import make_url

from hub import __version__
from hub.app.bootstrap import PRIVATE_DIRECTORY, private_data_dir, require_initialised
from hub.hub_keys import ENCRYPTION, IDENTITY, KEK, PASSPHRASE
from hub.protocol.errors import HubError
from hub.settings import Settings
from hub.storage.database import private_sqlite_file

__all__ = ["BackupDone", "RestoreDone", "backup", "restore"]

MANIFEST: Final = "backup.json"
SQLITE_COPY: Final = "hub.sqlite3"
PG_DUMP: Final = "hub.pgdump"
SETTINGS_COPY: Final = "settings.toml"
POLICY_COPY: Final = "policy.toml"
KEY_FILES: Final = (IDENTITY, ENCRYPTION, KEK)
PRIVATE_FILE: Final = 0o600
_FORMAT: Final = "marac-hub-backup"


@dataclass(frozen=True, slots=True)
class BackupDone:
    """What a backup holds and what it left out (and why)."""

    dest: Path
    files: tuple[str, ...]
    database: str  # "sqlite", "pg_dump", or "none" (PostgreSQL without pg_dump)
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RestoreDone:
    """What a restore put back, and what the operator must still do."""

    data_dir: Path
    files: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_private(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())


def _empty_private_directory(path: Path, what: str, *, allowed: frozenset[str]) -> None:
    if path.exists():
        if not path.is_dir():
            raise HubError(f"{what} {path} is not a directory", code="conflict")
        extra = sorted(p.name for p in path.iterdir() if p.name not in allowed)
        if extra:
            raise HubError(
                f"{what} {path} is not empty ({', '.join(extra[:3])}"
                f"{', ...' if len(extra) > 3 else ''}): give an empty or new directory",
                code="conflict",
            )
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIRECTORY)


def _sqlite_path(url: str) -> tuple[bool, str | None]:
    """Whether ``url`` is SQLite, and its file (None in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False, None
    path = parsed.database
    return True, path if path and path != ":memory:" else None


def _pg_url(url: str) -> str:
    """A libpq URL (``postgresql://``) for pg_dump and pg_restore."""
    return "postgresql://" + url.split("://", 1)[1]


def _run_tool(argv: list[str]) -> None:
    """Run pg_dump or pg_restore; HubError with its last line of stderr if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise HubError(f"{Path(argv[0]).name}: {last}", code="hub-error")


def _holds_passphrase(path: Path) -> bool:
    try:
        return "key_passphrase" in tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True  # unreadable as TOML: do not copy what we cannot vouch for


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


def backup(settings: Settings, dest: Path) -> BackupDone:
    """Take a consistent copy of the hub ``settings`` names into ``dest`` (new or empty)."""
    require_initialised(settings)
    _empty_private_directory(dest, "backup directory", allowed=frozenset())
    notes: list[str] = []
    files: list[str] = []
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "v": 1,
        "hub_id": settings.hub_id,
        "hub_version": __version__,
        "taken_at": datetime.now(UTC).isoformat(),
    }
    is_sqlite, live = _sqlite_path(settings.db_url)
    if live is not None:
        if not Path(live).exists():
            raise HubError(f"no database at {live}", code="not-found")
        manifest["revision"] = _sqlite_backup(live, dest / SQLITE_COPY)
        database = "sqlite"
        files.append(SQLITE_COPY)
    elif is_sqlite:
        raise HubError("an in-memory database cannot be backed up", code="conflict")
    elif (pg_dump := shutil.which("pg_dump")) is not None:
        target = dest / PG_DUMP
        private_sqlite_file(str(target))  # an empty 0600 file for pg_dump to fill
        _run_tool(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--file={target}",
                _pg_url(settings.db_url),
            ]
        )
        database = "pg_dump"
        files.append(PG_DUMP)
    else:
        database = "none"
        notes.append(
            "PostgreSQL: pg_dump is not installed, so the database is NOT in this backup: "
            "back it up with your PostgreSQL tools (pg_dump, or base backups with WAL archiving)"
        )
    manifest["database"] = database
    for name in KEY_FILES:
        _copy_private(settings.data_dir / name, dest / name)
        files.append(name)
    for source, copy, what in (
        (settings.config_file, SETTINGS_COPY, "settings file"),
        (settings.policy_file, POLICY_COPY, "policy file"),
    ):
        if source is None:
            continue
        if copy == SETTINGS_COPY and _holds_passphrase(source):
            notes.append(f"left out the {what} {source}: it holds the key passphrase")
            continue
        _copy_private(source, dest / copy)
        manifest[copy] = str(source)
        files.append(copy)
    passphrase_file = settings.key_passphrase_file or settings.data_dir / PASSPHRASE
    if passphrase_file.exists():
        notes.append(
            f"left out the key passphrase ({passphrase_file}): keep it apart from this backup; "
            "a restore needs it"
        )
    manifest["files"] = {name: _sha256(dest / name) for name in files}
    _write_manifest(dest / MANIFEST, manifest)
    return BackupDone(dest, (*files, MANIFEST), database, tuple(notes))


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.write("\n")


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: Any = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError):
        raise HubError(
            f"{source} is not a marac-hub backup (no {MANIFEST})", code="not-found"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise HubError(f"{source}/{MANIFEST} is not a marac-hub backup manifest", code="malformed")
    for name, digest in dict(manifest.get("files", {})).items():
        if Path(name).name != name or not (source / name).is_file():
            raise HubError(f"the backup lacks {name}", code="malformed")
        if _sha256(source / name) != digest:
            raise HubError(f"the backup's {name} does not match its SHA-256", code="malformed")
    return manifest


def _restore_database(
    settings: Settings, source: Path, database: Any
) -> tuple[list[str], list[str]]:
    """Put the backup's database back: what was restored, and notes."""
    files: list[str] = []
    notes: list[str] = []
    if database == "sqlite":
        live = _sqlite_path(settings.db_url)[1]
        if live is None:
            raise HubError("a SQLite backup restores into a SQLite file", code="conflict")
        if Path(live).exists():
            raise HubError(f"{live} already exists: restore into a new database", code="conflict")
        _copy_private(source / SQLITE_COPY, Path(live))
        files.append(live)
    elif database == "pg_dump":
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise HubError("pg_restore is not installed", code="not-found")
        _run_tool(
            [
                pg_restore,
                "--no-owner",
                "--exit-on-error",
                f"--dbname={_pg_url(settings.db_url)}",
                str(source / PG_DUMP),
            ]
        )
        files.append(PG_DUMP)
    else:
        notes.append("the backup holds no database: restore it with your PostgreSQL tools")
    return files, notes


def restore(settings: Settings, source: Path) -> RestoreDone:
    """Bring the backup in ``source`` back into the empty data directory ``settings`` name
    (the key passphrase file alone may already be there)."""
    manifest = _read_manifest(source)
    database = manifest.get("database")
    target_sqlite = settings.database_url is None or settings.db_url.startswith("sqlite")
    if database == "sqlite" and not target_sqlite:
        raise HubError(
            "the backup holds a SQLite database; the settings name PostgreSQL", code="conflict"
        )
    if database == "pg_dump" and target_sqlite:
        raise HubError(
            "the backup holds a PostgreSQL dump: "
            "set --database-url to an empty PostgreSQL database",
            code="conflict",
        )
    data = settings.data_dir
    passphrase_files = {PASSPHRASE}
    if settings.key_passphrase_file is not None:
        passphrase_files.add(settings.key_passphrase_file.name)
    _empty_private_directory(data, "data directory", allowed=frozenset(passphrase_files))
    private_data_dir(settings)
    files, notes = _restore_database(settings, source, database)
    for name in KEY_FILES:
        _copy_private(source / name, data / name)
        files.append(name)
    for copy, what in ((SETTINGS_COPY, "settings file"), (POLICY_COPY, "policy file")):
        if copy in manifest.get("files", {}):
            _copy_private(source / copy, data / copy)
            files.append(copy)
            notes.append(
                f"the {what} (was {manifest.get(copy)}) is now {data / copy}: "
                "put it back where the hub reads it, or point the hub at it"
            )
    if (
        settings.key_passphrase is None
        and not (settings.key_passphrase_file or data / PASSPHRASE).exists()
    ):
        notes.append(
            f"the backup holds no key passphrase: put it in {data / PASSPHRASE} (0600) "
            "or set MARAC_HUB_KEY_PASSPHRASE before starting the hub"
        )
    with contextlib.suppress(OSError):
        fd = os.open(data, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return RestoreDone(data, tuple(files), tuple(notes))
