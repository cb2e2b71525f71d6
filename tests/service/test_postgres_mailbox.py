"""PostgreSQL's hot path on asyncpg (``hub.delivery.postgres_mailbox``): the agency and the
mailbox looks read what SQLAlchemy reads, a nonce is kept with its look and refused when
replayed; and the pool keeps its connections instead of opening and closing overflow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import staff_call
from sqlalchemy import func, select

from hub.agencies import get_agency
from hub.delivery.outbox import claim, look
from hub.delivery.postgres_mailbox import PostgresMailbox, postgres_mailbox
from hub.protocol.errors import CryptoError
from hub.service.appkeys import ENGINE
from hub.storage.database import POOL_SIZE
from hub.storage.tables import nonces
from hub.testing import RunningHub

pytestmark = pytest.mark.parametrize("hub", ["postgresql"], indirect=True)  # conftest's


@pytest.fixture
def pg(hub: RunningHub) -> PostgresMailbox:
    found = postgres_mailbox(hub.app[ENGINE])
    assert found is not None  # SQLite files have their own (hub.delivery.sqlite_mailbox)
    return found


async def test_the_agency_is_the_one_sqlalchemy_reads(
    hub: RunningHub, pg: PostgresMailbox, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    async with hub.app[ENGINE].connect() as conn:
        expected = await get_agency(conn, agent.id)
    assert await pg.agency(agent.id) == expected
    assert await pg.agency("nobody") is None


async def test_a_look_keeps_its_nonce_and_a_replay_is_refused(
    hub: RunningHub, http: Any, pg: PostgresMailbox, make_agency: Any
) -> None:
    agent = await make_agency("police-north")
    for n in range(3):
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/notices", body={"to": agent.id, "text": f"notice {n}"}
        )
        assert status == 202, doc
    engine, now = hub.app[ENGINE], datetime.now(UTC)
    async with engine.connect() as conn:
        expected = await claim(conn, agent.id, 10, now)  # SQLAlchemy's statement
    assert len(expected) == 3
    nonce = (agent.id, "n-0001", now)
    assert await look(engine, agent.id, 10, now, nonce=nonce) == expected
    assert await look(engine, agent.id, 2, now) == expected[:2]  # no nonce, oldest first
    with pytest.raises(CryptoError) as info:
        await look(engine, agent.id, 10, now, nonce=nonce)
    assert info.value.code == "replayed-request"
    async with engine.connect() as conn:
        kept = await conn.scalar(
            select(func.count()).select_from(nonces).where(nonces.c.nonce == "n-0001")
        )
    assert kept == 1


async def test_a_burst_of_checkouts_waits_for_the_pool_instead_of_growing_it(
    hub: RunningHub, pg: PostgresMailbox
) -> None:
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
