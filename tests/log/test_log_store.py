"""The stored log's roots and proofs equal hub.crypto.merkle's over the same entries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.crypto import merkle
from hub.log import LogEntry, append, entry_bytes, store
from hub.log.tables import log_entries, log_index
from hub.protocol.errors import ProtocolError
from hub.storage.database import create_engine

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def make_entry(n: int) -> LogEntry:
    return LogEntry(
        kind="disclosure",
        at=AT,
        actor="hub",
        envelope_id=f"ENV{n:023d}",
        recipient=f"agency-{n % 3}",
        purpose="agenda",
        case_refs=(f"C-{n % 5}",),
        data_categories=("identity", "risk"),
    )


async def test_roots_and_proofs_match_merkle_for_many_sizes(engine: AsyncEngine) -> None:
    entries = [make_entry(i) for i in range(70)]
    leaves = [entry_bytes(e) for e in entries]
    batches = [1, 2, 3, 1, 7, 8, 16, 1, 31]  # sums to 70
    done = 0
    for batch in batches:
        async with engine.begin() as conn:
            assert await append(conn, entries[done : done + batch]) == list(
                range(done, done + batch)
            )
        done += batch
    assert done == len(entries)
    async with engine.connect() as conn:
        assert await store.size(conn) == 70
        for n in (*range(18), 31, 32, 33, 63, 64, 65, 70):
            r = await store.root(conn, n)
            assert r == merkle.root(leaves[:n])
            for old in range(n + 1):
                proof = await store.consistency_proof(conn, old, n)
                assert proof == merkle.consistency_proof(leaves[:n], old)
                assert merkle.verify_consistency(old, n, merkle.root(leaves[:old]), r, proof)
        for n in (1, 2, 5, 16, 33, 64, 70):
            r = merkle.root(leaves[:n])
            for i in range(n):
                proof = await store.inclusion_proof(conn, i, n)
                assert proof == merkle.inclusion_proof(leaves[:n], i)
                assert merkle.verify_inclusion(merkle.leaf_hash(leaves[i]), i, n, proof, r)
        assert await store.index_of_envelope(conn, f"ENV{41:023d}") == 41
        assert await store.index_of_envelope(conn, "nothing") is None
        assert await store.entry(conn, 3) == leaves[3]
        assert await store.entry(conn, 70) is None


async def test_proof_requests_out_of_range_are_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await append(conn, [make_entry(i) for i in range(5)])
    async with engine.connect() as conn:
        for call in (
            store.inclusion_proof(conn, 5, 5),
            store.inclusion_proof(conn, -1, 5),
            store.inclusion_proof(conn, 0, 6),
            store.consistency_proof(conn, 3, 2),
            store.consistency_proof(conn, 2, 9),
            store.root(conn, 6),
        ):
            with pytest.raises(ProtocolError):
                await call


async def test_a_rolled_back_transaction_leaves_no_entry_and_no_node(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await append(conn, [make_entry(i) for i in range(3)])

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with engine.begin() as conn:
            await append(conn, [make_entry(i) for i in range(3, 9)])
            raise Boom
    async with engine.connect() as conn:
        assert await store.size(conn) == 3
        assert await conn.scalar(select(func.count()).select_from(log_index)) == 3
        assert await conn.scalar(select(func.count()).select_from(log_entries)) == 3
    async with engine.begin() as conn:  # the next append carries on from 3
        assert await append(conn, [make_entry(i) for i in range(3, 9)]) == list(range(3, 9))
    async with engine.connect() as conn:
        leaves = [entry_bytes(make_entry(i)) for i in range(9)]
        assert await store.root(conn, 9) == merkle.root(leaves)


async def test_concurrent_appends_keep_one_gapless_sequence(
    engine: AsyncEngine, db_url: str
) -> None:
    second = create_engine(db_url)  # a second engine: another process's connection pool

    async def writer(eng: AsyncEngine, base: int) -> list[int]:
        got: list[int] = []
        for i in range(6):
            async with eng.begin() as conn:
                got += await append(conn, [make_entry(base + i), make_entry(base + 100 + i)])
        return got

    try:
        results = await asyncio.gather(
            *(writer(engine if k % 2 else second, k * 1000) for k in range(4))
        )
    finally:
        await second.dispose()
    indices = sorted(i for r in results for i in r)
    assert indices == list(range(48))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))).all()
        leaves = [bytes(r.entry) for r in rows]
        assert await store.root(conn, 48) == merkle.root(leaves)
        for i in (0, 17, 47):
            proof = await store.inclusion_proof(conn, i, 48)
            assert proof == merkle.inclusion_proof(leaves, i)
