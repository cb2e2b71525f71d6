"""Anonymous enrolment ran Argon2id on the event loop while holding the write lock
(issue 23, finding 3): a stream of wrong codes slowed every other request. Through the
real API: wrong codes in flight, and the hub still answers ``/healthz`` and writes."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

from hub.agencies.tables import agencies
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.secrets import hash_secret, verify_secret
from hub.service.appkeys import ENGINE
from hub.testing import running_hub

# A costly code hash makes one wrong code's work plain to see (the default is ~20 ms).
COSTLY = {"opslimit": 6, "memlimit": 64 * 1024 * 1024}


async def test_wrong_enrolment_codes_do_not_block_the_hub_or_its_write_lock(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path / "hub") as hub, aiohttp.ClientSession() as http:
        admin = {"Authorization": f"Bearer {hub.admin_token}"}
        async with http.post(
            f"{hub.url}/api/v1/agencies",
            headers=admin,
            json={
                "id": "police-north",
                "name": "North Police",
                "kind": "police",
                "isp_version": "2026.1",
                "isp_signed_by": "DCI Example",
                "isp_signed_on": "2026-11-01",
            },
        ) as resp:
            assert resp.status == 201
        costly = hash_secret("the real code", **COSTLY)
        async with hub.app[ENGINE].begin() as conn:
            await conn.execute(update(agencies).values(enrol_code_hash=costly))
        one_check = statistics.median(
            [await _timed(asyncio.to_thread(verify_secret, costly, "wrong")) for _ in range(3)]
        )
        identity = IdentityKeyPair.generate()
        signed = announce_key(
            identity, "police-north", EncryptionKeyPair.generate().public, now=datetime.now(UTC)
        )
        body = {"code": "police-north:a-wrong-code", "announcement": signed.to_json()}

        async def wrong() -> int:
            async with http.post(f"{hub.url}/api/v1/enrol", json=body) as resp:
                await resp.read()
                return resp.status

        async def healthz() -> None:
            async with http.get(f"{hub.url}/healthz") as resp:
                assert resp.status == 200

        async def write(n: int) -> None:
            async with http.post(
                f"{hub.url}/api/v1/areas", headers=admin, json={"id": f"a{n}", "name": "Area"}
            ) as resp:
                assert resp.status == 201, await resp.text()

        flood = [asyncio.create_task(wrong()) for _ in range(8)]
        await asyncio.sleep(0.05)  # the wrong codes are being checked
        health = [await _timed(healthz()) for _ in range(10)]
        writes = [await _timed(write(n)) for n in range(3)]
        in_flight = sum(not task.done() for task in flood)
        statuses = await asyncio.gather(*flood)
    assert statuses == [403] * 8
    assert in_flight > 0, "the wrong codes were all answered before the checks: no overlap"
    # Generous bounds: on the loop, each answer waited behind whole Argon2id checks.
    assert statistics.median(health) < one_check / 4, (health, one_check)
    assert statistics.median(writes) < one_check, (writes, one_check)


async def _timed(work: Any) -> float:
    start = time.perf_counter()
    await work
    return time.perf_counter() - start
