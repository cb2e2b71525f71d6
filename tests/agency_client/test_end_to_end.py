"""End to end: a real hub on loopback and three agencies, each with its own client and store.

No part of the hub is mocked: staff calls go over HTTP with a coordinator's token, and
each agency runs ``HubClient`` + ``Runner`` with its own keys, store and folder sink.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from agency_helpers import FAST, PASS, Agency, enrolled, notice, staff

from agency_client.hub_client import HubResponseError
from agency_client.rotation import KeyRotation
from agency_client.runner import Runner, RunnerSettings
from agency_client.sinks import FolderSink
from hub.crypto.sealing import open_envelope
from hub.protocol import SUITE_HYBRID, SUITE_X25519, Envelope, InvalidEnvelope
from hub.protocol.messages import Receipt
from hub.testing import RunningHub

AGENCIES = [
    ("police-north", "police", SUITE_X25519),
    ("idva-east", "idva", SUITE_X25519),
    ("housing-west", "housing", SUITE_HYBRID),
]


@pytest.fixture
async def agencies(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[list[Agency]]:
    made = [
        await enrolled(http, hub, tmp_path / "agencies", name, kind, suite=suite)
        for name, kind, suite in AGENCIES
    ]
    yield made
    for agency in made:
        await agency.client.close()
        agency.store.close()


def runner(agency: Agency, inbox: Path) -> Runner:
    hub_key = agency.store.hub_key()
    assert hub_key is not None
    rotation = KeyRotation(agency.client, agency.store, agency.data.keys, PASS, strength=FAST)
    return Runner(
        agency.client, agency.store, rotation, hub_key, FolderSink(inbox), settings=RunnerSettings()
    )


def inbox_texts(inbox: Path) -> dict[str, str]:
    if not inbox.exists():
        return {}
    return {p.stem: json.loads(p.read_text())["payload"]["text"] for p in sorted(inbox.iterdir())}


async def test_a_broadcast_reaches_each_agency_once_sealed_to_it_alone(
    hub: RunningHub, http: aiohttp.ClientSession, agencies: list[Agency], tmp_path: Path
) -> None:
    coordinator = await hub.add_user("coordinator", "coordinator")
    # A coordinator's broadcast reaches the agencies serving their area.
    await staff(http, hub, "POST", "/api/v1/areas", {"id": "north", "name": "North MARAC"})
    await staff(http, hub, "POST", "/api/v1/areas/north/users", {"user": "coordinator"})
    for agency in agencies:
        await staff(http, hub, "POST", "/api/v1/areas/north/agencies", {"agency": agency.id})
    sent = await notice(http, hub, "Agenda for 3 December published.", token=coordinator)
    assert sorted(e["to"] for e in sent) == sorted(a.id for a in agencies)
    sent_to = {e["to"]: e["id"] for e in sent}

    # Each agency sees exactly its own envelope, sealed to its own key and suite.
    polled: dict[str, Envelope] = {}
    for agency, (_, _, suite) in zip(agencies, AGENCIES, strict=True):
        [envelope] = await agency.client.poll(wait=5)
        assert envelope.header.id == sent_to[agency.id]
        assert envelope.header.recipient == agency.id and envelope.header.suite == suite
        polled[agency.id] = envelope

    # It opens only with its own key: every other agency's keys refuse it.
    hub_key = hub.keys.identity.public
    keys = {a.id: next(iter(a.encryption_keys().values())) for a in agencies}
    for owner, envelope in polled.items():
        for agency_id, key in keys.items():
            if agency_id == owner:
                opened = open_envelope(envelope, recipient=key, sender=hub_key)
                assert opened.payload == {"text": "Agenda for 3 December published."}
            else:
                with pytest.raises(InvalidEnvelope):
                    open_envelope(envelope, recipient=key, sender=hub_key)

    # No agency can acknowledge another's envelope, in its own name or the owner's.
    police, idva, _ = agencies
    theirs = polled[police.id]
    with pytest.raises(HubResponseError) as caught:
        await idva.client.acknowledge([theirs])
    assert (caught.value.http_status, caught.value.code) == (404, "unknown-envelope")
    forged = Receipt(
        envelope_id=theirs.header.id,
        envelope_sha256=theirs.digest(),
        agency_id=police.id,
        received_at=datetime.now(UTC),
    )
    with pytest.raises(HubResponseError) as caught:
        await idva.client.send_receipts([forged])
    assert (caught.value.http_status, caught.value.code) == (400, "bad-receipt")
    assert [e.header.id for e in await police.client.poll()] == [theirs.header.id]

    # Each runner stores, acknowledges and hands its message over: once.
    inboxes = {a.id: tmp_path / "sinks" / a.id for a in agencies}
    runners = [runner(a, inboxes[a.id]) for a in agencies]
    reports = await asyncio.gather(*(r.cycle(wait=5) for r in runners))
    for report in reports:
        assert report is not None
        assert (report.stored, report.acknowledged, report.handed) == (1, 1, 1)
    for agency in agencies:
        assert inbox_texts(inboxes[agency.id]) == {
            sent_to[agency.id]: "Agenda for 3 December published."
        }
        assert await agency.client.poll() == []
        [info] = agency.store.messages()
        assert info.acked_at is not None and info.handed_at is not None

    # A long poll wakes as soon as the next broadcast is queued.
    started = time.monotonic()
    cycles = asyncio.gather(*(r.cycle(wait=60) for r in runners))
    await asyncio.sleep(0.5)
    second = await notice(http, hub, "Meeting moved to Thursday.", token=coordinator)
    reports = await cycles
    assert time.monotonic() - started < 30  # woken, not the 60 s wait: whatever the load
    assert all(r is not None and r.handed == 1 for r in reports)

    # Nothing is delivered twice, however often the runners poll again.
    for _ in range(2):
        reports = await asyncio.gather(*(r.cycle(wait=0) for r in runners))
        assert all(r is not None and (r.received, r.handed) == (0, 0) for r in reports)
    for agency in agencies:
        mine = {e["id"] for e in [*sent, *second] if e["to"] == agency.id}
        assert set(inbox_texts(inboxes[agency.id])) == mine
        assert len(agency.store.messages()) == 2
        assert agency.store.unacknowledged() == [] and agency.store.unhanded() == []
