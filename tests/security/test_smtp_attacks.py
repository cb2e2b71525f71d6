"""SSRF through SMTP settings (issue 23, finding 5 for mail): a coordinator could point an
agency's mail server at the hub's own loopback, the cloud metadata address or a private
host, and the push dispatcher connected there; ``ca_file`` told whether a file existed.
The SMTP transport now has the webhook's checks (``hub.adapters.destinations``). Through
the real API and the real push dispatcher."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hub.delivery.tables import delivery_attempts, outbox
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub, running_hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))
from adapterkit import enrolled, make_tls, notice, wait_for

FAST = {"push_interval_seconds": 0.05, "push_retry_initial_seconds": 0.1}
MAIL = {"from": "marac-hub@area.example", "to": "dmo@refuge.example"}
INTERNAL = [
    "127.0.0.1",
    "127.0.0.2",
    "169.254.169.254",
    "::1",
    "[::1]",
    "fe80::1",
    "::ffff:127.0.0.1",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "100.100.100.200",
    "0.0.0.0",
    "localhost",
    "mail.localhost",
    "fd00:ec2::254",
]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _choose(
    http: aiohttp.ClientSession, hub: RunningHub, agency: str, config: dict[str, Any]
) -> tuple[int, Any]:
    async with http.put(
        f"{hub.url}/api/v1/agencies/{agency}/delivery",
        json={"transport": "smtp", "format": "json", "config": {**MAIL, **config}},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def _invite(http: aiohttp.ClientSession, hub: RunningHub, agency: str) -> None:
    async with http.post(
        f"{hub.url}/api/v1/agencies",
        json={
            "id": agency,
            "name": "Refuge East",
            "kind": "refuge",
            "isp_version": "2026.1",
            "isp_signed_by": "DCI Example",
            "isp_signed_on": "2026-11-01",
        },
        headers={"Authorization": f"Bearer {hub.admin_token}"},
    ) as resp:
        assert resp.status == 201, await resp.text()


async def test_a_mail_server_cannot_be_on_the_hubs_own_network_unless_the_operator_allows_it(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path / "hub", delivery_allow_networks=("10.1.0.0/16",)) as hub:
        await _invite(http, hub, "refuge-east")
        for host in INTERNAL:
            status, doc = await _choose(http, hub, "refuge-east", {"host": host})
            assert status == 400 and doc["type"].endswith("/bad-config"), (host, doc)
            assert "private address" in doc["detail"], (host, doc)
        for host in ("smtp.refuge.example", "10.1.2.3"):  # a name: checked again on sending
            status, doc = await _choose(http, hub, "refuge-east", {"host": host})
            assert status == 200, (host, doc)
        status, doc = await _choose(http, hub, "refuge-east", {"host": "10.2.0.1"})
        assert status == 400, doc


async def test_an_smtp_ca_file_does_not_reveal_whether_a_file_exists(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    cas = tmp_path / "cas"
    cas.mkdir()
    good = make_tls(cas, "relay")
    outside = make_tls(tmp_path / "elsewhere", "elsewhere")
    (cas / "not-a-ca.pem").write_text("hello\n")
    (cas / "escape.pem").symlink_to(outside.cert)
    async with running_hub(tmp_path / "hub", delivery_ca_dir=cas) as hub:
        await _invite(http, hub, "refuge-east")
        host = {"host": "smtp.refuge.example"}
        answers = set()
        for path in (
            "/etc/shadow",
            "/etc/hostname",
            "/no/such/file.pem",
            str(outside.cert),
            "../elsewhere/" + outside.cert.name,
            "escape.pem",
            "not-a-ca.pem",
            "missing.pem",
            str(cas),
        ):
            status, doc = await _choose(http, hub, "refuge-east", {**host, "ca_file": path})
            assert status == 400, (path, doc)
            answers.add((doc["type"], doc["detail"]))
        assert len(answers) == 1, answers  # one answer whatever the file: no oracle
        for path in (good.cert.name, str(good.cert)):
            status, doc = await _choose(http, hub, "refuge-east", {**host, "ca_file": path})
            assert status == 200, (path, doc)
        pem = outside.cert.read_text()
        status, doc = await _choose(http, hub, "refuge-east", {**host, "ca_pem": pem})
        assert status == 200, doc


def _name_for_loopback() -> str:
    """A host name (not ``localhost``) that resolves to a non-public address here."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 25)}
    except OSError:
        pytest.skip(f"{name} does not resolve")
    if "127.0.0.1" not in addresses:
        pytest.skip(f"{name} resolves to {addresses}, not to loopback")
    return name


async def _attempts(hub: RunningHub, ids: list[str]) -> list[Any]:
    async with hub.app[ENGINE].connect() as conn:
        return list(
            (
                await conn.execute(
                    select(delivery_attempts).where(delivery_attempts.c.envelope_id.in_(ids))
                )
            ).all()
        )


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed-by-operator"])
async def test_a_mail_server_name_that_resolves_to_loopback_is_refused_when_sending(
    tmp_path: Path, http: aiohttp.ClientSession, allowed: bool
) -> None:
    name = _name_for_loopback()  # like a DNS name rebound to an internal address
    connections: list[str] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("connected")
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    networks = ("127.0.0.0/8",) if allowed else ()
    try:
        async with running_hub(tmp_path / "hub", delivery_allow_networks=networks, **FAST) as hub:
            agency = await enrolled(http, hub, tmp_path, "refuge-east", "refuge")
            status, doc = await _choose(http, hub, agency.id, {"host": name, "port": port})
            assert status == 200, doc  # a name: nothing to refuse until it is resolved
            sent = [e["id"] for e in await notice(http, hub, "a notice", to=agency.id)]

            async def tried() -> bool:
                done = await _attempts(hub, sent)
                return any(a.outcome not in {"sending", None} for a in done)

            await wait_for(tried)
            attempts = await _attempts(hub, sent)
            if allowed:
                assert connections  # the operator's network: the hub connects
            else:
                assert connections == []  # the hub never connected
                assert all("may reach" in (a.detail or "") for a in attempts), attempts
                async with hub.app[ENGINE].connect() as conn:
                    states = (
                        await conn.execute(
                            select(outbox.c.status).where(outbox.c.envelope_id.in_(sent))
                        )
                    ).scalars()
                    assert set(states) == {"queued"}
    finally:
        listener.close()
        await listener.wait_closed()
