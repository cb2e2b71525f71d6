"""Push delivery in the metrics: a webhook that keeps failing shows its attempts, its
retries, the dead-lettered envelope and the coordinators' open alert, by agency."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.testing import running_hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))
from adapterkit import enrolled, http_receiver, notice, set_delivery

TOKEN = "push-scrape-token-0123456789abc"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def figures(
    http: aiohttp.ClientSession, url: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_a_failing_webhook_shows_attempts_retries_and_a_dead_letter(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with (
        running_hub(
            tmp_path / "hub",
            metrics_token=TOKEN,
            delivery_allow_networks=("127.0.0.0/8",),  # the receiver is on loopback
            push_interval_seconds=0.05,
            push_retry_initial_seconds=0.05,
            push_retry_max_seconds=0.2,
            push_dead_letter_after=timedelta(seconds=1),
        ) as hub,
        http_receiver(None) as receiver,
    ):
        receiver.faults.steps += [("status", 503, None)] * 1000
        agency = await enrolled(http, hub, tmp_path, "police-north")
        await set_delivery(
            http, hub, agency.id, "webhook", {"url": receiver.url, "allow_http": True}
        )
        await notice(http, hub, "Meeting moved to Thursday.", to=agency.id)
        undelivered = (
            "marac_hub_envelopes",
            frozenset({"agency": agency.id, "status": "undelivered"}.items()),
        )
        for _ in range(400):
            found = await figures(http, hub.url)
            if found.get(undelivered) == 1:
                break
            await asyncio.sleep(0.05)
        assert found.get(undelivered) == 1, found

        def value(name: str, **labels: str) -> float:
            return found.get((name, frozenset(labels.items())), 0.0)

        failed = value(
            "marac_hub_push_attempts_total",
            agency=agency.id,
            transport="webhook",
            outcome="failed",
        )
        dead = value(
            "marac_hub_push_attempts_total", agency=agency.id, transport="webhook", outcome="dead"
        )
        assert failed + dead >= 2
        assert value("marac_hub_push_retries_total", agency=agency.id) == failed + dead - 1
        assert value("marac_hub_open_alerts", kind="delivery-failed") == 1
        assert (
            "marac_hub_oldest_unacknowledged_envelope_age_seconds",
            frozenset({"agency": agency.id}.items()),
        ) not in found
