"""Webhook delivery end to end: a real hub pushes to the real agency client's endpoint
behind a real HTTPS server on loopback that fails, times out and asks to be left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from adapterkit import (
    enrolled,
    http_receiver,
    make_tls,
    notice,
    receiver_for,
    set_delivery,
    staff,
    wait_for,
)
from sqlalchemy import select

from hub.delivery.tables import alerts, delivery_attempts, outbox, receipts
from hub.protocol.envelope import parse_envelope
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub, running_hub

FAST = {
    "push_interval_seconds": 0.05,
    "push_retry_initial_seconds": 0.1,
    "push_retry_max_seconds": 0.5,
    "push_dead_letter_after": timedelta(seconds=2),
    "push_lease_seconds": 5,
    "delivery_allow_networks": ("127.0.0.0/8",),  # the receivers are on loopback
}


@pytest.fixture
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub that dead-letters after 2 s, or after ``request.param`` (indirect parameter)."""
    dead_letter_after = getattr(request, "param", FAST["push_dead_letter_after"])
    settings = {**FAST, "push_dead_letter_after": dead_letter_after, "delivery_ca_dir": tmp_path}
    async with running_hub(tmp_path / "hub", **settings) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def rows(hub: RunningHub, query: Any) -> list[Any]:
    async with hub.app[ENGINE].connect() as conn:
        return list((await conn.execute(query)).all())


async def statuses(hub: RunningHub, ids: list[str]) -> dict[str, str]:
    found = await rows(
        hub, select(outbox.c.envelope_id, outbox.c.status).where(outbox.c.envelope_id.in_(ids))
    )
    return {r.envelope_id: r.status for r in found}


@pytest.mark.parametrize("hub", [timedelta(minutes=1)], indirect=True)
async def test_failures_time_outs_and_retry_after_then_each_delivered_once_in_order(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    agency = await enrolled(http, hub, tmp_path, "police-north")
    endpoint = receiver_for(agency, tmp_path / "sink")
    tls = make_tls(tmp_path / "tls")
    async with http_receiver(tls, lambda request, _body: endpoint.handle(request)) as receiver:
        receiver.faults.steps = [
            ("status", 500, None),
            ("hang", 1.0),  # longer than the 0.5 s timeout: the hub gives up, the agency stored it
            ("status", 429, 1),
            ("status", 503, 1),
        ]
        config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 0.5}
        await set_delivery(http, hub, agency.id, "webhook", config)
        sent = []
        for n in range(3):
            sent += [e["id"] for e in await notice(http, hub, f"notice {n}", to=agency.id)]

        async def all_delivered() -> bool:
            return set((await statuses(hub, sent)).values()) == {"delivered"}

        await wait_for(all_delivered)
        await endpoint.drain()

    # Nothing lost, nothing twice: the agency stored and handed each envelope once.
    assert [m.envelope_id for m in agency.store.messages()] == sent
    assert sorted(p.name for p in (tmp_path / "sink").iterdir()) == sorted(
        f"{i}.json" for i in sent
    )
    # The hub stored one signed receipt for each, as for the mailbox.
    assert {r.envelope_id for r in await rows(hub, select(receipts))} == set(sent)
    # In order: the first acceptance of each envelope came in queue order.
    accepted = [parse_envelope(body).header.id for body in receiver.received]
    assert list(dict.fromkeys(accepted)) == sent
    # Every POST was signed by the hub; the attempts are on record with their waits.
    assert all("X-Marac-Signature" in headers for headers, _ in receiver.requests)
    attempts = await rows(hub, select(delivery_attempts).order_by(delivery_attempts.c.started_at))
    first = [a for a in attempts if a.envelope_id == sent[0]]
    assert [a.outcome for a in first][-1] == "delivered"
    assert len(first) == 5  # 500, time-out, 429, 503, then success
    after_429 = first[3].started_at - first[2].started_at
    assert after_429 >= timedelta(seconds=0.9)  # Retry-After: 1 honoured (backoff is 0.1-0.5 s)
    assert all("\n" not in (a.detail or "") for a in attempts)


async def test_a_receiver_that_never_recovers_ends_in_dead_letter_with_an_alert(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    agency = await enrolled(http, hub, tmp_path, "police-north")
    tls = make_tls(tmp_path / "tls")
    async with http_receiver(tls) as receiver:
        receiver.faults.steps = [("status", 503, None)] * 10_000
        config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 0.5}
        await set_delivery(http, hub, agency.id, "webhook", config)
        sent = [e["id"] for e in await notice(http, hub, "first", to=agency.id)]
        sent += [e["id"] for e in await notice(http, hub, "second", to=agency.id)]

        async def all_dead() -> bool:
            return set((await statuses(hub, sent)).values()) == {"undelivered"}

        await wait_for(all_dead)
        assert receiver.received == []
        order = [parse_envelope(body).header.id for _, body in receiver.requests]
        assert order.index(sent[1]) > max(i for i, e in enumerate(order) if e == sent[0])
    alerted = await staff(http, hub, "GET", "/api/v1/alerts")
    failed = [a for a in alerted["alerts"] if a["kind"] == "delivery-failed"]
    assert {a["envelope_id"] for a in failed} == set(sent)
    assert all(a["agency_id"] == agency.id for a in failed)
    dead = await rows(hub, select(delivery_attempts).where(delivery_attempts.c.outcome == "dead"))
    assert {d.envelope_id for d in dead} == set(sent)
    assert len(await rows(hub, select(alerts))) == 2


async def test_a_receiver_that_refuses_the_size_is_dead_lettered_at_once(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    agency = await enrolled(http, hub, tmp_path, "police-north")
    tls = make_tls(tmp_path / "tls")
    async with http_receiver(tls) as receiver:
        receiver.faults.steps = [("status", 413, None)]
        config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 0.5}
        await set_delivery(http, hub, agency.id, "webhook", config)
        sent = [e["id"] for e in await notice(http, hub, "big", to=agency.id)]

        async def dead() -> bool:
            return (await statuses(hub, sent)) == {sent[0]: "undelivered"}

        await wait_for(dead)
        assert len(receiver.requests) == 1


async def test_an_unverified_certificate_is_a_failed_attempt(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    agency = await enrolled(http, hub, tmp_path, "police-north")
    tls, other = make_tls(tmp_path / "tls"), make_tls(tmp_path / "other", "impostor")
    async with http_receiver(other) as receiver:
        config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 0.5}
        await set_delivery(http, hub, agency.id, "webhook", config)
        sent = [e["id"] for e in await notice(http, hub, "hello", to=agency.id)]

        async def failed_once() -> bool:
            found = await rows(hub, select(delivery_attempts.c.outcome, delivery_attempts.c.detail))
            return any(r.outcome in {"failed", "dead"} for r in found)

        await wait_for(failed_once)
        assert receiver.requests == []  # the TLS handshake failed: nothing was sent
        assert (await statuses(hub, sent))[sent[0]] in {"queued", "undelivered"}
