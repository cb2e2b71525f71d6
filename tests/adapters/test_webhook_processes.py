"""Several hub processes on one PostgreSQL: each envelope is POSTed once, in order.

The hub's own dispatcher and two more (each with its own engine and connection pool, as
another process would have) race for the same outbox rows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from adapterkit import enrolled, http_receiver, make_tls, notice, receiver_for, set_delivery
from sqlalchemy import select

from hub.app.transports import registry_for
from hub.delivery.push import Dispatcher, PushSettings
from hub.delivery.tables import outbox
from hub.protocol.envelope import parse_envelope
from hub.service.appkeys import ENGINE, KEYS
from hub.storage.database import open_database
from hub.testing import RunningHub, postgres_database, running_hub

FAST = PushSettings(interval=0.01, retry_initial=0.05, retry_max=0.2, lease=10)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        async with running_hub(
            tmp_path / "hub",
            database_url=url,
            push_interval_seconds=0.01,
            delivery_allow_networks=("127.0.0.0/8",),  # the receiver is on loopback
            delivery_ca_dir=tmp_path,
        ) as running:
            yield running
    finally:
        await database.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def other_process(hub: RunningHub) -> AsyncIterator[None]:
    database = open_database(hub.settings.db_url)
    dispatcher = Dispatcher(
        database, hub.app[KEYS], hub.settings.hub_id, registry_for(hub.settings), FAST
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await database.dispose()


async def test_three_dispatchers_send_each_envelope_once_in_order(
    hub: RunningHub, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:
        agency = await enrolled(http, hub, tmp_path, "police-north")
        endpoint = receiver_for(agency, tmp_path / "sink")
        tls = make_tls(tmp_path / "tls")
        async with (
            http_receiver(tls, lambda request, _body: endpoint.handle(request)) as receiver,
            other_process(hub),
            other_process(hub),
        ):
            config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 5}
            await set_delivery(http, hub, agency.id, "webhook", config)
            sent = []
            for n in range(12):
                sent += [e["id"] for e in await notice(http, hub, f"notice {n}", to=agency.id)]
            for _ in range(400):
                async with hub.app[ENGINE].connect() as conn:
                    done = (
                        await conn.execute(
                            select(outbox.c.envelope_id).where(outbox.c.status == "delivered")
                        )
                    ).all()
                if len(done) == len(sent):
                    break
                await asyncio.sleep(0.05)
            await endpoint.drain()
    posted = [parse_envelope(body).header.id for _, body in receiver.requests]
    assert posted == sent  # every envelope once, none twice, in queue order
