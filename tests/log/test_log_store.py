"""The stored log's roots and proofs equal hub.crypto.merkle's over the same entries."""

from __future__ import annotations

import asyncio

import pytest
from log_store_entries import make_entry
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.log import append, entry_bytes, store
from hub.log.heads import sign_head
from hub.log.tables import log_blocks, log_entries, log_index, log_nodes
from hub.log.verify import LogTampered, verify_log
from hub.protocol.errors import LogIntegrityError, ProtocolError
from hub.storage.engine import create_engine


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


async def test_large_subtrees_come_from_log_nodes_and_verify_checks_them(
    engine: AsyncEngine,
) -> None:
    """Past 64 entries the level-6+ hashes are rows of log_nodes; proofs and verify use them."""
    entries = [make_entry(i) for i in range(300)]
    leaves = [entry_bytes(e) for e in entries]
    for start in range(0, 300, 37):
        async with engine.begin() as conn:
            await append(conn, entries[start : start + 37])
    identity = IdentityKeyPair.generate()
    await sign_head(engine, identity, "hub")
    async with engine.connect() as conn:
        stored = {(r.level, r.position) for r in await conn.execute(select(log_nodes))}
        # 300 = 256 + 44: past the 32-entry blocks, four 64s, two 128s and one 256
        assert stored == {(6, 0), (6, 1), (6, 2), (6, 3), (7, 0), (7, 1), (8, 0)}
        for n in (127, 128, 129, 256, 257, 300):
            assert await store.root(conn, n) == merkle.root(leaves[:n])
            for i in (0, 100, 127, n - 1):
                if i < n:
                    proof = await store.inclusion_proof(conn, i, n)
                    assert proof == merkle.inclusion_proof(leaves[:n], i)
            for old in (1, 100, 128, 129):
                if old <= n:
                    proof = await store.consistency_proof(conn, old, n)
                    assert proof == merkle.consistency_proof(leaves[:n], old)
        assert (await verify_log(conn, identity.public, "hub")).size == 300
    reader = store.ProofReader(engine)  # what the API serves proofs with: the same answers
    for n in (1, 128, 129, 300):
        assert await reader.root(n) == merkle.root(leaves[:n])
        assert await reader.inclusion_proof(n - 1, n) == merkle.inclusion_proof(leaves[:n], n - 1)
        assert await reader.consistency_proof(1, n) == merkle.consistency_proof(leaves[:n], 1)
    with pytest.raises(ProtocolError, match="the log has fewer than"):
        await reader.inclusion_proof(400, 512)
    reader.close()
    async with engine.begin() as conn:
        await conn.execute(
            update(log_nodes)
            .where(log_nodes.c.level == 7, log_nodes.c.position == 1)
            .values(hash=bytes(32))
        )
    async with engine.connect() as conn:
        with pytest.raises(LogTampered, match="entries 128 to 255") as caught:
            await verify_log(conn, identity.public, "hub")
        assert caught.value.index == 128
        # a proof built on it no longer matches the signed root: clients catch it too
        proof = await store.inclusion_proof(conn, 0, 300)  # its path passes [128, 256)
        assert not merkle.verify_inclusion(
            merkle.leaf_hash(leaves[0]), 0, 300, proof, merkle.root(leaves)
        )
    async with engine.begin() as conn:
        await conn.execute(delete(log_nodes).where(log_nodes.c.level == 7))
    async with engine.connect() as conn:
        with pytest.raises(LogTampered, match="entries 0 to 127"):
            await verify_log(conn, identity.public, "hub")
        with pytest.raises(LogIntegrityError, match="lacks the hash of entries from 128"):
            await store.inclusion_proof(conn, 5, 300)
    # a reader may keep the (immutable) rows it has read; a fresh one finds the hole
    fresh = store.ProofReader(engine)
    try:
        with pytest.raises(LogIntegrityError, match="lacks the hash of entries from 128"):
            await fresh.inclusion_proof(5, 300)
    finally:
        fresh.close()


async def test_verify_names_damaged_or_missing_blocks(engine: AsyncEngine) -> None:
    entries = [make_entry(i) for i in range(200)]
    async with engine.begin() as conn:
        await append(conn, entries)
    identity = IdentityKeyPair.generate()
    await sign_head(engine, identity, "hub")
    damage = {
        "malformed": (
            update(log_blocks).where(log_blocks.c.block == 1).values(hashes=b"short"),
            "entries from 32 are malformed",
        ),
        "missing": (
            delete(log_blocks).where(log_blocks.c.block == 2),
            "hashes of entries from 64 are missing",
        ),
        "extra": (
            log_blocks.insert().values(block=9, size=1, hashes=bytes(32)),
            "hashes are stored for entries from 288",
        ),
    }
    for statement, message in damage.values():
        async with engine.connect() as conn:
            saved = [dict(r._mapping) for r in await conn.execute(select(log_blocks))]
        async with engine.begin() as conn:
            await conn.execute(statement)
        async with engine.connect() as conn:
            with pytest.raises(LogTampered, match=message):
                await verify_log(conn, identity.public, "hub")
        async with engine.begin() as conn:
            await conn.execute(delete(log_blocks))
            await conn.execute(log_blocks.insert(), saved)
    async with engine.connect() as conn:
        assert (await verify_log(conn, identity.public, "hub")).size == 200


async def test_search_rows_are_stored_as_sqlalchemy_would_store_them(engine: AsyncEngine) -> None:
    """append writes log_index rows on the driver; the stored values equal SQLAlchemy's own."""
    async with engine.begin() as conn:
        await append(conn, [make_entry(0)])
    rows = store.Prepared()
    store.index_rows(1, make_entry(0).model_copy(update={"envelope_id": "X" * 26}), rows)
    async with engine.begin() as conn:
        await conn.execute(log_index.insert(), rows.index)
    async with engine.connect() as conn:
        stored = (
            await conn.exec_driver_sql("SELECT at, override, kind FROM log_index ORDER BY idx")
        ).all()
    assert stored[0] == stored[1]
