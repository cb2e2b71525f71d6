"""Test doubles shipped with the package: a real hub on a free loopback port.

Integrators use these to test adapters and clients the way the project tests itself::

    async with running_hub(tmp_path) as hub:
        token = hub.admin_token
        ...  # talk HTTP to hub.url
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from hub.hub_keys import ENCRYPTION, IDENTITY, KEK, HubKeys, create_hub_keys
from hub.policy.isp import publish_isp
from hub.server import create_app
from hub.service.appkeys import ENGINE
from hub.settings import Settings
from hub.storage.engine import create_engine, private_sqlite_file
from hub.storage.schema import migrate, schema_heads
from hub.users import add_user

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REAL_MFA_ROLES",
    "TEST_ISP_VERSION",
    "RunningHub",
    "migrated_sqlite",
    "postgres_database",
    "running_hub",
]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
REAL_MFA_ROLES = Settings.model_fields["mfa_required_roles"].default  # a real hub's default
TEST_ISP_VERSION = "2026.1"


@dataclass
class RunningHub:
    """A hub serving on loopback: its URL, settings, keys and an admin token."""

    url: str
    settings: Settings
    keys: HubKeys
    admin_token: str
    app: web.Application

    async def add_user(self, name: str, role: str) -> str:
        """Add a member of staff; return their token."""
        return await add_user(self.app[ENGINE], name, role, now=datetime.now(UTC))


@contextlib.asynccontextmanager
async def running_hub(
    data_dir: Path, *, database_url: str | None = None, **settings: Any
) -> AsyncIterator[RunningHub]:
    """Initialise a hub in ``data_dir`` and serve it on 127.0.0.1 on a free port (its
    rate limit on anonymous tries generous unless ``settings`` set one: every test's
    client is 127.0.0.1).

    Unlike a real hub, its staff sign in to the web UI with a password alone unless
    ``settings`` name ``mfa_required_roles`` (tests of other things sign in many times a
    minute, and a TOTP code is good once): pass ``mfa_required_roles=REAL_MFA_ROLES`` to
    test sign-in as a real hub has it.
    """
    settings.setdefault("anonymous_burst", 100_000)
    settings.setdefault("mfa_required_roles", ())
    config = Settings(
        data_dir=data_dir,
        database_url=database_url,
        key_passphrase="marac-hub-testing",  # noqa: S106 - a throwaway test hub
        key_file_strength="interactive",
        **settings,
    )
    slot, keys = _pooled_keys(config)
    if database_url is None and not (data_dir / "hub.sqlite3").exists():
        await migrated_sqlite(data_dir / "hub.sqlite3")
    engine = create_engine(config.db_url)
    try:
        await migrate(engine)
        token = await add_user(engine, "admin", "admin", now=datetime.now(UTC))
        async with engine.begin() as conn:  # the ISP version tests invite agencies with
            await publish_isp(
                conn,
                version=TEST_ISP_VERSION,
                title="Test information sharing protocol",
                document_sha256=None,
                by="testing",
                now=datetime.now(UTC),
            )
    finally:
        await engine.dispose()
    app = create_app(config, keys=keys)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", config, keys, token, app)
    finally:
        await runner.cleanup()
        _KEYS_IN_USE.discard(slot)


# Writing hub keys costs three Argon2 derivations. A process's test hubs take their key
# files from a pool instead; a set is never given to two hubs open at the same time, so
# the hubs of one test have keys of their own.
_KEY_POOL: list[tuple[HubKeys, dict[str, bytes]]] = []
_KEYS_IN_USE: set[int] = set()


def _pooled_keys(config: Settings) -> tuple[int, HubKeys]:
    """Hub keys for ``config``'s data directory, written there: a free set from the pool,
    or a new one (then kept in the pool)."""
    free = [slot for slot in range(len(_KEY_POOL)) if slot not in _KEYS_IN_USE]
    if not free:
        keys = create_hub_keys(config)
        files = {
            name: (config.data_dir / name).read_bytes() for name in (IDENTITY, ENCRYPTION, KEK)
        }
        _KEY_POOL.append((keys, files))
        slot = len(_KEY_POOL) - 1
    else:
        slot = free[0]
        keys, files = _KEY_POOL[slot]
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in files.items():
            fd = os.open(config.data_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    _KEYS_IN_USE.add(slot)
    return slot, keys


# Migrating an empty database runs every migration (about a tenth of a second on SQLite,
# more on PostgreSQL); tests make thousands. Each process migrates one database per engine
# once and copies it: SQLite through the backup API, PostgreSQL as a template database.
_SQLITE_TEMPLATE: dict[str, Path] = {}
_POSTGRES_TEMPLATE: dict[str, str] = {}


async def migrated_sqlite(path: Path) -> None:
    """Make ``path`` an empty SQLite hub database at the newest migration, private to its
    owner: a copy of one this process migrated once."""
    template = _SQLITE_TEMPLATE.get("file")
    if template is None:
        directory = Path(tempfile.mkdtemp(prefix="marac-hub-template-"))
        atexit.register(shutil.rmtree, directory, True)
        template = directory / "hub.sqlite3"
        engine = create_engine(f"sqlite+aiosqlite:///{template}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        _SQLITE_TEMPLATE["file"] = template
    private_sqlite_file(str(path))
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)


async def _postgres_template(admin_url: str) -> str:
    """This process's migrated template database on ``admin_url``'s server (made once,
    dropped when the process ends)."""
    name = _POSTGRES_TEMPLATE.get(admin_url)
    if name is not None:
        return name
    name = f"marac_template_{os.getpid()}_{'_'.join(schema_heads())}"
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{base}/{name}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    atexit.register(_drop_postgres_database, admin_url, name)
    _POSTGRES_TEMPLATE[admin_url] = name
    return name


def _drop_postgres_database(admin_url: str, name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(admin_url, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        asyncio.run(drop())


@contextlib.asynccontextmanager
async def postgres_database(
    admin_url: str = POSTGRES_ADMIN_URL, *, migrated: bool = False
) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, empty or (``migrated``) at the newest
    migration; dropped afterwards.

    Raises ``OSError`` (or an asyncpg error) if no server answers: callers skip.
    """
    name = f"marac_test_{secrets.token_hex(6)}"
    template = f' TEMPLATE "{await _postgres_template(admin_url)}"' if migrated else ""
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        conn = await asyncpg.connect(admin_url, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
