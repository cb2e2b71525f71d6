"""Every wrong request gets problem+json with a stable type, and nothing is stored."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import Agent, assert_problem, staff_call
from sqlalchemy import func, select

from hub.agencies.tables import agencies
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.request_signing import HEADER_SIGNATURE, sign_request
from hub.delivery.tables import nonces, outbox, receipts
from hub.service.appkeys import ENGINE


async def raw(
    agent: Agent,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    content_type: str = "application/json",
) -> tuple[int, Any]:
    async with agent.http.request(
        method,
        agent.hub.url + path,
        data=io.BytesIO(body),
        headers={**headers, "Content-Type": content_type},
    ) as resp:
        assert (
            resp.headers["Content-Type"].startswith("application/problem+json") or resp.status < 400
        )
        return resp.status, await resp.json(content_type=None)


async def count(hub, table) -> int:  # type: ignore[no-untyped-def]
    async with hub.app[ENGINE].connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)))


def signed(
    agent: Agent,
    path: str = "/api/v1/mailbox",
    body: bytes = b"",
    method: str = "GET",
    now: datetime | None = None,
    identity: IdentityKeyPair | None = None,
    agency: str | None = None,
) -> dict[str, str]:
    return sign_request(
        identity or agent.identity,
        agency or agent.id,
        method,
        path,
        "",
        body,
        now=now or datetime.now(UTC),
    )


async def test_each_way_a_signed_request_can_be_wrong(hub, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("police-north")
    stranger = IdentityKeyPair.generate()
    body = b'{"receipts": []}'
    cases = [
        (
            "bad signature",
            "GET",
            "/api/v1/mailbox",
            b"",
            {**signed(agent), HEADER_SIGNATURE: signed(agent)[HEADER_SIGNATURE][:-4] + "AAAA"},
            401,
            "bad-signature",
        ),
        (
            "unknown key",
            "GET",
            "/api/v1/mailbox",
            b"",
            signed(agent, identity=stranger),
            401,
            "unknown-agency",
        ),
        (
            "unknown agency",
            "GET",
            "/api/v1/mailbox",
            b"",
            signed(agent, agency="nobody"),
            401,
            "unknown-agency",
        ),
        (
            "stale time",
            "GET",
            "/api/v1/mailbox",
            b"",
            signed(agent, now=datetime.now(UTC) - timedelta(minutes=6)),
            401,
            "replayed-request",
        ),
        (
            "future time",
            "GET",
            "/api/v1/mailbox",
            b"",
            signed(agent, now=datetime.now(UTC) + timedelta(minutes=6)),
            401,
            "replayed-request",
        ),
        (
            "altered body",
            "POST",
            "/api/v1/receipts",
            body + b" ",
            signed(agent, "/api/v1/receipts", body, "POST"),
            401,
            "bad-signature",
        ),
        (
            "altered path",
            "POST",
            "/api/v1/keys",
            body,
            signed(agent, "/api/v1/receipts", body, "POST"),
            401,
            "bad-signature",
        ),
        (
            "altered method",
            "POST",
            "/api/v1/mailbox",
            b"",
            signed(agent),
            405,
            "method-not-allowed",
        ),
    ]
    for name, method, path, sent_body, headers, status_code, code in cases:
        status, doc = await raw(agent, method, path, sent_body, headers)
        assert status == status_code, (name, doc)
        assert doc["type"].endswith("/" + code), (name, doc)
    assert await count(hub, nonces) == 0  # refused requests leave no trace


async def test_reused_nonce_is_refused(hub, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("police-north")
    headers = signed(agent)
    status, _ = await raw(agent, "GET", "/api/v1/mailbox", b"", headers)
    assert status == 200
    status, doc = await raw(agent, "GET", "/api/v1/mailbox", b"", headers)
    assert_problem(status, doc, 401, "replayed-request")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed-json"),
        (b'{"a": 1, "a": 2}', "malformed-json"),
        (b"[" * 50_000, "malformed-json"),
        (b'{"receipts": "many"}', "bad-receipt"),
        (b'{"receipts": []}', "bad-receipt"),
        (b'{"receipts": [{}]}', "bad-receipt"),
        (b'{"receipts": [{"receipt": {"envelope_id": "x"}, "signature": "AA"}]}', "bad-receipt"),
        (b'{"receipts": [], "more": 1}', "bad-receipt"),
        (b"\xff\xfe\x00", "malformed-json"),
    ],
)
async def test_malformed_receipts_are_refused(hub, make_agency, body: bytes, code: str) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("police-north")
    status, doc = await agent.call("POST", "/api/v1/receipts", body)
    assert status == 400, doc
    assert doc["type"].endswith("/" + code)
    assert await count(hub, receipts) == 0


async def test_bad_receipts_store_nothing(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("police-north")
    for text in ("one", "two"):
        await staff_call(hub, http, "POST", "/api/v1/notices", body={"to": "all", "text": text})
    first, second = await agent.poll()
    good = agent.receipt(first)
    tampered = agent.receipt(second)
    tampered["receipt"]["envelope_sha256"] = "0" * 64  # signature no longer matches
    for batch, code in (
        ([good, tampered], "bad-receipt"),
        ([good, {**agent.receipt(second), "signature": good["signature"]}], "bad-receipt"),
        ([good, good], "bad-receipt"),
    ):
        status, doc = await agent.call(
            "POST", "/api/v1/receipts", json.dumps({"receipts": batch}).encode()
        )
        assert_problem(status, doc, 400, code)
    assert await count(hub, receipts) == 0  # all or nothing: the good one was not stored
    assert len(await agent.poll()) == 2


async def test_wrong_content_type_and_oversized_body(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("police-north")
    body = b'{"receipts": []}'
    status, doc = await raw(
        agent,
        "POST",
        "/api/v1/receipts",
        body,
        signed(agent, "/api/v1/receipts", body, "POST"),
        "text/plain",
    )
    assert_problem(status, doc, 415, "unsupported-media-type")
    big = b'{"text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, doc = await raw(
        agent, "POST", "/api/v1/receipts", big, signed(agent, "/api/v1/receipts", big, "POST")
    )
    assert_problem(status, doc, 413, "payload-too-large")
    async with http.post(
        hub.url + "/api/v1/notices",
        data=b"to=all",
        headers={
            "Authorization": f"Bearer {hub.admin_token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ) as resp:
        assert_problem(
            resp.status, await resp.json(content_type=None), 415, "unsupported-media-type"
        )
    async with http.post(
        hub.url + "/api/v1/notices",
        data=io.BytesIO(big),
        headers={"Authorization": f"Bearer {hub.admin_token}", "Content-Type": "application/json"},
    ) as resp:
        assert_problem(resp.status, await resp.json(content_type=None), 413, "payload-too-large")
    assert await count(hub, outbox) == 0


@pytest.mark.parametrize(
    ("body", "status_code", "code"),
    [
        ({"to": "nobody", "text": "x"}, 404, "not-found"),
        ({"to": "all"}, 400, "malformed"),
        ({"to": "all", "text": ""}, 400, "malformed"),
        ({"to": "all", "text": "x" * 20_001}, 400, "malformed"),
        ({"to": "all", "text": 7}, 400, "wrong-type"),
        ({"to": "all", "text": "x", "bcc": "y"}, 400, "malformed"),
        ({"to": "all", "text": "x", "case_ref": 5}, 400, "wrong-type"),
        ({"to": "all", "text": "x", "case_ref": "Jane Victim"}, 400, "malformed"),
    ],
)
async def test_bad_notices_send_nothing(hub, http, make_agency, body, status_code, code) -> None:  # type: ignore[no-untyped-def]
    await make_agency("police-north")
    status, doc = await staff_call(hub, http, "POST", "/api/v1/notices", body=body)
    assert_problem(status, doc, status_code, code)
    assert await count(hub, outbox) == 0


@pytest.mark.parametrize(
    "body",
    [
        {
            "id": "Police North",
            "name": "x",
            "kind": "police",
            "isp_version": "1",
            "isp_signed_by": "x",
            "isp_signed_on": "2026-01-01",
        },
        {
            "id": "police-north",
            "name": "x",
            "kind": "wizards",
            "isp_version": "1",
            "isp_signed_by": "x",
            "isp_signed_on": "2026-01-01",
        },
        {
            "id": "police-north",
            "name": "x",
            "kind": "police",
            "isp_version": "1",
            "isp_signed_by": "x",
            "isp_signed_on": "last week",
        },
        {
            "id": "all",
            "name": "x",
            "kind": "police",
            "isp_version": "1",
            "isp_signed_by": "x",
            "isp_signed_on": "2026-01-01",
        },
        {"id": "police-north"},
    ],
)
async def test_bad_invitations_store_nothing(hub, http, body) -> None:  # type: ignore[no-untyped-def]
    status, doc = await staff_call(hub, http, "POST", "/api/v1/agencies", body=body)
    assert status == 400, doc
    assert await count(hub, agencies) == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": "x"},
        {"code": "police-north:abc", "announcement": {}},
        {"code": 5, "announcement": {}},
        {"code": "x" * 500, "announcement": {}},
    ],
)
async def test_bad_enrolments_are_refused(hub, http, body) -> None:  # type: ignore[no-untyped-def]
    async with http.post(hub.url + "/api/v1/enrol", json=body) as resp:
        assert resp.status == 400
        assert (await resp.json(content_type=None))["type"].startswith("https://marac-hub.org/")


async def test_problem_details_carry_no_request_content(hub, http) -> None:  # type: ignore[no-untyped-def]
    secret = "Jane Victim-Secret"
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/notices", body={"to": secret, "text": "x"}
    )
    assert_problem(status, doc, 404, "not-found")
    assert "Jane" not in json.dumps(doc)
