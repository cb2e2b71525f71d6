"""Two hub processes on one PostgreSQL database, with clients connected to both.

Every message is delivered exactly once (leased polls: no envelope handed out twice),
the log is one sequence that ``marac-hub log verify`` accepts, with one disclosure entry
per envelope, none lost or duplicated; a poll on one process is woken by a send on the
other (LISTEN/NOTIFY); one process leads the background head signer.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from scaleout_helpers import (
    MARAC_HUB,
    clients,
    enrol_agencies,
    env_for,
    init,
    serve,
    staff,
)

from agency_client.hub_client import HubClient
from hub.crypto.sealing import open_envelope
from hub.log.heads import LEADER_LOCK
from hub.testing import postgres_database

AGENCIES = 4
NOTICES_EACH = 6  # per hub process


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database (skipped if no server answers)."""
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _drain(client: HubClient, seen: Counter[str], stop: asyncio.Event, expected: int) -> None:
    """Poll with a lease and acknowledge until every expected envelope is acknowledged."""
    while not stop.is_set():
        envelopes = await client.poll(wait=2, limit=20, lease=30)
        for envelope in envelopes:
            seen[envelope.header.id] += 1
        if envelopes:
            result = await client.acknowledge(envelopes)
            assert not result.already
        if sum(seen.values()) >= expected:
            stop.set()


async def test_two_processes_deliver_each_message_once_and_keep_one_log(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "hub"
    token = init(data, pg_url)
    with serve(data, pg_url) as first, serve(data, pg_url) as second:
        async with aiohttp.ClientSession() as http:
            agencies = await enrol_agencies(http, first.url, token, AGENCIES)
            expected = AGENCIES * NOTICES_EACH * 2
            seen: Counter[str] = Counter()
            stop = asyncio.Event()
            async with (
                clients(agencies, first.url) as on_first,
                clients(agencies, second.url) as on_second,
            ):
                pollers = [
                    asyncio.create_task(_drain(c, seen, stop, expected))
                    for c in (*on_first, *on_second)
                ]

                async def send(url: str, tag: str) -> list[str]:
                    ids = []
                    for n in range(NOTICES_EACH):
                        doc = await staff(
                            http, url, token, "/api/v1/notices", {"to": "all", "text": f"{tag}{n}"}
                        )
                        ids += [e["id"] for e in doc["envelopes"]]
                    return ids

                sent = await asyncio.gather(send(first.url, "a"), send(second.url, "b"))
                await asyncio.wait_for(stop.wait(), 60)
                await asyncio.gather(*pollers)
                leftover = [await c.poll(wait=0) for c in (*on_first, *on_second)]
        ids = sent[0] + sent[1]
        assert len(ids) == len(set(ids)) == expected
        assert set(seen) == set(ids)
        assert max(seen.values()) == 1, "an envelope was handed out twice"
        assert not any(leftover)
        await _check_log(pg_url, ids)
        await _check_one_leader(pg_url)
    verify = subprocess.run(
        [MARAC_HUB, "--data-dir", str(data), "log", "verify"],
        env=env_for(pg_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def _check_log(url: str, ids: list[str]) -> None:
    """One sequence 0..n-1; one disclosure entry per envelope; heads only ever grow."""
    conn = await asyncpg.connect(_plain(url))
    try:
        rows = await conn.fetch("SELECT idx, entry FROM log_entries ORDER BY idx")
        heads = await conn.fetch("SELECT size FROM log_heads ORDER BY id")
    finally:
        await conn.close()
    assert [r["idx"] for r in rows] == list(range(len(rows)))
    logged = Counter(
        e["envelope_id"]
        for e in (json.loads(bytes(r["entry"])) for r in rows)
        if e["kind"] == "disclosure"
    )
    assert set(logged) == set(ids) and max(logged.values()) == 1
    sizes = [h["size"] for h in heads]
    assert sizes == sorted(set(sizes)), "two heads of one size: two signers at once"


async def _check_one_leader(url: str) -> None:
    """Exactly one session holds the head signer's leader lock."""
    conn = await asyncpg.connect(_plain(url))
    try:
        for _ in range(50):  # the second process may still be starting its signer
            holders = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid::bigint = $1 AND objid::bigint = $2",
                LEADER_LOCK >> 32,
                LEADER_LOCK & 0xFFFFFFFF,
            )
            if holders == 1:
                return
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise AssertionError(f"{holders} sessions lead the head signer")


async def test_a_long_poll_on_one_process_wakes_for_a_send_on_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "hub"
    token = init(data, pg_url)
    with serve(data, pg_url) as first, serve(data, pg_url) as second:
        async with aiohttp.ClientSession() as http:
            (agency,) = await enrol_agencies(http, first.url, token, 1)
            async with agency.client(second.url) as client:
                poll = asyncio.create_task(client.poll(wait=30))
                await asyncio.sleep(0.5)  # the poll is waiting on the second process
                started = time.monotonic()
                await staff(http, first.url, token, "/api/v1/notices", {"to": "all", "text": "x"})
                (envelope,) = await poll
                took = time.monotonic() - started
                opened = open_envelope(
                    envelope,
                    recipient=agency.encryption,
                    sender=(await client.fetch_hub_info()).identity_key,
                )
    assert opened.payload["text"] == "x"
    # Without the notification the poll would look again only after Waiters.recheck (10 s).
    assert took < 8.0, f"woken after {took:.1f} s: not by a notification"


async def test_serve_workers_shares_one_port_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    data = tmp_path / "hub"
    token = init(data, pg_url)
    with serve(data, pg_url, "--workers", "2") as hub:
        children = subprocess.run(
            ["pgrep", "-P", str(hub.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        async with aiohttp.ClientSession() as http:
            (agency,) = await enrol_agencies(http, hub.url, token, 1)
            async with agency.client(hub.url) as client:
                for n in range(4):  # new connections: the kernel spreads them over both
                    body = {"to": "all", "text": f"{n}"}
                    await staff(http, hub.url, token, "/api/v1/notices", body)
                got = await client.poll(wait=5)
                assert len(got) == 4
                assert (await client.acknowledge(got)).acknowledged
    assert len(children) >= 2  # two workers (a spawn helper may show too)
    assert hub.process.returncode in (0, -15)


def test_serve_workers_is_refused_on_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init(data, None)
    done = subprocess.run(
        [MARAC_HUB, "--data-dir", str(data), "serve", "--workers", "2"],
        env=env_for(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "PostgreSQL" in done.stderr
