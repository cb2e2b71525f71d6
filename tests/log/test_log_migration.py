"""Migration 0009: a log written in the 0002 layout is carried over whole and still verifies."""

from __future__ import annotations

from typing import Any

from alembic import command
from log_store_entries import AT, make_entry
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import sign_tree_head
from hub.log import entry_bytes, store
from hub.log.search import LogQuery, search
from hub.log.verify import verify_log
from hub.storage.engine import create_engine
from hub.storage.schema import _alembic_config

SIZE = 300  # past 256: subtrees of levels 7 and 8 exist


def _old_layout(conn: Connection) -> tuple[list[bytes], IdentityKeyPair]:
    """Migrate to 0008 and write a log as the 0002 tables held it (every node a row)."""
    entries = [make_entry(i) for i in range(SIZE)]
    data = [entry_bytes(e) for e in entries]
    identity = IdentityKeyPair.generate()
    head = sign_tree_head(identity, "hub", SIZE, merkle.root(data), AT)
    command.upgrade(_alembic_config(conn), "0008")
    levels = [[merkle.leaf_hash(d) for d in data]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    for i, (entry, raw) in enumerate(zip(entries, data, strict=True)):
        conn.execute(
            text(
                "INSERT INTO log_entries (idx, entry, leaf_hash, kind, at, agency, purpose, "
                "envelope_id, override) VALUES (:i, :e, :h, 'disclosure', :at, :a, 'agenda', "
                ":env, false)"
            ),
            {
                "i": i,
                "e": raw,
                "h": levels[0][i],
                "at": AT,
                "a": entry.recipient,
                "env": entry.envelope_id,
            },
        )
        for ref in entry.case_refs or ():
            conn.execute(text("INSERT INTO log_case_refs VALUES (:i, :c)"), {"i": i, "c": ref})
    for level, hashes in enumerate(levels[1:], start=1):
        for position, digest in enumerate(hashes):
            conn.execute(
                text("INSERT INTO log_nodes VALUES (:l, :p, :h)"),
                {"l": level, "p": position, "h": digest},
            )
    conn.execute(
        text("INSERT INTO log_heads (size, root, timestamp, signature) VALUES (:s, :r, :t, :g)"),
        {"s": SIZE, "r": head.root, "t": AT, "g": head.signature},
    )
    return data, identity


async def _check_new_layout(engine: Any, data: list[bytes], identity: IdentityKeyPair) -> None:
    async with engine.connect() as conn:
        assert await store.size(conn) == SIZE
        assert await store.root(conn, SIZE) == merkle.root(data)
        assert await store.inclusion_proof(conn, 200, SIZE) == merkle.inclusion_proof(data, 200)
        assert await store.consistency_proof(conn, 129, SIZE) == merkle.consistency_proof(data, 129)
        # the old layout above writes only the case refs of the index: check the chain only
        verified = await verify_log(conn, identity.public, "hub", index=False)
        assert (verified.size, verified.heads) == (SIZE, 1)
        found = await search(conn, LogQuery(case_ref="C-3"), below=SIZE, limit=1000)
        assert [i for i, _ in found] == [i for i in range(SIZE) if i % 5 == 3]
        nodes = (await conn.execute(text("SELECT min(level), count(*) FROM log_nodes"))).one()
        assert tuple(nodes) == (6, 7)  # levels 1-5 moved into log_blocks
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        assert not tables & {"log_case_refs", "log_subjects", "log_categories", "log_entries_new"}


async def _migrate(engine: Any, target: str, *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: step(_alembic_config(sync), target))


async def test_an_old_log_is_carried_over_and_back(db_url: str) -> None:
    """0008 layout -> head -> back to 0008 (the same rows as before) -> head again."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            data, identity = await conn.run_sync(_old_layout)
        before = await _old_rows(engine)
        await _migrate(engine, "head")
        await _check_new_layout(engine, data, identity)
        await _migrate(engine, "0008", down=True)
        assert await _old_rows(engine) == before
        await _migrate(engine, "head")
        await _check_new_layout(engine, data, identity)
    finally:
        await engine.dispose()


async def _old_rows(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the 0002 layout's tables, in key order."""
    queries = {
        "log_entries": "SELECT * FROM log_entries ORDER BY idx",
        "log_case_refs": "SELECT * FROM log_case_refs ORDER BY idx, case_ref",
        "log_nodes": "SELECT level, position, hash FROM log_nodes ORDER BY level, position",
    }
    async with engine.connect() as conn:
        return {
            name: [tuple(r) for r in await conn.execute(text(sql))] for name, sql in queries.items()
        }
