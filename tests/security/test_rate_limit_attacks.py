"""Guessing without signing in (issue 23): one address could send sign-in passwords,
enrolment codes and single sign-on starts as fast as the hub answered. Now each address
has a token bucket (``hub.http.rate_limit``): a burst from one is answered 429 with
``Retry-After`` while other addresses still get through, and ``X-Forwarded-For`` counts
only from a trusted proxy. Through a real hub on loopback."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from hub.http.rate_limit import TokenBuckets
from hub.testing import running_hub

LOGIN = {"login_token": "x", "username": "nobody", "password": "wrong"}
ENROL = {"code": "police-north:a-wrong-code", "announcement": {}}


async def _login(
    http: aiohttp.ClientSession, url: str, source: str | None
) -> aiohttp.ClientResponse:
    headers = {"X-Forwarded-For": source} if source else {}
    async with http.post(f"{url}/login", data=LOGIN, headers=headers, allow_redirects=False) as r:
        await r.read()
        return r


async def test_a_burst_from_one_address_is_limited_while_another_still_gets_through(
    tmp_path: Path,
) -> None:
    async with (
        running_hub(
            tmp_path / "hub",
            anonymous_burst=3,
            anonymous_rate_per_minute=1,
            trusted_proxies=("127.0.0.1/32",),
        ) as hub,
        aiohttp.ClientSession() as http,
    ):
        answers = [(await _login(http, hub.url, "203.0.113.5")).status for _ in range(3)]
        assert 429 not in answers, answers
        limited = await _login(http, hub.url, "203.0.113.5")
        assert limited.status == 429 and limited.content_type == "text/html"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # another address behind the same proxy still gets through
        assert (await _login(http, hub.url, "198.51.100.7")).status != 429
        # the proxy's own chain: the right-most hop that is not the proxy is the client
        chained = await _login(http, hub.url, "10.9.9.9, 203.0.113.5")
        assert chained.status == 429
        # enrolment is limited the same way, answered as problem+json
        for _ in range(3):
            async with http.post(
                f"{hub.url}/api/v1/enrol", json=ENROL, headers={"X-Forwarded-For": "192.0.2.1"}
            ) as resp:
                assert resp.status != 429
        async with http.post(
            f"{hub.url}/api/v1/enrol", json=ENROL, headers={"X-Forwarded-For": "192.0.2.1"}
        ) as resp:
            problem = await resp.json(content_type=None)
            assert resp.status == 429 and resp.content_type == "application/problem+json"
            assert problem["type"].endswith("/too-many-requests") and "Retry-After" in resp.headers
        # the start of single sign-on too (limited whether or not it is configured)
        sso = {"X-Forwarded-For": "192.0.2.9"}
        starts = []
        for _ in range(4):
            async with http.get(f"{hub.url}/sso/login", headers=sso, allow_redirects=False) as r:
                starts.append(r.status)
        assert 429 not in starts[:3] and starts[3] == 429, starts
        # what is not a guess is not limited: health, the sign-in form, the public keys
        for path in ("/healthz", "/login", "/api/v1/hub"):
            async with http.get(hub.url + path, headers={"X-Forwarded-For": "192.0.2.1"}) as r:
                assert r.status == 200, path


async def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(
    tmp_path: Path,
) -> None:
    async with (
        running_hub(
            tmp_path / "hub", anonymous_burst=3, anonymous_rate_per_minute=1, trusted_proxies=()
        ) as hub,
        aiohttp.ClientSession() as http,
    ):
        answers = [(await _login(http, hub.url, f"203.0.113.{i}")).status for i in range(1, 6)]
        assert answers[:3].count(429) == 0 and answers[3:] == [429, 429], answers
        # a hop that is no address at all does not crash the count either
        assert (await _login(http, hub.url, "not-an-address")).status == 429


def test_the_buckets_refill_and_forget_the_least_recent_address_beyond_their_bound() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=0.5, burst=2, max_keys=100, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 2.0]
    now[0] += 2.0  # one token back
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    for i in range(10_000):  # a flood of spoofed sources
        buckets.take(f"10.0.{i // 256}.{i % 256}")
    assert len(buckets) == 100
