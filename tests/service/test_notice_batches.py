"""Notices sent at the same moment are committed together (``hub.app.notices``):
each caller still gets exactly its own outcomes or its own error, and nothing of a failed
notice is queued or logged."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from conftest import Agent, assert_problem, staff_call
from sqlalchemy import func, select

from hub.app.actor import operator
from hub.crypto.sealing import open_envelope
from hub.delivery.settings import DeliverySettings, set_delivery
from hub.delivery.tables import outbox
from hub.disclosure import Disclosed
from hub.disclosure.extracts import NoticeOrder
from hub.log.tables import log_index
from hub.protocol.errors import PROBLEM_TYPES, DeliveryError, HubError, ProtocolError
from hub.service.appkeys import ENGINE, NOTICES
from hub.testing import RunningHub

ADMIN = operator("a")  # an admin: a notice without a case may go to any agency


async def _rows(hub: RunningHub, agency_id: str) -> tuple[int, int]:
    """(outbox rows, disclosure log entries) for ``agency_id``."""
    async with hub.app[ENGINE].connect() as conn:
        queued = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.agency_id == agency_id)
        )
        logged = await conn.scalar(
            select(func.count())
            .select_from(log_index)
            .where(log_index.c.agency == agency_id, log_index.c.kind == "disclosure")
        )
    return int(queued or 0), int(logged or 0)


async def _texts(hub: RunningHub, agent: Agent) -> Counter[str]:
    """The notice texts in ``agent``'s mailbox, opened and verified."""
    found: Counter[str] = Counter()
    for envelope in await agent.poll(limit=100):
        opened = open_envelope(envelope, recipient=agent.keys[-1], sender=hub.keys.identity.public)
        found[str(opened.payload["text"])] += 1
    return found


async def test_notices_sent_together_share_one_transaction(
    hub: RunningHub, make_agency, http
) -> None:  # type: ignore[no-untyped-def]
    agents = [await make_agency(f"agency-{i}") for i in range(3)]
    sender = hub.app[NOTICES]
    before = sender.batches
    orders = [NoticeOrder("all", f"notice {n}", None, ADMIN.log_name) for n in range(5)]
    results = await asyncio.gather(*(sender.send(ADMIN, order) for order in orders))
    assert sender.batches == before + 1  # five notices, one commit
    ids = [o.envelope_id for outcomes in results for o in outcomes if isinstance(o, Disclosed)]
    assert len(ids) == len(set(ids)) == 15
    for outcomes in results:  # each caller got its own notice's three outcomes
        assert sorted(o.agency_id for o in outcomes) == [a.id for a in agents]
    for agent in agents:
        assert await _texts(hub, agent) == Counter(f"notice {n}" for n in range(5))
        assert await _rows(hub, agent.id) == (5, 5)


async def test_concurrent_posts_each_get_their_own_envelopes(
    hub: RunningHub, make_agency, http
) -> None:  # type: ignore[no-untyped-def]
    agents = [await make_agency(f"agency-{i}") for i in range(2)]

    async def post(n: int) -> tuple[int, dict[str, object]]:
        return await staff_call(
            hub, http, "POST", "/api/v1/notices", body={"to": "all", "text": f"notice {n}"}
        )

    answers = await asyncio.gather(*(post(n) for n in range(8)))
    assert all(status == 202 for status, _ in answers), answers
    ids = [e["id"] for _, doc in answers for e in doc["envelopes"]]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == 16
    for agent in agents:
        assert await _texts(hub, agent) == Counter(f"notice {n}" for n in range(8))


async def test_a_failing_notice_fails_alone(hub: RunningHub, make_agency, http) -> None:  # type: ignore[no-untyped-def]
    good = await make_agency("agency-good")
    broken = await make_agency("agency-broken")
    async with hub.app[ENGINE].begin() as conn:  # a format no longer installed: sealing fails
        await set_delivery(
            conn, broken.id, DeliverySettings(format="gone-format"), now=datetime.now(UTC), by="t"
        )
    sender = hub.app[NOTICES]
    orders = [
        NoticeOrder(good.id, "first", None, ADMIN.log_name),
        NoticeOrder("no-such-agency", "to nobody", None, ADMIN.log_name),
        NoticeOrder(broken.id, "unrenderable", None, ADMIN.log_name),
        NoticeOrder(good.id, "second", None, ADMIN.log_name),
    ]
    results = await asyncio.gather(*(sender.send(ADMIN, o) for o in orders), return_exceptions=True)
    assert [o.agency_id for o in results[0]] == [good.id]  # type: ignore[union-attr]
    assert isinstance(results[1], HubError) and results[1].code == "not-found"
    assert isinstance(results[2], DeliveryError) and results[2].code == "unknown-format"
    assert [o.agency_id for o in results[3]] == [good.id]  # type: ignore[union-attr]
    assert await _texts(hub, good) == Counter(["first", "second"])
    assert await _rows(hub, good.id) == (2, 2)
    assert await _rows(hub, broken.id) == (0, 0)  # nothing queued, nothing logged
    assert await _rows(hub, "no-such-agency") == (0, 0)

    status, doc = await staff_call(  # over HTTP, the same error as a problem
        hub, http, "POST", "/api/v1/notices", body={"to": broken.id, "text": "again"}
    )
    assert_problem(status, doc, PROBLEM_TYPES["unknown-format"].status, "unknown-format")
    assert await _rows(hub, broken.id) == (0, 0)


async def test_a_bad_text_is_refused_before_joining_a_batch(hub: RunningHub) -> None:
    sender = hub.app[NOTICES]
    before = sender.batches
    with pytest.raises(ProtocolError):
        await sender.send(ADMIN, NoticeOrder("all", "", None, ADMIN.log_name))
    with pytest.raises(ProtocolError):
        await sender.send(ADMIN, NoticeOrder("all", "x" * 20_001, None, ADMIN.log_name))
    assert sender.batches == before


async def test_a_caller_that_goes_away_does_not_cancel_the_batch(
    hub: RunningHub, make_agency
) -> None:  # type: ignore[no-untyped-def]
    agent = await make_agency("agency-a")
    sender = hub.app[NOTICES]
    gone = asyncio.ensure_future(
        sender.send(ADMIN, NoticeOrder("all", "left", None, ADMIN.log_name))
    )
    kept = asyncio.ensure_future(
        sender.send(ADMIN, NoticeOrder("all", "kept", None, ADMIN.log_name))
    )
    await asyncio.sleep(0)
    gone.cancel()  # the request was dropped after joining the queue
    outcomes = await kept
    assert [o.agency_id for o in outcomes] == [agent.id]
    with pytest.raises(asyncio.CancelledError):
        await gone
    # The dropped caller's notice was already in the shared transaction: it is committed,
    # logged and delivered like the other (as a dropped request after commit always was).
    assert await _texts(hub, agent) == Counter(["left", "kept"])
