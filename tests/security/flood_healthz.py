"""Issue 23's figure for finding 3: ``/healthz`` latency while 25 wrong enrolment codes a
second arrive (default Argon2id cost, the shipped per-address rate limit), on a hub on
loopback. Not a test (a measurement):

    .venv/bin/python tests/security/flood_healthz.py [SECONDS] [RATE]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.settings import Settings
from hub.testing import running_hub


async def main(seconds: float, rate: float) -> None:
    """Flood, measure, print p50/p99/max of /healthz and the enrolments' answers."""
    with tempfile.TemporaryDirectory() as tmp:
        limit = Settings.model_fields["anonymous_burst"].default  # the shipped rate limit
        async with (
            running_hub(Path(tmp) / "hub", anonymous_burst=limit) as hub,
            aiohttp.ClientSession() as http,
        ):
            admin = {"Authorization": f"Bearer {hub.admin_token}"}
            invite = {
                "id": "police-north",
                "name": "North Police",
                "kind": "police",
                "isp_version": "2026.1",
                "isp_signed_by": "DCI Example",
                "isp_signed_on": "2026-11-01",
            }
            async with http.post(f"{hub.url}/api/v1/agencies", headers=admin, json=invite) as r:
                assert r.status == 201
            signed = announce_key(
                IdentityKeyPair.generate(),
                "police-north",
                EncryptionKeyPair.generate().public,
                now=datetime.now(UTC),
            )
            body = {"code": "police-north:a-wrong-code", "announcement": signed.to_json()}
            statuses: list[int] = []

            async def wrong() -> None:
                async with http.post(f"{hub.url}/api/v1/enrol", json=body) as resp:
                    await resp.read()
                    statuses.append(resp.status)

            async def flood() -> None:
                tasks = []
                for _ in range(int(seconds * rate)):
                    tasks.append(asyncio.create_task(wrong()))
                    await asyncio.sleep(1 / rate)
                await asyncio.gather(*tasks)

            flooding = asyncio.create_task(flood())
            health: list[float] = []
            while not flooding.done():
                start = time.perf_counter()
                async with http.get(f"{hub.url}/healthz") as resp:
                    await resp.read()
                health.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0.01)
            await flooding
    health.sort()
    p99 = health[min(len(health) - 1, int(len(health) * 0.99))]
    print(
        f"{len(statuses)} wrong enrolments at {rate:g}/s over {seconds:g} s "
        f"(answers {sorted(set(statuses))}); /healthz n={len(health)} "
        f"p50={statistics.median(health):.1f} ms p99={p99:.1f} ms max={health[-1]:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(
        main(
            float(sys.argv[1]) if len(sys.argv) > 1 else 10,
            float(sys.argv[2]) if len(sys.argv) > 2 else 25,
        )
    )
