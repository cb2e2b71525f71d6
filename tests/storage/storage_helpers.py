"""Helpers for the storage operator tests (schema commands, permissions, backup)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.receipts import sign_receipt
from hub.crypto.request_signing import sign_request
from hub.protocol import parse_envelope
from hub.protocol.messages import Receipt
from hub.server import create_app
from hub.settings import Settings
from hub.testing import POSTGRES_ADMIN_URL, RunningHub


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def sync_postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for a test that runs its own event loops (the CLI's
    ``asyncio.run``): its URL; dropped afterwards. Skips, saying why, without a server."""
    name = f"marac_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Agency:
    """An agency speaking the raw API to whichever hub ``url`` names: signed polls and
    receipts (its keys stay its own across a hub's backup and restore)."""

    http: aiohttp.ClientSession
    id: str
    url: str = ""
    identity: IdentityKeyPair = field(default_factory=IdentityKeyPair.generate)
    key: EncryptionKeyPair = field(default_factory=EncryptionKeyPair.generate)

    async def call(self, method: str, path: str, body: bytes = b"", query: str = "") -> Any:
        signed = sign_request(
            self.identity, self.id, method, path, query, body, now=datetime.now(UTC)
        )
        target = f"{self.url}{path}" + (f"?{query}" if query else "")
        headers = {**signed, "Content-Type": "application/json"}
        async with self.http.request(method, target, data=body, headers=headers) as resp:
            doc = await resp.json(content_type=None)
            assert resp.status == 200, doc
            return doc

    async def drain(self) -> list[str]:
        """Poll and acknowledge until the mailbox is empty: every envelope id, in order."""
        seen: list[str] = []
        while True:
            doc = await self.call("GET", "/api/v1/mailbox", query="wait=0&limit=100")
            envelopes = [parse_envelope(e) for e in doc["envelopes"]]
            if not envelopes:
                return seen
            seen += [e.header.id for e in envelopes]
            receipts = [
                sign_receipt(
                    self.identity,
                    Receipt(
                        envelope_id=e.header.id,
                        envelope_sha256=e.digest(),
                        agency_id=self.id,
                        received_at=datetime.now(UTC),
                    ),
                )
                for e in envelopes
            ]
            await self.call("POST", "/api/v1/receipts", json.dumps({"receipts": receipts}).encode())


async def staff(
    hub: RunningHub, http: aiohttp.ClientSession, method: str, path: str, body: Any
) -> Any:
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status in (200, 201, 202), doc
        return doc


async def enrolled(hub: RunningHub, http: aiohttp.ClientSession, agency_id: str) -> Agency:
    """Invite, enrol and approve an agency on ``hub``."""
    agency = Agency(http, agency_id, hub.url)
    invited = await staff(
        hub,
        http,
        "POST",
        "/api/v1/agencies",
        {
            "id": agency_id,
            "name": f"{agency_id} service",
            "kind": "police",
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-11-01",
        },
    )
    announcement = announce_key(
        agency.identity, agency_id, agency.key.public, now=datetime.now(UTC)
    )
    body = {"code": invited["enrolment_code"], "announcement": announcement.to_json()}
    async with http.post(f"{hub.url}/api/v1/enrol", json=body) as resp:
        assert resp.status == 201, await resp.text()
    await staff(
        hub,
        http,
        "POST",
        f"/api/v1/agencies/{agency_id}/approve",
        {"identity_fingerprint": agency.identity.fingerprint},
    )
    return agency


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """Serve an existing data directory on loopback: its URL."""
    runner = web.AppRunner(create_app(settings), shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
