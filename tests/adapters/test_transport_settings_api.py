"""``/api/v1/agencies/{id}/delivery``: who may choose an agency's transport, and bad input."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from adapterkit import make_tls
from sqlalchemy import select

from hub.delivery.tables import agency_delivery
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub, running_hub

PATH = "/api/v1/agencies/{}/delivery"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path / "hub", delivery_ca_dir=tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    hub: RunningHub,
    method: str,
    agency: str,
    token: str | None,
    body: Any = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if raw is not None:
        headers["Content-Type"] = "application/json"
    async with http.request(
        method,
        hub.url + PATH.format(agency),
        json=body,
        data=None if raw is None else io.BytesIO(raw),
        headers=headers,
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def invite(http: aiohttp.ClientSession, hub: RunningHub, agency: str) -> None:
    body = {
        "id": agency,
        "name": "Refuge",
        "kind": "refuge",
        "isp_version": "2026.1",
        "isp_signed_by": "A. Officer",
        "isp_signed_on": "2026-11-01",
    }
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.post(hub.url + "/api/v1/agencies", json=body, headers=headers) as resp:
        assert resp.status == 201


SMTP = {
    "transport": "smtp",
    "format": "json",
    "config": {
        "host": "smtp.refuge.example",
        "from": "hub@area.example",
        "to": "dmo@refuge.example",
        "username": "hub",
        "password": "a secret mail password",
    },
}


async def _admin(http: aiohttp.ClientSession, hub: RunningHub, path: str, body: Any) -> None:
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.post(hub.url + path, json=body, headers=headers) as resp:
        assert resp.status == 201, await resp.text()


async def test_who_may_see_and_choose(hub: RunningHub, http: aiohttp.ClientSession) -> None:
    await invite(http, hub, "refuge-east")
    coordinator = await hub.add_user("casey", "coordinator")
    elsewhere = await hub.add_user("wes", "coordinator")
    dpo = await hub.add_user("dana", "dpo")
    for area, user in (("east", "casey"), ("west", "wes")):
        await _admin(http, hub, "/api/v1/areas", {"id": area, "name": f"{area} MARAC"})
        await _admin(http, hub, f"/api/v1/areas/{area}/users", {"user": user})
    await _admin(http, hub, "/api/v1/areas/east/agencies", {"agency": "refuge-east"})
    for token in (None, "mht_nope_nope", dpo, elsewhere):
        status, doc = await call(http, hub, "PUT", "refuge-east", token, SMTP)
        assert status in {401, 403}, doc
        status, doc = await call(http, hub, "GET", "refuge-east", token)
        assert status in {401, 403}, doc
    status, doc = await call(http, hub, "GET", "refuge-east", elsewhere)
    assert doc["type"].endswith("/agency-outside-area"), doc
    status, doc = await call(http, hub, "GET", "refuge-east", coordinator)
    assert (status, doc["transport"], doc["format"], doc["config"]) == (200, "mailbox", "json", {})
    status, doc = await call(http, hub, "PUT", "refuge-east", coordinator, SMTP)
    assert status == 200, doc
    assert doc["config"]["password"] == "***" and doc["config"]["port"] == 587
    status, doc = await call(http, hub, "GET", "refuge-east", hub.admin_token)
    assert doc["transport"] == "smtp" and doc["config"]["password"] == "***"
    async with hub.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(agency_delivery))).one()
    assert row.updated_by == "coordinator:casey"
    assert b"a secret mail password" not in row.config and b"refuge.example" not in row.config


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"transport": "carrier-pigeon", "format": "json"}, "unknown-adapter"),
        ({"transport": "webhook", "format": "morse"}, "unknown-adapter"),
        ({"transport": "webhook", "format": "json"}, "bad-config"),
        (
            {"transport": "webhook", "format": "json", "config": {"url": "http://x.example/"}},
            "bad-config",
        ),
        (
            {"transport": "webhook", "format": "json", "config": {"url": "ftp://x.example/"}},
            "bad-config",
        ),
        (
            {
                "transport": "webhook",
                "format": "json",
                "config": {"url": "https://x/", "ca_file": "/no/such/file.pem"},
            },
            "bad-config",
        ),
        (
            {"transport": "smtp", "format": "json", "config": {**SMTP["config"], "to": "a@b, c@d"}},
            "bad-config",
        ),
        (
            {
                "transport": "smtp",
                "format": "json",
                "config": {**SMTP["config"], "security": "none"},
            },
            "bad-config",
        ),
        ({"transport": "mailbox", "format": "json", "config": {"url": "https://x/"}}, "bad-config"),
        ({"transport": "mailbox"}, "malformed"),
        ({"transport": ["mailbox"], "format": "json"}, "wrong-type"),
        ({"transport": "mailbox", "format": "json", "config": []}, "wrong-type"),
        ({"transport": "x" * 10_000, "format": "json"}, "wrong-type"),
        ([], "malformed"),
    ],
)
async def test_bad_choices_are_refused_with_problems(
    hub: RunningHub, http: aiohttp.ClientSession, body: Any, code: str
) -> None:
    await invite(http, hub, "refuge-east")
    status, doc = await call(http, hub, "PUT", "refuge-east", hub.admin_token, body)
    assert 400 <= status < 500 and doc["type"].endswith("/" + code), doc
    status, doc = await call(http, hub, "GET", "refuge-east", hub.admin_token)
    assert doc["transport"] == "mailbox"


async def test_unknown_agency_malformed_and_oversized_bodies(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    status, doc = await call(http, hub, "PUT", "nobody", hub.admin_token, SMTP)
    assert status == 404, doc
    status, doc = await call(http, hub, "GET", "nobody", hub.admin_token)
    assert status == 404, doc
    await invite(http, hub, "refuge-east")
    for raw in (
        b"{",
        b'{"transport": "mailbox", "transport": "smtp", "format": "json"}',
        b"x" * (2 * 1024 * 1024),
    ):
        status, doc = await call(http, hub, "PUT", "refuge-east", hub.admin_token, raw=raw)
        assert status in {400, 413}, doc
    tls = make_tls(tmp_path)
    webhook = {"url": "https://gw.example/in", "ca_file": str(tls.cert)}
    status, doc = await call(
        http,
        hub,
        "PUT",
        "refuge-east",
        hub.admin_token,
        {"transport": "webhook", "format": "json", "config": webhook},
    )
    assert status == 200 and doc["config"]["ca_file"] == str(tls.cert)
