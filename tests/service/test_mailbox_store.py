"""The mailbox store (``hub.storage.mailbox``), one suite for both implementations: SQLite
on ``sqlite3`` and PostgreSQL on asyncpg. The agency and the mailbox looks read what
SQLAlchemy reads; a nonce is kept with its look and refused when replayed; a lease hands
each envelope to one look at a time; receipts are checked and stored once. And the
PostgreSQL pool keeps its connections instead of opening and closing overflow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import staff_call
from sqlalchemy import func, select

from hub.agencies import agency_from_row, get_agency
from hub.crypto.receipts import parse_signed_receipt, sign_receipt
from hub.delivery.outbox import acknowledge
from hub.delivery.tables import nonces, outbox, outbox_claims, receipts
from hub.protocol.errors import CryptoError, HubError, ProtocolError
from hub.service.appkeys import ENGINE, RUNTIME
from hub.storage.engine import POOL_SIZE
from hub.storage.mailbox import MailboxStore
from hub.storage.mailbox.postgres import PostgresMailbox
from hub.storage.mailbox.sqlite import SQLiteMailbox
from hub.testing import RunningHub

pytestmark = pytest.mark.parametrize("hub", ["sqlite", "postgresql"], indirect=True)  # conftest's


@pytest.fixture
def store(hub: RunningHub) -> MailboxStore:
    """The store the hub chose when it opened its database: one a database, never asked
    for again."""
    found: MailboxStore = hub.app[RUNTIME].mailbox
    expected = SQLiteMailbox if hub.app[ENGINE].dialect.name == "sqlite" else PostgresMailbox
    assert type(found) is expected
    return found


async def test_the_agency_is_the_one_sqlalchemy_reads(
    hub: RunningHub, store: MailboxStore, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    async with hub.app[ENGINE].connect() as conn:
        expected = await get_agency(conn, agent.id)
    row = await store.agency(agent.id)
    assert row is not None and agency_from_row(row) == expected
    assert await store.agency("nobody") is None


async def _reference(hub: RunningHub, agency_id: str) -> list[bytes]:
    """The agency's queued envelopes, oldest first, read through SQLAlchemy."""
    query = (
        select(outbox.c.envelope)
        .where(outbox.c.agency_id == agency_id, outbox.c.status == "queued")
        .order_by(outbox.c.seq)
    )
    async with hub.app[ENGINE].connect() as conn:
        return [bytes(e) for e in (await conn.execute(query)).scalars()]


async def _sent(hub: RunningHub, http: Any, agency_id: str, count: int) -> None:
    for n in range(count):
        body = {"to": agency_id, "text": f"notice {n}"}
        status, doc = await staff_call(hub, http, "POST", "/api/v1/notices", body=body)
        assert status == 202, doc


async def test_a_look_keeps_its_nonce_and_a_replay_is_refused(
    hub: RunningHub, http: Any, store: MailboxStore, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    await _sent(hub, http, agent.id, 3)
    engine, now = hub.app[ENGINE], datetime.now(UTC)
    expected = await _reference(hub, agent.id)
    assert len(expected) == 3
    nonce = (agent.id, "n-0001", now)
    assert await store.look(agent.id, 10, now, nonce=nonce) == expected
    assert await store.look(agent.id, 2, now) == expected[:2]  # no nonce, oldest first
    with pytest.raises(CryptoError) as info:
        await store.look(agent.id, 10, now, nonce=nonce)
    assert info.value.code == "replayed-request"
    with pytest.raises(CryptoError):  # with a lease too: nothing claimed
        await store.look(agent.id, 10, now, lease=30, nonce=nonce)
    async with engine.connect() as conn:
        assert (await conn.execute(select(outbox_claims))).all() == []
    async with engine.connect() as conn:
        kept = await conn.scalar(
            select(func.count()).select_from(nonces).where(nonces.c.nonce == "n-0001")
        )
    assert kept == 1


async def test_a_lease_hands_each_envelope_to_one_look_until_it_ends(
    hub: RunningHub, http: Any, store: MailboxStore, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    await _sent(hub, http, agent.id, 5)
    expected = await _reference(hub, agent.id)
    now = datetime.now(UTC)
    first = await store.look(agent.id, 2, now, lease=30)
    assert first == expected[:2]
    second = await store.look(agent.id, 10, now, lease=30, nonce=(agent.id, "n-lease", now))
    assert second == expected[2:]  # the first look's envelopes are leased
    assert await store.look(agent.id, 10, now, lease=30) == []  # everything is leased
    assert await store.look(agent.id, 10, now) == []  # a plain look skips leases too
    later = now + timedelta(seconds=31)
    assert await store.look(agent.id, 10, later, lease=30) == expected  # leases ended


async def test_concurrent_leased_looks_never_hand_out_one_envelope_twice(
    hub: RunningHub, http: Any, store: MailboxStore, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    await _sent(hub, http, agent.id, 12)
    now = datetime.now(UTC)
    looks = await asyncio.gather(*(store.look(agent.id, 4, now, lease=30) for _ in range(6)))
    handed = [e for batch in looks for e in batch]
    assert len(handed) == len(set(handed)) == 12


async def test_a_burst_of_checkouts_waits_for_the_pool_instead_of_growing_it(
    hub: RunningHub, store: MailboxStore
) -> None:
    if not isinstance(store, PostgresMailbox):
        pytest.skip("a PostgreSQL pool's behaviour (SQLite has one writer connection)")
    engine = hub.app[ENGINE]
    held, most = 0, 0

    async def hold() -> None:
        nonlocal held, most
        async with engine.connect() as conn:
            await conn.get_raw_connection()
            held += 1
            most = max(most, held)
            await asyncio.sleep(0.05)
            held -= 1

    await asyncio.gather(*(hold() for _ in range(POOL_SIZE + 15)))
    assert most <= POOL_SIZE  # the rest waited their turn: no connection opened and closed
    assert engine.pool.size() == POOL_SIZE and engine.pool.overflow() <= 0


async def _acknowledge(
    hub: RunningHub, agent: Any, envelopes: list[Any], nonce: str | None, **change: Any
) -> Any:
    async with hub.app[ENGINE].connect() as conn:
        agency = await get_agency(conn, agent.id)
    signed = [parse_signed_receipt(agent.receipt(e)) for e in envelopes]
    if change:
        receipt, _ = signed[0]
        forged = receipt.model_copy(update=change)
        signed[0] = parse_signed_receipt(sign_receipt(agent.identity, forged))
    now = datetime.now(UTC)
    assert agency is not None
    return await acknowledge(
        hub.app[RUNTIME].mailbox,
        agency,
        signed,
        now=now,
        nonce=(agent.id, nonce, now) if nonce else None,
    )


async def test_receipts_are_stored_once_and_checked(
    hub: RunningHub, http: Any, store: MailboxStore, make_agency: Any
) -> None:
    agent, envelopes = await _polled(hub, http, make_agency, 3)
    ids = sorted(e.header.id for e in envelopes)
    with pytest.raises(ProtocolError) as bad:  # a hash that is not the envelope's
        await _acknowledge(hub, agent, envelopes, "r-1", envelope_sha256="0" * 64)
    assert bad.value.code == "bad-receipt"
    with pytest.raises(HubError) as unknown:  # an envelope that is not this agency's
        await _acknowledge(hub, agent, envelopes, "r-2", envelope_id="01" + "0" * 24)
    assert unknown.value.code == "unknown-envelope"
    assert await _count(hub, receipts) == 0  # refused batches store nothing ...
    assert await _count(hub, nonces) == 1  # ... nor their nonce (only the poll's is kept)
    first = await _acknowledge(hub, agent, envelopes, "r-3")
    assert sorted(first.acknowledged) == ids and first.already == []
    with pytest.raises(CryptoError) as replay:
        await _acknowledge(hub, agent, envelopes, "r-3")
    assert replay.value.code == "replayed-request"
    again = await _acknowledge(hub, agent, envelopes, "r-4")
    assert again.acknowledged == [] and sorted(again.already) == ids
    assert await _count(hub, receipts) == 3


async def test_two_requests_acknowledging_at_once_store_each_receipt_once(
    hub: RunningHub, http: Any, store: MailboxStore, make_agency: Any
) -> None:
    agent, envelopes = await _polled(hub, http, make_agency, 5)
    results = await asyncio.gather(
        *(_acknowledge(hub, agent, envelopes, f"c-{k}") for k in range(4))
    )
    stored = [i for r in results for i in r.acknowledged]
    assert sorted(stored) == sorted(e.header.id for e in envelopes)  # each exactly once
    assert all(sorted(r.acknowledged + r.already) == sorted(stored) for r in results)
    assert await _count(hub, receipts) == 5


async def _polled(hub: RunningHub, http: Any, make_agency: Any, count: int) -> tuple[Any, Any]:
    """An agency and the ``count`` notices it was sent, polled."""
    agent = await make_agency("police-north")
    for n in range(count):
        body = {"to": agent.id, "text": f"notice {n}"}
        status, doc = await staff_call(hub, http, "POST", "/api/v1/notices", body=body)
        assert status == 202, doc
    envelopes = await agent.poll()
    assert len(envelopes) == count
    return agent, envelopes


async def _count(hub: RunningHub, table: Any) -> int:
    async with hub.app[ENGINE].connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)
