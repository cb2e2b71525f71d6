"""Leased mailbox polls, the nonce in the handler's transaction, SQLite reads without the
write lock (SQLite and PostgreSQL, one in-process hub)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from scaleout_helpers import Agency, enrol_agencies, staff
from sqlalchemy import delete, select, text

from hub.crypto.receipts import sign_receipt
from hub.crypto.request_signing import WINDOW, sign_request
from hub.delivery.outbox import expire
from hub.delivery.tables import nonces, outbox, outbox_claims, receipts
from hub.protocol.messages import Receipt
from hub.storage.engine import SQLiteEngine, create_engine
from hub.testing import RunningHub, postgres_database, running_hub


@pytest.fixture(params=["sqlite", "postgresql"])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """An in-process hub on each engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        async with running_hub(tmp_path) as running:
            yield running
        return
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        async with running_hub(tmp_path, database_url=url) as running:
            yield running
    finally:
        await database.__aexit__(None, None, None)


async def _setup(hub: RunningHub, http: aiohttp.ClientSession, notices: int) -> Agency:
    (agency,) = await enrol_agencies(http, hub.url, hub.admin_token, 1, publish=False)
    for n in range(notices):
        body = {"to": agency.id, "text": f"notice {n}"}
        await staff(http, hub.url, hub.admin_token, "/api/v1/notices", body)
    return agency


async def test_a_leased_envelope_waits_for_its_lease_to_end(hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http:
        agency = await _setup(hub, http, 1)
        async with agency.client(hub.url) as client:
            (first,) = await client.poll(lease=1)
            assert await client.poll() == []  # claimed: not handed out, even without a lease
            assert await client.poll(lease=30) == []
            await asyncio.sleep(1.2)
            (again,) = await client.poll()  # the lease ended without a receipt: at least once
            assert again.header.id == first.header.id
            (third,) = await client.poll()  # a poll without a lease claims nothing
            assert (await client.acknowledge([third])).acknowledged == (first.header.id,)
            assert await client.poll() == []


async def test_concurrent_leased_polls_never_share_an_envelope(hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http:
        agency = await _setup(hub, http, 24)
        async with agency.client(hub.url) as client:
            batches = await asyncio.gather(*(client.poll(limit=4, lease=60) for _ in range(8)))
    ids = [e.header.id for batch in batches for e in batch]
    assert len(ids) == len(set(ids)) == 24


@pytest.mark.parametrize("lease", ["-1", "abc", "nan", "1e999x"])
async def test_a_bad_lease_is_refused(hub: RunningHub, lease: str) -> None:
    async with aiohttp.ClientSession() as http:
        (agency,) = await enrol_agencies(http, hub.url, hub.admin_token, 1, publish=False)
        query = f"lease={lease}"
        headers = sign_request(
            agency.identity, agency.id, "GET", "/api/v1/mailbox", query, b"", now=datetime.now(UTC)
        )
        async with http.get(f"{hub.url}/api/v1/mailbox?{query}", headers=headers) as resp:
            doc = await resp.json(content_type=None)
    assert resp.status == 400 and doc["type"].endswith("/malformed")


async def test_a_replayed_receipts_request_is_refused(hub: RunningHub) -> None:
    async with aiohttp.ClientSession() as http:
        agency = await _setup(hub, http, 1)
        async with agency.client(hub.url) as client:
            (envelope,) = await client.poll()
        receipt = Receipt(
            envelope_id=envelope.header.id,
            envelope_sha256=envelope.digest(),
            agency_id=agency.id,
            received_at=datetime.now(UTC),
        )
        body = json.dumps({"receipts": [sign_receipt(agency.identity, receipt)]}).encode()
        headers = sign_request(
            agency.identity, agency.id, "POST", "/api/v1/receipts", "", body, now=datetime.now(UTC)
        )
        headers["Content-Type"] = "application/json"
        answers = []
        for _ in range(2):
            async with http.post(f"{hub.url}/api/v1/receipts", data=body, headers=headers) as resp:
                answers.append((resp.status, await resp.json(content_type=None)))
    assert answers[0] == (200, {"acknowledged": [envelope.header.id], "already": []})
    assert answers[1][0] == 401 and answers[1][1]["type"].endswith("/replayed-request")


async def test_sqlite_reads_do_not_wait_for_the_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.begin() as writer:  # holds the write lock
            await writer.execute(text("INSERT INTO t VALUES (1)"))
            # The writer is this very task: a read that waited for it would never end.
            async with engine.connect() as reader:
                count = reader.scalar(text("SELECT count(*) FROM t"))
                assert await asyncio.wait_for(count, 60) == 0
            blocked = asyncio.create_task(_write(engine))  # a second writer waits its turn
            await asyncio.sleep(0.3)
            assert not blocked.done()
        await blocked
        async with engine.connect() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 2
    finally:
        await engine.dispose()


async def _write(engine: object) -> None:
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(text("INSERT INTO t VALUES (2)"))


async def test_a_write_that_meets_another_process_writing_waits_and_is_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # another process, as SQLite sees it
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(_write(engine))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # waiting on SQLite's lock, off the event loop
        other.execute("COMMIT")
        await asyncio.wait_for(waiting, 60)
        assert isinstance(engine, SQLiteEngine) and engine.busy_waits == 1
    finally:
        other.close()
        await engine.dispose()


async def test_sqlite_writers_of_one_process_take_turns_without_sleeping(tmp_path: Path) -> None:
    """Writers queue on the process's lock: each starts when the last commits, and none
    ever meets SQLite's lock held (where its busy handler would sleep up to 100 ms a try):
    the engine counts every write that found another connection writing."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    order: list[tuple[str, int]] = []

    async def writer(n: int) -> None:
        async with engine.begin() as conn:
            order.append(("in", n))
            await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # others are queued meanwhile
            order.append(("out", n))

    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await asyncio.gather(*(writer(n) for n in range(20)))
        # never two at once: every "in" is followed by its own "out"
        assert order == [step for _, n in order[::2] for step in (("in", n), ("out", n))]
        assert isinstance(engine, SQLiteEngine) and engine.busy_waits == 0
        async with engine.connect() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 20
    finally:
        await engine.dispose()


async def test_sqlite_writer_waits_off_the_loop_for_another_process(tmp_path: Path) -> None:
    """While another process (here, a plain sqlite3 connection) holds the write lock, a
    write transaction waits on the worker thread: the event loop keeps running, and the
    write goes through once the lock is free."""
    path = tmp_path / "db.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        blocked = asyncio.create_task(_write(engine))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not blocked.done() and ticks == 20
        other.execute("INSERT INTO t VALUES (1)")
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(blocked, 10)
        async with engine.connect() as reader:
            assert sorted(await reader.scalars(text("SELECT x FROM t"))) == [1, 2]
    finally:
        await engine.dispose()


async def test_rows_a_poll_and_receipts_write_read_back_as_sqlalchemy_writes_them(
    hub: RunningHub,
) -> None:
    """On SQLite the mailbox and receipts run on the driver (hub.storage.mailbox.sqlite):
    the nonce, lease, receipt and delivery rows they write read back through SQLAlchemy
    as the values given, and the hub's own SQLAlchemy housekeeping (nonce pruning, ended
    leases) finds them. PostgreSQL runs its asyncpg store: the same checks hold."""
    async with aiohttp.ClientSession() as http:
        agency = await _setup(hub, http, 2)
        before = datetime.now(UTC)
        async with agency.client(hub.url) as client:
            (first,) = await client.poll(limit=1, lease=30)
            ack = await client.acknowledge([first])
        after = datetime.now(UTC)
    assert ack.acknowledged == (first.header.id,)
    engine = create_engine(hub.settings.db_url)
    try:
        async with engine.connect() as conn:
            nonce_times = list(
                await conn.scalars(select(nonces.c.seen_at).where(nonces.c.agency_id == agency.id))
            )
            claim = (await conn.execute(select(outbox_claims))).one()
            receipt = (await conn.execute(select(receipts))).one()
            delivered = (
                await conn.execute(
                    select(outbox.c.status, outbox.c.delivered_at).where(
                        outbox.c.envelope_id == first.header.id
                    )
                )
            ).one()
        assert len(nonce_times) >= 2  # the poll's and the receipts'
        assert all(_aware(before) <= _aware(t) <= _aware(after) for t in nonce_times)
        assert claim.envelope_id == first.header.id and claim.agency_id == agency.id
        assert _aware(before) + timedelta(seconds=30) <= _aware(claim.until)
        assert _aware(claim.until) <= _aware(after) + timedelta(seconds=30)
        assert receipt.envelope_id == first.header.id and receipt.agency_id == agency.id
        assert _aware(before) <= _aware(receipt.stored_at) <= _aware(after)
        assert json.loads(receipt.receipt)["envelope_sha256"] == first.digest()
        assert delivered.status == "delivered"
        assert _aware(delivered.delivered_at) == _aware(receipt.stored_at)
        await expire(engine, after + timedelta(seconds=31))  # the ended lease is forgotten
        async with engine.begin() as conn:  # nonces older than the window are pruned
            old = after + 2 * WINDOW + timedelta(seconds=2)
            await conn.execute(
                delete(nonces).where(nonces.c.seen_at < old - 2 * WINDOW - timedelta(seconds=1))
            )
        async with engine.connect() as conn:
            assert (await conn.execute(select(outbox_claims))).all() == []
            assert (
                await conn.scalars(select(nonces.c.nonce).where(nonces.c.agency_id == agency.id))
            ).all() == []
    finally:
        await engine.dispose()


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
