"""Receipts group-committed on SQLite (``hub.storage.mailbox.sqlite``): the batches that
arrive together share one durable transaction, each in its own savepoint, and each still
stands or falls alone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Agent, assert_problem, staff_call
from sqlalchemy import func, select

from hub.agencies import Agency, get_agency
from hub.crypto.receipts import parse_signed_receipt
from hub.delivery.outbox import acknowledge
from hub.delivery.tables import nonces, outbox, receipts
from hub.protocol import Envelope
from hub.protocol.errors import CryptoError, HubError
from hub.service.appkeys import ENGINE, RUNTIME
from hub.storage.mailbox.sqlite import SQLiteMailbox
from hub.testing import RunningHub


@pytest.fixture
def mailbox(hub: RunningHub):  # type: ignore[no-untyped-def]
    found = hub.app[RUNTIME].mailbox
    if not isinstance(found, SQLiteMailbox):
        pytest.skip("group commit is the SQLite hot path; PostgreSQL stores each batch alone")
    return found


async def _queued(hub: RunningHub, http: Any, agents: list[Agent], notices: int) -> None:
    for n in range(notices):
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/notices", body={"to": "all", "text": f"notice {n}"}
        )
        assert status == 202, doc


async def _agency(hub: RunningHub, agent: Agent) -> Agency:
    async with hub.app[ENGINE].connect() as conn:
        agency = await get_agency(conn, agent.id)
    assert agency is not None
    return agency


async def _store(
    hub: RunningHub, agent: Agent, agency: Agency, envelopes: list[Envelope], nonce: str
) -> tuple[list[str], list[str]]:
    """``acknowledge`` as the receipts route calls it, with the request's nonce."""
    signed = [parse_signed_receipt(agent.receipt(e)) for e in envelopes]
    now = datetime.now(UTC)
    result = await acknowledge(
        hub.app[RUNTIME].mailbox, agency, signed, now=now, nonce=(agent.id, nonce, now)
    )
    return result.acknowledged, result.already


async def _count(hub: RunningHub, table: Any, **where: str) -> int:
    async with hub.app[ENGINE].connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return int(await conn.scalar(query) or 0)


async def test_batches_that_arrive_together_share_one_commit(
    hub: RunningHub, http, make_agency, mailbox
) -> None:  # type: ignore[no-untyped-def]
    agents = [await make_agency(f"agency-{i}") for i in range(4)]
    await _queued(hub, http, agents, 3)
    polled = [await a.poll() for a in agents]
    known = [await _agency(hub, a) for a in agents]
    before = mailbox.commits
    results = await asyncio.gather(
        *(
            _store(hub, a, agency, got, f"nonce-{a.id}")
            for a, agency, got in zip(agents, known, polled, strict=True)
        )
    )
    assert mailbox.commits == before + 1  # four agencies' batches, one durable commit
    for got, (acknowledged, already) in zip(polled, results, strict=True):
        assert acknowledged == [e.header.id for e in got] and already == []
    assert await _count(hub, receipts) == 12
    assert await _count(hub, outbox, status="delivered") == 12


async def test_a_failing_batch_rolls_back_alone(
    hub: RunningHub, http, make_agency, mailbox
) -> None:  # type: ignore[no-untyped-def]
    good, bad, again = [await make_agency(n) for n in ("good", "bad", "again")]
    await _queued(hub, http, [good, bad, again], 2)
    mine, theirs, later = await good.poll(), await bad.poll(), await again.poll()
    a_good, a_bad, a_again = [await _agency(hub, a) for a in (good, bad, again)]
    before = mailbox.commits
    results = await asyncio.gather(
        _store(hub, good, a_good, mine, "n-good"),
        _store(hub, bad, a_bad, theirs + mine[:1], "n-bad"),  # another agency's envelope
        _store(hub, again, a_again, later, "n-again"),
        _store(hub, again, a_again, later, "n-again"),  # the same request, replayed
        return_exceptions=True,
    )
    assert mailbox.commits == before + 1
    assert results[0] == ([e.header.id for e in mine], [])
    assert isinstance(results[1], HubError) and results[1].code == "unknown-envelope"
    assert results[2] == ([e.header.id for e in later], [])
    assert isinstance(results[3], CryptoError) and results[3].code == "replayed-request"
    # The failed batch left nothing: no receipt, no status change, not even its nonce.
    assert await _count(hub, receipts, agency_id="bad") == 0
    assert await _count(hub, outbox, agency_id="bad", status="queued") == 2
    assert await _count(hub, nonces, nonce="n-bad") == 0
    assert await _count(hub, nonces, nonce="n-again") == 1
    assert await _count(hub, receipts) == 4


async def test_concurrent_acknowledgements_over_http(hub: RunningHub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    """Through the API, on both engines: every agency's receipts stored exactly once."""
    agents = [await make_agency(f"agency-{i}") for i in range(5)]
    await _queued(hub, http, agents, 4)
    polled = [await a.poll() for a in agents]
    answers = await asyncio.gather(*(a.ack(got) for a, got in zip(agents, polled, strict=True)))
    for got, (status, doc) in zip(polled, answers, strict=True):
        assert status == 200, doc
        assert doc == {"acknowledged": [e.header.id for e in got], "already": []}
    assert await _count(hub, receipts) == 20
    for agent in agents:
        assert await agent.poll() == []
    status, doc = await agents[0].call(  # a repeat is "already", in its own transaction
        "POST",
        "/api/v1/receipts",
        json.dumps({"receipts": [agents[0].receipt(polled[0][0])]}).encode(),
    )
    assert status == 200 and doc == {"acknowledged": [], "already": [polled[0][0].header.id]}
    status, doc = await agents[1].call(
        "POST",
        "/api/v1/receipts",
        json.dumps({"receipts": [agents[1].receipt(polled[0][0])]}).encode(),
    )
    assert_problem(status, doc, 404, "unknown-envelope")


async def test_a_failed_commit_fails_every_batch_in_it(
    hub: RunningHub, http, make_agency, mailbox
) -> None:  # type: ignore[no-untyped-def]
    """If the shared commit fails, no batch in it is stored and every request gets the
    error (here a foreign key checked only at COMMIT, as a damaged write would be)."""
    agent = await make_agency("agency-a")
    await _queued(hub, http, [agent], 2)
    got = await agent.poll()
    agency = await _agency(hub, agent)

    async def broken() -> None:
        async with mailbox._grouped() as db:
            db.execute("PRAGMA defer_foreign_keys=ON")
            db.execute(
                "INSERT INTO receipts (envelope_id, agency_id, received_at, stored_at, "
                "receipt, signature) VALUES ('no-such-envelope', 'agency-a', '', '', '{}', x'00')"
            )

    results = await asyncio.gather(
        _store(hub, agent, agency, got, "n-1"), broken(), return_exceptions=True
    )
    assert all(isinstance(r, Exception) and "FOREIGN KEY" in str(r) for r in results), results
    assert await _count(hub, receipts) == 0
    assert await _count(hub, outbox, status="queued") == 2
    assert await _count(hub, nonces, nonce="n-1") == 0
    assert await agent.ack(got) == (
        200,
        {"acknowledged": [e.header.id for e in got], "already": []},
    )
