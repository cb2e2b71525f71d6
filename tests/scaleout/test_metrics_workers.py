"""``marac-hub serve --workers 2`` on PostgreSQL: a scrape, whichever worker answers it,
counts every worker's requests once, reads the database's figures once (not once per
worker), shows each live worker's process figures, and the private metrics directory
goes when the workers stop."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scaleout_helpers import (
    MARAC_HUB,
    Served,
    clients,
    enrol_agencies,
    env_for,
    free_port,
    init,
    staff,
    wait_ready,
)

from hub.testing import postgres_database

TOKEN = "workers-scrape-token-0123456789"
REQUESTS = 40
NOTICES = 3


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


@contextmanager
def workers(data: Path, database_url: str, tmp: Path) -> Iterator[tuple[Served, Path]]:
    """``serve --workers 2`` with a scrape token and its own TMPDIR; stopped on exit."""
    port = free_port()
    stderr = data / "serve.stderr"
    env = {**env_for(database_url), "MARAC_HUB_METRICS_TOKEN": TOKEN, "TMPDIR": str(tmp)}
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [MARAC_HUB, "--data-dir", str(data), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        served = Served(f"http://127.0.0.1:{port}", process)
        try:
            wait_ready(served, stderr, timeout=60)
            yield served, stderr
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def scrape(url: str) -> list[tuple[str, dict[str, str], float]]:
    """One scrape on a new connection (so any worker may answer it)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        text = await resp.text()
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


async def test_two_workers_are_counted_once_each(tmp_path: Path, pg_url: str) -> None:
    data, tmp = tmp_path / "hub", tmp_path / "tmp"
    tmp.mkdir()
    token = init(data, pg_url)
    with workers(data, pg_url, tmp) as (served, stderr):
        (metrics_dir,) = tmp.glob("marac-hub-metrics-*")
        async with aiohttp.ClientSession() as http:
            agencies = await enrol_agencies(http, served.url, token, 2)
            for n in range(NOTICES):
                await staff(
                    http, served.url, token, "/api/v1/notices", {"to": "agency-00", "text": f"n{n}"}
                )
        for _ in range(REQUESTS):  # each on a new connection: the kernel spreads them
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{served.url}/healthz", headers={"Connection": "close"}) as resp,
            ):
                assert resp.status == 200
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2, pids  # both workers answered requests
        for _ in range(6):
            samples = await scrape(served.url)
            healthz = [
                v
                for name, labels, v in samples
                if name == "marac_hub_http_requests_total" and labels.get("route") == "/healthz"
            ]
            assert healthz == [REQUESTS]
            queued = [
                v
                for name, labels, v in samples
                if name == "marac_hub_envelopes"
                and labels == {"agency": "agency-00", "status": "queued"}
            ]
            assert queued == [NOTICES]  # the database's figure, not one per worker
            memory = {
                labels["pid"]
                for name, labels, _ in samples
                if name == "process_resident_memory_bytes"
            }
            assert len(memory) == 2, memory
        async with clients(agencies[:1], served.url) as (client,):
            envelopes = await client.poll(wait=0)
            await client.acknowledge(envelopes)
        samples = await scrape(served.url)
        assert [
            v
            for name, labels, v in samples
            if name == "marac_hub_envelopes"
            and labels == {"agency": "agency-00", "status": "delivered"}
        ] == [NOTICES]
    assert not list(tmp.glob("marac-hub-metrics-*"))  # removed when the workers stopped
    lines = [json.loads(line) for line in stderr.read_text().splitlines() if line]
    assert sum(1 for line in lines if line.get("route") == "/healthz") >= REQUESTS
