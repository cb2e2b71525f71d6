"""Attacks on the HTTP server itself (issue 23): a body trickled a byte at a time to hold
connections open (finding 4), and answers that a shared cache could keep or that name the
server's library and version, without HSTS behind TLS (finding 7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from securitykit import PASSWORD, add_staff, sign_in

from hub.testing import RunningHub, running_hub

REFERRAL: dict[str, Any] = {
    "referring_agency": "police-north",
    "referred_on": (datetime.now(UTC) - timedelta(days=3)).date().isoformat(),
    "victim": {"name": "Alice Smith", "date_of_birth": "1990-04-02", "gender": "female"},
    "perpetrator": {"name": "Bob Smith", "date_of_birth": "1988-01-20"},
    "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
    "criterion": "visible_high_risk",
    "consent": {"status": "sought_given"},
    "safe_contact": {"safe_to_contact": False},
    "perpetrator_must_not_know": False,
}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub that waits one second for a body, told it sits behind a TLS proxy."""
    async with running_hub(
        tmp_path / "hub",
        body_read_seconds=1,
        web_secure_cookies=True,
        password_strength="interactive",
    ) as running:
        yield running


async def _trickle(hub: RunningHub, head: str, *, every: float = 0.25) -> tuple[bytes, float]:
    """Announce a 100,000-byte body, send a byte every ``every`` s; what came back, and
    after how long the hub closed the connection."""
    url = urlsplit(hub.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    writer.write(head.encode() + b"Content-Length: 100000\r\nConnection: keep-alive\r\n\r\n")
    answer = b""

    async def read_all() -> None:
        nonlocal answer
        while chunk := await reader.read(65536):
            answer += chunk

    reading = asyncio.create_task(read_all())
    try:
        for _ in range(int(60 / every)):  # at most a minute: the test's own bound
            if reading.done():
                break
            try:
                writer.write(b"x")
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(every)
        await asyncio.wait_for(reading, timeout=30)
    finally:
        writer.close()
    return answer, loop.time() - start


@pytest.mark.parametrize(
    "head",
    [
        "POST /api/v1/enrol HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n",
        "POST /login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        "PUT /api/v1/agencies/x/delivery HTTP/1.1\r\nHost: hub\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer mht_x_y\r\n",
    ],
    ids=["api", "web-form", "staff-api"],
)
async def test_a_trickled_request_body_is_cut_off_at_the_body_read_limit(
    hub: RunningHub, head: str
) -> None:
    answer, took = await _trickle(hub, head)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"application/problem+json" in answer and b"Connection: close" in answer
    assert took < 30  # the limit is 1 s; the trickle would have gone on for a minute
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as ok:
        assert ok.status == 200  # the hub still answers everyone else


async def test_a_body_sent_in_time_is_read_as_before(hub: RunningHub) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{hub.url}/api/v1/enrol", json={"code": "x:y"}) as answer,
    ):
        assert answer.status in {400, 403}  # a bad code, answered as a problem
        assert answer.content_type == "application/problem+json"


def _assert_private(headers: Any, where: str) -> None:
    assert headers.get("Cache-Control") == "no-store", where
    assert headers.get("Server") == "marac-hub", where
    assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where
    assert "aiohttp" not in str(dict(headers)).lower(), where


async def test_decrypted_case_data_is_never_cached_and_the_server_names_no_version(
    hub: RunningHub,
) -> None:
    auth = {"Authorization": f"Bearer {hub.admin_token}"}
    async with aiohttp.ClientSession(headers=auth) as http:

        async def call(method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
            async with http.request(method, hub.url + path, json=body) as resp:
                return resp.status, await resp.json(content_type=None), resp.headers

        status, doc, _ = await call(
            "POST",
            "/api/v1/agencies",
            {
                "id": "police-north",
                "name": "North Police",
                "kind": "police",
                "isp_version": "2026.1",
                "isp_signed_by": "DCI Example",
                "isp_signed_on": "2026-11-01",
            },
        )
        assert status == 201, doc
        status, doc, _ = await call("POST", "/api/v1/areas", {"id": "north", "name": "North"})
        assert status == 201, doc
        status, doc, _ = await call(
            "POST", "/api/v1/areas/north/agencies", {"agency": "police-north"}
        )  # the referring agency is one enrolled in the area
        assert status == 201, doc
        status, doc, headers = await call(
            "POST", "/api/v1/cases", {"area": "north", "referral": REFERRAL}
        )
        assert status == 201, doc
        _assert_private(headers, "POST /api/v1/cases")
        status, doc, headers = await call("GET", f"/api/v1/cases/{doc['case_ref']}")
        assert status == 200 and doc["view"]["victim"]["name"] == "Alice Smith"
        _assert_private(headers, "GET /api/v1/cases/{ref}")
        for method, path in (
            ("GET", "/api/v1/log/head"),
            ("GET", "/api/v1/cases/no-such-case"),
            ("GET", "/api/v1/no-such-route"),
            ("DELETE", "/healthz"),
        ):
            status, _, headers = await call(method, path)
            _assert_private(headers, f"{method} {path} ({status})")
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{hub.url}/api/v1/cases/x") as resp:
            assert resp.status == 401
            _assert_private(resp.headers, "anonymous")
        async with anonymous.get(f"{hub.url}/login") as resp:
            _assert_private(resp.headers, "GET /login")


async def test_a_signed_in_page_is_not_cached_and_carries_hsts(hub: RunningHub) -> None:
    await add_staff(hub, "casey", "coordinator")
    status, cookies = await sign_in(hub, "casey", PASSWORD)
    assert status == 303
    cookie = {"Cookie": f"marac_session={cookies['marac_session']}"}
    async with (
        aiohttp.ClientSession(headers=cookie) as http,
        http.get(f"{hub.url}/dashboard", allow_redirects=False) as resp,
    ):
        assert resp.status == 200
        _assert_private(resp.headers, "GET /dashboard")


async def test_without_tls_there_is_no_hsts_but_still_no_store(tmp_path: Path) -> None:
    async with (
        running_hub(tmp_path / "hub") as plain,
        aiohttp.ClientSession() as http,
        http.get(f"{plain.url}/healthz") as resp,
    ):
        assert "Strict-Transport-Security" not in resp.headers
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Server"] == "marac-hub"


@pytest.mark.parametrize(
    "raw",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20_000 + b"\r\n\r\n"],
    ids=["bad-request-line", "header-too-long"],
)
async def test_a_request_aiohttp_cannot_parse_names_no_version_either(
    hub: RunningHub, raw: bytes
) -> None:
    url = urlsplit(hub.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(raw)
        await writer.drain()
        head = (await asyncio.wait_for(reader.read(4096), 30)).split(b"\r\n\r\n")[0]
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert b"\r\nServer: marac-hub" in head and b"aiohttp" not in head.lower(), head
