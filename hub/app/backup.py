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
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from hub import __version__
from hub.app.bootstrap import PRIVATE_DIRECTORY, private_data_dir, require_initialised
from hub.hub_keys import ENCRYPTION, IDENTITY, KEK, PASSPHRASE
from hub.protocol.errors import HubError
from hub.settings import Settings
from hub.storage.copies import (
    check_restorable,
    copy_database,
    copy_private,
    restore_database,
)

__all__ = ["BackupDone", "RestoreDone", "backup", "restore"]

MANIFEST: Final = "backup.json"
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


def _holds_passphrase(path: Path) -> bool:
    try:
        return "key_passphrase" in tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True  # unreadable as TOML: do not copy what we cannot vouch for


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
    copied = copy_database(settings.db_url, dest)
    if copied.revision is not None:
        manifest["revision"] = copied.revision
    if copied.file is not None:
        files.append(copied.file)
    if copied.note is not None:
        notes.append(copied.note)
    database = manifest["database"] = copied.kind
    for name in KEY_FILES:
        copy_private(settings.data_dir / name, dest / name)
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
        copy_private(source, dest / copy)
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


def restore(settings: Settings, source: Path) -> RestoreDone:
    """Bring the backup in ``source`` back into the empty data directory ``settings`` name
    (the key passphrase file alone may already be there)."""
    manifest = _read_manifest(source)
    database = manifest.get("database")
    check_restorable(settings.db_url, database)
    data = settings.data_dir
    passphrase_files = {PASSPHRASE}
    if settings.key_passphrase_file is not None:
        passphrase_files.add(settings.key_passphrase_file.name)
    _empty_private_directory(data, "data directory", allowed=frozenset(passphrase_files))
    private_data_dir(settings)
    files, notes = restore_database(settings.db_url, source, database)
    for name in KEY_FILES:
        copy_private(source / name, data / name)
        files.append(name)
    for copy, what in ((SETTINGS_COPY, "settings file"), (POLICY_COPY, "policy file")):
        if copy in manifest.get("files", {}):
            copy_private(source / copy, data / copy)
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
