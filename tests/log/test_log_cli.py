"""``marac-hub log …`` on a real database: verify catches every kind of tampering."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engines import SyncPostgres
from sqlalchemy import delete, select, text, update

from hub.cli import main
from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import sign_tree_head
from hub.hub_keys import load_hub_keys
from hub.log import LogEntry, append
from hub.log.entries import EntryBasis
from hub.log.heads import sign_head
from hub.log.tables import (
    log_blocks,
    log_entries,
    log_heads,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
    log_nodes,
)
from hub.protocol.canonical import b64decode, canonical_json
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@dataclass
class Hub:
    """An initialised data directory and the flags that point the CLI at it."""

    data: Path
    flags: list[str]
    settings: Settings

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        status = main([*self.flags, *argv])
        out, err = capsys.readouterr()
        return status, out, err


def entry(n: int) -> LogEntry:
    return LogEntry(
        kind="refusal" if n % 7 == 3 else "disclosure",
        at=AT + timedelta(days=n),
        actor="coordinator:sam",
        envelope_id=f"01J{n:023d}",
        recipient="police-north" if n % 2 else "health-east",
        purpose="agenda" if n % 3 else "action_notice",
        case_refs=(f"C-{n % 4}",),
        subject_ids=(f"S-{n % 5}",),
        data_categories=("identity",) if n % 2 else ("identity", "risk"),
        basis=EntryBasis(id="s115", version="2"),
        fields=("victim.name",),
        refusal_code="isp-not-signed" if n % 7 == 3 else None,
    )


async def _fill(settings: Settings, total: int) -> None:
    engine = create_engine(settings.db_url)
    identity = load_hub_keys(settings).identity
    try:
        await migrate(engine)
        done = 0
        for batch in (5, 8, total - 13):
            async with engine.begin() as conn:
                await append(conn, [entry(i) for i in range(done, done + batch)])
            done += batch
            await sign_head(engine, identity, settings.hub_id)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_hub(request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path) -> Iterator[Hub]:
    """A data directory whose log holds 21 entries and three signed heads (5, 13, 21)."""
    data = tmp_path / "data"
    shutil.copytree(keys_dir, data)
    database = None
    if request.param == "postgresql":
        # asyncio.run closes suspended async generators: keep the database open in a loop.
        database = SyncPostgres()
        url = database.url
    else:
        url = f"sqlite+aiosqlite:///{data / 'hub.sqlite3'}"
    try:
        settings = Settings(data_dir=data, database_url=url, key_file_strength="interactive")
        asyncio.run(_fill(settings, 21))
        yield Hub(data, ["--data-dir", str(data), "--database-url", url], settings)
    finally:
        if database is not None:
            database.close()


def _sql(hub: Hub, *statements: Any) -> None:
    async def run() -> None:
        engine = create_engine(hub.settings.db_url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _rows(hub: Hub, statement: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(hub.settings.db_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(statement)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _remove(idx: int) -> list[Any]:
    return [
        delete(t).where(t.c.idx == idx)
        for t in (
            log_index_cases,
            log_index_subjects,
            log_index_categories,
            log_index,
            log_entries,
        )
    ]


def test_verify_passes_on_an_untouched_log(
    log_hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = log_hub.run(capsys, "log", "verify")
    assert status == 0
    assert "21 entries" in out and "3 signed heads" in out and "covers 21" in out


def _leaf_hashes(hub: Hub) -> bytearray:
    """Block 0's blob (the test log has fewer than 64 entries): leaf hashes come first."""
    return bytearray(_rows(hub, select(log_blocks.c.hashes).where(log_blocks.c.block == 0))[0][0])


def _set_leaf_hashes(blob: bytearray) -> Any:
    return update(log_blocks).where(log_blocks.c.block == 0).values(hashes=bytes(blob))


def _flip_byte(hub: Hub, idx: int, *, fix_leaf: bool) -> None:
    data = bytearray(_rows(hub, select(log_entries.c.entry).where(log_entries.c.idx == idx))[0][0])
    data[data.index(b"police-north" if idx % 2 else b"health-east")] ^= 0x01
    statements = [update(log_entries).where(log_entries.c.idx == idx).values(entry=bytes(data))]
    if fix_leaf:
        blob = _leaf_hashes(hub)
        blob[32 * idx : 32 * idx + 32] = merkle.leaf_hash(bytes(data))
        statements.append(_set_leaf_hashes(blob))
    _sql(hub, *statements)


def _swap(hub: Hub, a: int, b: int) -> None:
    """Swap two entries and their leaf hashes (the subtree hashes above stay)."""
    rows = {
        r.idx: r.entry for r in _rows(hub, select(log_entries).where(log_entries.c.idx.in_([a, b])))
    }
    blob = _leaf_hashes(hub)
    blob[32 * a : 32 * a + 32], blob[32 * b : 32 * b + 32] = (
        blob[32 * b : 32 * b + 32],
        blob[32 * a : 32 * a + 32],
    )
    _sql(
        hub,
        update(log_entries).where(log_entries.c.idx == a).values(entry=rows[b]),
        update(log_entries).where(log_entries.c.idx == b).values(entry=rows[a]),
        _set_leaf_hashes(blob),
    )


def _replace_head(hub: Hub, *, other_key: bool) -> None:
    newest = _rows(hub, select(log_heads).order_by(log_heads.c.id.desc()).limit(1))[0]
    if other_key:  # a head with the true root, signed by someone else
        forged = sign_tree_head(IdentityKeyPair.generate(), "hub", 21, bytes(newest.root), AT)
        values = {"signature": forged.signature, "timestamp": forged.timestamp}
    else:  # the signature of the true head over a smaller, other root
        older = _rows(hub, select(log_heads).order_by(log_heads.c.id).limit(1))[0]
        values = {"root": bytes(older.root)}
    _sql(hub, update(log_heads).where(log_heads.c.id == newest.id).values(**values))


TAMPERING = {
    "one byte of an entry": (lambda h: _flip_byte(h, 7, fix_leaf=False), "entry 7 "),
    "one byte, leaf hash recomputed": (
        lambda h: _flip_byte(h, 9, fix_leaf=True),
        "entries 8 to 9",
    ),
    "an entry deleted": (lambda h: _sql(h, *_remove(12)), "entry 12 is missing"),
    "two entries reordered": (lambda h: _swap(h, 3, 10), "entries 2 to 3"),
    "the tail truncated": (
        lambda h: _sql(h, *(s for i in range(18, 21) for s in _remove(i))),
        "entries from 18",
    ),
    "a head's root replaced": (lambda h: _replace_head(h, other_key=False), "signed head #3"),
    "a head signed by another key": (
        lambda h: _replace_head(h, other_key=True),
        "signature does not verify",
    ),
    "a head that shrinks": (
        lambda h: _sql(h, text("UPDATE log_heads SET size = 4 WHERE id = 2")),
        "signed head #2",
    ),
}


_TABLES = (
    log_entries,
    log_blocks,
    log_nodes,
    log_index,
    log_index_cases,
    log_index_subjects,
    log_index_categories,
    log_heads,
)


def _snapshot(hub: Hub) -> dict[Any, list[dict[str, Any]]]:
    return {t: [dict(r._mapping) for r in _rows(hub, select(t))] for t in _TABLES}


def _restore(hub: Hub, saved: dict[Any, list[dict[str, Any]]]) -> None:
    _sql(
        hub,
        *(delete(t) for t in reversed(_TABLES)),
        *(t.insert().values(saved[t]) for t in _TABLES if saved[t]),
    )


def test_verify_catches_tampering_and_names_where(
    log_hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _snapshot(log_hub)
    for how, (tamper, where) in TAMPERING.items():
        tamper(log_hub)
        status, _, err = log_hub.run(capsys, "log", "verify")
        assert status == 1, how
        assert "log-integrity" in err and where in err, (how, err)
        assert len(err.strip().splitlines()[-1]) < 300
        _restore(log_hub, saved)
    assert log_hub.run(capsys, "log", "verify")[0] == 0


def test_head_and_proofs(log_hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = log_hub.run(capsys, "log", "head")
    head = json.loads(out)
    assert status == 0 and head["size"] == 21
    status, out, _ = log_hub.run(capsys, "log", "proof", "--envelope", f"01J{6:023d}")
    doc = json.loads(out)
    assert status == 0 and doc["index"] == 6
    leaf = merkle.leaf_hash(b64decode(doc["entry"]))
    proof = [b64decode(p) for p in doc["proof"]]
    assert merkle.verify_inclusion(leaf, 6, 21, proof, b64decode(head["root"]))
    status, out, _ = log_hub.run(capsys, "log", "proof", "--consistency", "5", "21")
    assert status == 0 and len(json.loads(out)["proof"]) > 0
    for argv, code in (
        (("--index", "21"), "not-found"),
        (("--index", "-3"), "not-found"),
        (("--envelope", "nope"), "unknown-envelope"),
        (("--consistency", "9", "5"), "malformed"),
        (("--consistency", "5", "99"), "malformed"),
    ):
        status, _, err = log_hub.run(capsys, "log", "proof", *argv)
        assert status == 1 and code in err, (argv, err)


def test_search_filters(log_hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    def indices(*argv: str) -> list[int]:
        status, out, _ = log_hub.run(capsys, "log", "search", *argv)
        assert status == 0
        return [int(line.split()[0]) for line in out.splitlines()]

    assert indices() == list(range(21))
    assert indices("--agency", "police-north") == list(range(1, 21, 2))
    assert indices("--case", "C-1") == [1, 5, 9, 13, 17]
    assert indices("--refusals") == [3, 10, 17]
    assert indices("--purpose", "action_notice") == [0, 3, 6, 9, 12, 15, 18]
    assert indices("--category", "risk") == list(range(0, 21, 2))
    assert indices("--subject", "S-2") == [2, 7, 12, 17]
    assert indices("--basis", "s115", "--since", "2026-11-25", "--until", "2026-11-27") == [2, 3, 4]
    assert indices("--overrides") == []
    assert indices("--case", "C-1", "--agency", "health-east") == []
    for argv in (("--since", "2026-13-01"), ("--since", "2026-11-30", "--until", "2026-11-01")):
        status, _, err = log_hub.run(capsys, "log", "search", *argv)
        assert status == 1 and "malformed" in err
    status, _, err = log_hub.run(capsys, "log", "search", "--since", "2026-11-01T10:00:00")
    assert status == 1 and "naive-timestamp" in err


def test_export_csv_and_jsonl(
    log_hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "log.jsonl"
    status, out, _ = log_hub.run(
        capsys,
        "log",
        "export",
        "--format",
        "jsonl",
        "--out",
        str(out_file),
        "--agency",
        "health-east",
    )
    assert status == 0 and "wrote 11 entries" in out
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert lines[0]["head"]["size"] == 21 and lines[0]["filters"] == {"agency": "health-east"}
    assert [x["index"] for x in lines[1:]] == list(range(0, 21, 2))
    exported = canonical_json(lines[3]["entry"])
    stored = _rows(log_hub, select(log_entries.c.entry).where(log_entries.c.idx == 4))[0][0]
    assert exported == bytes(stored)
    status, out, _ = log_hub.run(capsys, "log", "export", "--format", "csv", "--refusals")
    rows = out.splitlines()
    # the first export is logged (entry 21): the second is taken at a head covering it
    assert rows[0].startswith("# signed tree head: {") and '"size":22' in rows[0]
    assert rows[1].startswith("index,kind,at,actor")
    assert [r.split(",")[0] for r in rows[2:]] == ["3", "10", "17"]
    status, _, err = log_hub.run(
        capsys, "log", "export", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv")
    )
    assert status == 1 and "cannot write" in err


def test_subject_lookup(log_hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = log_hub.run(
        capsys, "log", "subject", "--name", "Nobody", "--dob", "1990-01-01"
    )
    assert status == 0 and "no case holds a person" in out and "Nobody" not in out
    for argv in (("--name", "A", "--dob", "01/02/1990"), ("--name", " ", "--dob", "1990-01-01")):
        status, _, err = log_hub.run(capsys, "log", "subject", *argv)
        assert status == 1 and "malformed" in err
