"""The HTTP edges answer problem+json as documented, through the real server: lone UTF-16
surrogates in JSON text, methods a path does not allow, missing credentials, and requests
too malformed for aiohttp to hand to the application at all."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.protocol.errors import PROBLEM_CONTENT_TYPE
from hub.testing import RunningHub, running_hub

LONE_SURROGATE = '"\\ud800"'  # valid JSON, no Unicode text: "\ud800" as the JSON source has it


@pytest.fixture
async def hub(tmp_path: Path) -> Any:
    async with running_hub(tmp_path) as running:
        yield running


async def _raw(hub: RunningHub, method: str, path: str, body: str, token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, hub.url + path, data=body.encode(), headers=headers) as resp,
    ):
        return resp.status, resp.content_type, await resp.json(content_type=None)


def _is_problem(status: int, media: str, doc: Any, code: str) -> None:
    assert media == PROBLEM_CONTENT_TYPE, (status, media, doc)
    assert doc["type"] == f"https://marac-hub.org/problems/{code}", doc
    assert doc["status"] == status


async def test_lone_surrogate_in_a_notice_text_is_refused_not_a_server_error(
    hub: RunningHub,
) -> None:
    body = '{"to": "all", "text": ' + LONE_SURROGATE + "}"
    status, media, doc = await _raw(hub, "POST", "/api/v1/notices", body, hub.admin_token)
    assert status == 400
    _is_problem(status, media, doc, "malformed-json")


async def test_lone_surrogate_in_an_extract_agency_id_is_refused_not_a_server_error(
    hub: RunningHub,
) -> None:
    body = '{"agency_id": ' + LONE_SURROGATE + "}"
    path = "/api/v1/cases/M-2026-0001/extracts"
    status, media, doc = await _raw(hub, "POST", path, body, hub.admin_token)
    assert status == 400
    _is_problem(status, media, doc, "malformed-json")


async def test_lone_surrogate_in_an_enrolment_code_is_refused_anonymously(
    hub: RunningHub,
) -> None:
    body = '{"code": ' + LONE_SURROGATE + ', "announcement": {}}'
    status, media, doc = await _raw(hub, "POST", "/api/v1/enrol", body, None)
    assert status == 400
    _is_problem(status, media, doc, "malformed-json")


async def test_method_not_allowed_names_the_allowed_methods(hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http, http.patch(f"{hub.url}/api/v1/notices") as resp:
        assert resp.status == 405
        assert set(resp.headers["Allow"].replace(" ", "").split(",")) == {"POST"}
        _is_problem(
            405, resp.content_type, await resp.json(content_type=None), "method-not-allowed"
        )


async def test_missing_token_is_challenged_with_www_authenticate(hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/api/v1/agencies") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
        _is_problem(401, resp.content_type, await resp.json(content_type=None), "unauthorized")


async def test_unsigned_agency_request_is_challenged_with_www_authenticate(
    hub: RunningHub,
) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/api/v1/mailbox") as resp:
        assert resp.status == 401
        assert "WWW-Authenticate" in resp.headers
        assert resp.content_type == PROBLEM_CONTENT_TYPE


async def _raw_exchange(hub: RunningHub, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes on a fresh connection; the status, headers and body."""
    host, port = hub.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=60)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/v1/hub?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: hub\r\n\r\n",
        b"GET /api/v1/hub HTTP/1.1\r\nHost: hub\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
    ],
    ids=["over-long-request-line", "over-long-header", "garbage"],
)
async def test_unparsable_request_answers_problem_json_not_text_plain(
    hub: RunningHub, request_bytes: bytes
) -> None:
    status, headers, body = await _raw_exchange(hub, request_bytes)
    assert 400 <= status < 500
    assert headers["content-type"].split(";")[0] == PROBLEM_CONTENT_TYPE
    doc = json.loads(body)
    assert doc["status"] == status
    assert doc["type"].startswith("https://marac-hub.org/problems/")
    assert "aaaa" not in doc["detail"]  # the request is not echoed back
