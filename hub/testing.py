"""Test doubles shipped with the package: a real hub on a free loopback port.

Integrators use these to test adapters and clients the way the project tests itself::

    async with running_hub(tmp_path) as hub:
        token = hub.admin_token
        ...  # talk HTTP to hub.url
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from hub.hub_keys import HubKeys, create_hub_keys
from hub.policy.isp import publish_isp
from hub.server import create_app
from hub.service.appkeys import ENGINE
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.users import add_user

__all__ = [
    "POSTGRES_ADMIN_URL",
    "TEST_ISP_VERSION",
    "RunningHub",
    "postgres_database",
    "running_hub",
]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
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
    client is 127.0.0.1)."""
    settings.setdefault("anonymous_burst", 100_000)
    config = Settings(
        data_dir=data_dir,
        database_url=database_url,
        key_passphrase="marac-hub-testing",  # noqa: S106 - a throwaway test hub
        key_file_strength="interactive",
        **settings,
    )
    keys = create_hub_keys(config)
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
    app = create_app(config)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", config, keys, token, app)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str = POSTGRES_ADMIN_URL) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards.

    Raises ``OSError`` (or an asyncpg error) if no server answers: callers skip.
    """
    name = f"marac_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
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
