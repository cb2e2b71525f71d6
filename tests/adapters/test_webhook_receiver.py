"""``agency-client receive``'s endpoint against hostile POSTs, and the retry arithmetic."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from adapterkit import enrolled, http_receiver, receiver_for
from agency_helpers import sealed

from hub.adapters.webhook import parse_retry_after
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.request_signing import sign_request
from hub.delivery.push import retry_delay
from hub.testing import RunningHub, running_hub


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path / "hub") as running:
        yield running


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, signer: IdentityKeyPair | None, **kw: Any
) -> tuple[int, Any]:
    path = "/marac/inbox"
    headers = {"Content-Type": "application/json"}
    if signer is not None:
        now = kw.pop("now", datetime.now(UTC))
        headers |= sign_request(signer, "hub", "POST", path, "", body, now=now, **kw)
    async with http.post(url, data=io.BytesIO(body), headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_forged_replayed_stale_and_misaddressed_posts_are_refused(
    hub: RunningHub, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:
        agency = await enrolled(http, hub, tmp_path, "police-north")
        endpoint = receiver_for(agency, tmp_path / "sink")
        key = next(iter(agency.encryption_keys().values()))
        hub_identity = hub.keys.identity
        good = sealed(hub_identity, key, to=agency.id).to_bytes()
        async with http_receiver(None, lambda r, _b: endpoint.handle(r)) as receiver:
            url = receiver.url
            cases = [
                (good, None, {}, "bad-signature"),  # unsigned
                (good, IdentityKeyPair.generate(), {}, "bad-signature"),  # not the hub's key
                (
                    good,
                    hub_identity,
                    {"now": datetime.now(UTC) - timedelta(hours=1)},
                    "replayed-request",
                ),
                (b"{not json", hub_identity, {}, "malformed-json"),
                (b'{"header": {}, "ciphertext": ""}', hub_identity, {}, "missing-field"),
                (
                    sealed(hub_identity, key, to="police-south").to_bytes(),
                    hub_identity,
                    {},
                    "wrong-recipient",
                ),
                (
                    sealed(IdentityKeyPair.generate(), key, to=agency.id).to_bytes(),
                    hub_identity,
                    {},
                    "invalid-envelope",
                ),  # sealed by someone else, posted by the hub
            ]
            for body, signer, kw, code in cases:
                status, doc = await post(http, url, body, signer, **kw)
                assert 400 <= status < 500 and doc["type"].endswith("/" + code), (code, doc)
            status, first = await post(http, url, good, hub_identity, nonce="n-1")
            assert status == 200 and set(first) == {"receipt", "signature"}
            status, doc = await post(http, url, good, hub_identity, nonce="n-1")
            assert doc["type"].endswith("/replayed-request")
            status, again = await post(http, url, good, hub_identity)  # sent again: same receipt
            assert status == 200 and again["receipt"] == first["receipt"]
        await endpoint.drain()
    assert len(agency.store.messages()) == 1
    assert all(b"Traceback" not in w for w in receiver.wire)


def test_retry_delay_grows_jitters_caps_and_honours_retry_after() -> None:
    low = [retry_delay(n, initial=1, maximum=60, rng=lambda: 0.0) for n in range(1, 9)]
    high = [retry_delay(n, initial=1, maximum=60, rng=lambda: 1.0) for n in range(1, 9)]
    assert low == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert high == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(1, initial=1, maximum=60, retry_after=120, rng=lambda: 1.0) == 120
    assert retry_delay(10_000, initial=1, maximum=60) <= 60


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("999999999", 86400.0),
        ("-3", None),
        ("soon", None),
        ("1e3", None),
        ("\x00" * 100, None),
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_as_a_date() -> None:
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    )
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now=now) == 0
