"""Enrolment, sealed delivery through the mailbox, and signed receipts, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from conftest import Agent, assert_problem, enrol, invite, staff_call
from sqlalchemy import func, select

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair
from hub.crypto.sealing import open_envelope
from hub.delivery.tables import outbox, receipts
from hub.protocol import InvalidEnvelope
from hub.service.appkeys import ENGINE
from hub.testing import running_hub


async def notice(hub, http, to: str = "all", text: str = "Agenda published for 3 December."):  # type: ignore[no-untyped-def]
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/notices", body={"to": to, "text": text}
    )
    assert status == 202, doc
    return doc["envelopes"]


async def test_enrol_approve_send_receive_acknowledge(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    sent = await notice(hub, http)
    assert [e["to"] for e in sent] == ["police-north"]
    [envelope] = await police.poll()
    opened = open_envelope(envelope, recipient=police.keys[0], sender=hub.keys.identity.public)
    assert opened.payload == {"text": "Agenda published for 3 December."}
    status, doc = await police.ack([envelope])
    assert status == 200 and doc == {"acknowledged": [envelope.header.id], "already": []}
    assert await police.poll() == []
    status, doc = await police.ack([envelope])  # a repeated ack is a no-op
    assert status == 200 and doc == {"acknowledged": [], "already": [envelope.header.id]}
    async with hub.app[ENGINE].connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(receipts)) == 1
        assert await conn.scalar(select(outbox.c.status)) == "delivered"


async def test_broadcast_reaches_each_agency_sealed_to_its_own_key(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agents = [
        await make_agency(name, kind)
        for name, kind in [
            ("police-north", "police"),
            ("idva-east", "idva"),
            ("housing-west", "housing"),
        ]
    ]
    await notice(hub, http)
    got = {a.id: await a.poll() for a in agents}
    assert all(len(envs) == 1 for envs in got.values())
    for agent in agents:
        [envelope] = got[agent.id]
        assert envelope.header.recipient == agent.id
        assert envelope.header.recipient_key == agent.keys[0].fingerprint
        for other in agents:
            if other is not agent:
                try:
                    open_envelope(
                        envelope, recipient=other.keys[0], sender=hub.keys.identity.public
                    )
                except InvalidEnvelope:
                    continue
                raise AssertionError("another agency's key opened the envelope")


async def test_ack_for_another_agencys_envelope_is_refused(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police, idva = await make_agency("police-north"), await make_agency("idva-east", "idva")
    await notice(hub, http, to="police-north")
    [envelope] = await police.poll()
    # idva signs a receipt for police's envelope, in its own name and in police's name.
    for agency_id, status_code, code in (
        ("idva-east", 404, "unknown-envelope"),
        ("police-north", 400, "bad-receipt"),
    ):
        body = json.dumps({"receipts": [idva.receipt(envelope, agency_id)]}).encode()
        status, doc = await idva.call("POST", "/api/v1/receipts", body)
        assert_problem(status, doc, status_code, code)
    assert [e.header.id for e in await police.poll()] == [envelope.header.id]
    assert await idva.poll() == []


async def test_long_poll_wakes_when_something_is_queued(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    started = time.monotonic()
    waiting = asyncio.create_task(police.poll(wait=60))
    await asyncio.sleep(0.3)
    await notice(hub, http)
    envelopes = await waiting
    assert len(envelopes) == 1
    assert time.monotonic() - started < 30  # woken, not timed out: whatever the load


async def test_long_poll_times_out_empty(hub, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    started = time.monotonic()
    assert await police.poll(wait=1) == []
    assert 0.9 < time.monotonic() - started < 30  # waited its second, then answered


async def test_batches_respect_the_limit_and_order(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    for n in range(5):
        await notice(hub, http, text=f"notice {n}")
    first = await police.poll(limit=3)
    assert len(first) == 3
    status, _ = await police.ack(first)
    assert status == 200
    rest = await police.poll(limit=3)
    texts = [
        open_envelope(e, recipient=police.keys[0], sender=hub.keys.identity.public).payload["text"]
        for e in first + rest
    ]
    assert texts == [f"notice {n}" for n in range(5)]


async def test_suspended_and_revoked_agencies_receive_nothing(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police, idva = await make_agency("police-north"), await make_agency("idva-east", "idva")
    await staff_call(hub, http, "POST", "/api/v1/agencies/police-north/suspend")
    await staff_call(hub, http, "POST", "/api/v1/agencies/idva-east/revoke")
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/notices", body={"to": "police-north", "text": "x"}
    )
    assert_problem(status, doc, 403, "agency-not-active")
    assert await notice(hub, http) == []  # "all" means all active agencies: none are
    status, doc = await police.call("GET", "/api/v1/mailbox")
    assert_problem(status, doc, 403, "agency-suspended")
    status, doc = await idva.call("GET", "/api/v1/mailbox")
    assert_problem(status, doc, 403, "key-revoked")
    async with hub.app[ENGINE].connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(outbox)) == 0


async def test_pending_agency_is_refused_until_approved(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north", approve=False)
    status, doc = await police.call("GET", "/api/v1/mailbox")
    assert_problem(status, doc, 403, "agency-not-approved")
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        "/api/v1/agencies/police-north/approve",
        body={"identity_fingerprint": "0" * 64},
    )
    assert_problem(status, doc, 409, "fingerprint-mismatch")
    status, doc = await police.call("GET", "/api/v1/mailbox")
    assert status == 403


async def test_enrolment_code_is_single_use(hub, http) -> None:  # type: ignore[no-untyped-def]
    code = await invite(hub, http, "police-north")
    first, second = Agent(hub, http, "police-north"), Agent(hub, http, "police-north")
    assert (await enrol(first, code))[0] == 201
    status, doc = await enrol(second, code)
    assert_problem(status, doc, 403, "bad-enrolment-code")
    status, doc = await enrol(Agent(hub, http, "police-north"), code[:-2] + "xx")
    assert_problem(status, doc, 403, "bad-enrolment-code")


async def test_enrolment_with_announcement_for_another_agency(hub, http) -> None:  # type: ignore[no-untyped-def]
    code = await invite(hub, http, "police-north")
    agent = Agent(hub, http, "idva-east")  # announces itself under another name
    status, doc = await enrol(agent, code)
    assert_problem(status, doc, 401, "bad-signature")
    assert (await enrol(Agent(hub, http, "police-north"), code))[0] == 201  # code not spent


async def test_rotated_key_is_used_for_new_envelopes(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    await notice(hub, http, text="before")
    new_key = EncryptionKeyPair.generate()
    signed = announce_key(police.identity, police.id, new_key.public, now=datetime.now(UTC))
    status, doc = await police.call("POST", "/api/v1/keys", json.dumps(signed.to_json()).encode())
    assert status == 201 and doc["fingerprint"] == new_key.fingerprint
    await notice(hub, http, text="after")
    old, new = await police.poll()
    assert old.header.recipient_key == police.keys[0].fingerprint
    assert new.header.recipient_key == new_key.fingerprint
    # A key announced in another agency's name is refused.
    forged = announce_key(
        police.identity, "idva-east", EncryptionKeyPair.generate().public, now=datetime.now(UTC)
    )
    status, doc = await police.call("POST", "/api/v1/keys", json.dumps(forged.to_json()).encode())
    assert_problem(status, doc, 401, "bad-signature")


async def test_unacknowledged_envelopes_expire_and_coordinators_are_alerted(tmp_path, http) -> None:  # type: ignore[no-untyped-def]
    async with running_hub(
        tmp_path, envelope_ttl=timedelta(seconds=1), expiry_sweep_seconds=0.2
    ) as hub:
        agent = Agent(hub, http, "police-north")
        assert (await enrol(agent, await invite(hub, http, "police-north")))[0] == 201
        await staff_call(
            hub,
            http,
            "POST",
            "/api/v1/agencies/police-north/approve",
            body={"identity_fingerprint": agent.identity.fingerprint},
        )
        [sent] = await notice(hub, http)
        assert len(await agent.poll()) == 1
        await asyncio.sleep(1.6)
        assert await agent.poll() == []
        coordinator = await hub.add_user("coord", "coordinator")
        elsewhere = await hub.add_user("south-coord", "coordinator")
        for area, user in (("north", "coord"), ("south", "south-coord")):
            await staff_call(hub, http, "POST", "/api/v1/areas", body={"id": area, "name": area})
            await staff_call(hub, http, "POST", f"/api/v1/areas/{area}/users", body={"user": user})
        path = "/api/v1/areas/north/agencies"
        await staff_call(hub, http, "POST", path, body={"agency": "police-north"})
        status, doc = await staff_call(hub, http, "GET", "/api/v1/alerts", token=coordinator)
        assert status == 200
        assert [(a["kind"], a["envelope_id"], a["agency_id"]) for a in doc["alerts"]] == [
            ("envelope-expired", sent["id"], "police-north")
        ]
        status, doc = await staff_call(hub, http, "GET", "/api/v1/alerts", token=elsewhere)
        assert status == 200 and doc["alerts"] == []  # only their areas' agencies
        async with hub.app[ENGINE].connect() as conn:
            assert await conn.scalar(select(outbox.c.status)) == "expired"


async def test_mailbox_caps_limit_and_wait_and_refuses_nonsense(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    police = await make_agency("police-north")
    for n in range(3):
        await notice(hub, http, text=f"n{n}")
    status, doc = await police.call("GET", "/api/v1/mailbox", query="limit=100000&wait=0")
    assert status == 200 and len(doc["envelopes"]) == 3
    for query in ("limit=0", "wait=-1", "wait=soon", "wait=nan"):
        status, doc = await police.call("GET", "/api/v1/mailbox", query=query)
        assert_problem(status, doc, 400, "malformed")
