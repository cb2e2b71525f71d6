"""A real hub on loopback, on SQLite and on PostgreSQL, and agencies that talk to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.receipts import sign_receipt
from hub.crypto.request_signing import sign_request
from hub.protocol import Envelope, parse_envelope
from hub.protocol.messages import Receipt
from hub.testing import RunningHub, postgres_database, running_hub


@pytest.fixture(params=["sqlite", "postgresql"])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A running hub on each storage engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        async with running_hub(tmp_path) as running:
            yield running
        return
    try:
        database = postgres_database(migrated=True)
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        async with running_hub(tmp_path, database_url=url) as running:
            yield running
    finally:
        await database.__aexit__(None, None, None)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@dataclass
class Agent:
    """An agency speaking the raw API: signed requests, receipts, key announcements."""

    hub: RunningHub
    http: aiohttp.ClientSession
    id: str
    identity: IdentityKeyPair = field(default_factory=IdentityKeyPair.generate)
    keys: list[EncryptionKeyPair] = field(default_factory=lambda: [EncryptionKeyPair.generate()])

    async def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        query: str = "",
        headers: dict[str, str] | None = None,
        now: datetime | None = None,
    ) -> tuple[int, Any]:
        signed = sign_request(
            self.identity, self.id, method, path, query, body, now=now or datetime.now(UTC)
        )
        url = f"{self.hub.url}{path}" + (f"?{query}" if query else "")
        all_headers = {**signed, "Content-Type": "application/json", **(headers or {})}
        async with self.http.request(method, url, data=body, headers=all_headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def poll(self, wait: float = 0, limit: int | None = None) -> list[Envelope]:
        query = f"wait={wait}" + (f"&limit={limit}" if limit else "")
        status, doc = await self.call("GET", "/api/v1/mailbox", query=query)
        assert status == 200, doc
        return [parse_envelope(e) for e in doc["envelopes"]]

    def receipt(self, envelope: Envelope, agency_id: str | None = None) -> dict[str, Any]:
        receipt = Receipt(
            envelope_id=envelope.header.id,
            envelope_sha256=envelope.digest(),
            agency_id=agency_id or self.id,
            received_at=datetime.now(UTC),
        )
        return sign_receipt(self.identity, receipt)

    async def ack(self, envelopes: list[Envelope]) -> tuple[int, Any]:
        body = json.dumps({"receipts": [self.receipt(e) for e in envelopes]}).encode()
        return await self.call("POST", "/api/v1/receipts", body)


async def staff_call(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token or hub.admin_token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def invite(
    hub: RunningHub, http: aiohttp.ClientSession, agency_id: str, kind: str = "police"
) -> str:
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        "/api/v1/agencies",
        body={
            "id": agency_id,
            "name": f"{agency_id} service",
            "kind": kind,
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-11-01",
        },
    )
    assert status == 201, doc
    code: str = doc["enrolment_code"]
    return code


async def enrol(agent: Agent, code: str) -> tuple[int, Any]:
    announcement = announce_key(
        agent.identity, agent.id, agent.keys[-1].public, now=datetime.now(UTC)
    )
    async with agent.http.post(
        f"{agent.hub.url}/api/v1/enrol", json={"code": code, "announcement": announcement.to_json()}
    ) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
def make_agency(hub: RunningHub, http: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    """Invite, enrol and approve an agency; returns its Agent."""

    async def make(agency_id: str, kind: str = "police", approve: bool = True) -> Agent:
        agent = Agent(hub, http, agency_id)
        status, doc = await enrol(agent, await invite(hub, http, agency_id, kind))
        assert status == 201, doc
        if approve:
            status, doc = await staff_call(
                hub,
                http,
                "POST",
                f"/api/v1/agencies/{agency_id}/approve",
                body={"identity_fingerprint": agent.identity.fingerprint},
            )
            assert status == 200, doc
        return agent

    return make


def assert_problem(status: int, doc: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, doc
    assert doc["type"] == f"https://marac-hub.org/problems/{code}", doc
    assert doc["status"] == expected_status
