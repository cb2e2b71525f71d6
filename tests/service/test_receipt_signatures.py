"""A large batch of receipts is verified in the signature checker's helper process; over
HTTP it is accepted or refused exactly as when verified inline, on both engines."""

from __future__ import annotations

import json
from typing import Any

from conftest import Agent, assert_problem, staff_call
from sqlalchemy import func, select

from hub.crypto.keys import IdentityKeyPair
from hub.crypto.receipts import sign_receipt
from hub.delivery.tables import outbox, receipts
from hub.protocol import Envelope
from hub.protocol.messages import Receipt
from hub.service.appkeys import CHECKER, ENGINE
from hub.testing import RunningHub

BATCH = 12  # over the helper's threshold (signature_helper_batch, 8)


async def _envelopes(hub: RunningHub, http: Any, agent: Agent) -> list[Envelope]:
    for n in range(BATCH):
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/notices", body={"to": agent.id, "text": f"notice {n}"}
        )
        assert status == 202, doc
    envelopes = await agent.poll(limit=BATCH)
    assert len(envelopes) == BATCH
    return envelopes


async def _stored(hub: RunningHub) -> tuple[int, int]:
    async with hub.app[ENGINE].connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(receipts))
        delivered = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "delivered")
        )
    return stored or 0, delivered or 0


async def test_a_large_valid_batch_is_verified_by_the_helper(
    hub: RunningHub, http: Any, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    envelopes = await _envelopes(hub, http, agent)
    status, doc = await agent.ack(envelopes)
    assert status == 200, doc
    assert sorted(doc["acknowledged"]) == sorted(e.header.id for e in envelopes)
    assert hub.app[CHECKER].sent == 1  # the helper verified it, not the event loop
    assert await _stored(hub) == (BATCH, BATCH)


async def test_one_forged_receipt_refuses_the_whole_large_batch(
    hub: RunningHub, http: Any, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    envelopes = await _envelopes(hub, http, agent)
    signed = [agent.receipt(e) for e in envelopes]
    forged = Receipt.model_validate({**signed[7]["receipt"]})
    signed[7] = sign_receipt(IdentityKeyPair.generate(), forged)  # not the agency's key
    body = json.dumps({"receipts": signed}).encode()
    status, doc = await agent.call("POST", "/api/v1/receipts", body)
    assert_problem(status, doc, 400, "bad-receipt")
    assert "envelope" not in doc["detail"] and "police-north" not in doc["detail"]
    assert hub.app[CHECKER].sent == 1  # refused on the helper's answer
    assert await _stored(hub) == (0, 0)  # nothing stored, nothing marked delivered
    status, doc = await agent.ack(envelopes)  # the honest batch still goes through
    assert status == 200, doc
    assert await _stored(hub) == (BATCH, BATCH)


async def test_a_small_batch_never_starts_the_helper(
    hub: RunningHub, http: Any, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    envelopes = await _envelopes(hub, http, agent)
    for envelope in envelopes[:3]:
        status, doc = await agent.ack([envelope])
        assert status == 200, doc
    checker = hub.app[CHECKER]
    assert checker.sent == 0 and not checker.running
