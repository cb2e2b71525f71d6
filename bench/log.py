"""The stored disclosure log against ``pymerkle`` (v7, ``InmemoryTree``) doing the same work.

Run from the repository root::

    .venv/bin/python bench/log.py            # 10^4, 10^5, 10^6 entries (~3 min on 2 cores)
    .venv/bin/python bench/log.py --quick    # 10^4, 10^5 only
    .venv/bin/python bench/log.py --verify-only   # just the full verify of 10^6

It prints Markdown tables, ours and pymerkle's side by side in the same run:

* **appends/s**, in transactions of ``--batch`` entries committed durably to a SQLite
  file (WAL, ``synchronous=FULL``): the hub's ``hub.log.append`` of ``LogEntry`` objects
  (canonical JSON, leaf and subtree hashes, the entry row and its search rows in
  ``log_index``); and the log's own append of the same entries already encoded
  (``prepare`` + ``write``: one row per entry with its hashes, no search rows), which is
  the work pymerkle does. pymerkle appends the same entry bytes to its in-memory tree, one
  ``append_entry`` at a time (it has no durable store of its own to compare with but
  its SQLite backend, which is slower still).
* **inclusion / consistency proof** (µs per proof, median of ``--proofs`` random
  requests): ours from the stored log as the API serves them (``store.ProofReader``'s
  ``inclusion_proof`` / ``consistency_proof`` on the SQLite file: O(log n) rows by
  primary key), pymerkle's
  ``prove_inclusion`` / ``prove_consistency`` from memory, at 10^4, 10^5 and 10^6.
  Every proof is checked with ``hub.crypto.merkle.verify_*`` once per size.
* **full verify of 10^6**: ``hub.log.verify.verify_log`` (stream every entry once:
  re-hash it, rebuild and compare every stored subtree hash, check the signed head, and
  compare the search rows with what each entry says) against pymerkle
  rebuilding its tree from the same entries (the only way it has to re-derive a root).
  ``--verify-only`` times just this, twice, without pymerkle; run it with
  ``PYTHONPATH=<a worktree of an older commit>`` to time that commit's ``verify_log`` on
  the same log.

The stored log is grown to each size by the log append (one transaction per 50 000
entries), not timed, with each entry's search rows (as ``hub.log.append`` writes them);
pymerkle's tree is grown in step.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import machine_line
from pymerkle import InmemoryTree

from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.log import LogEntry, append, entry_bytes, store
from hub.log.entries import EntryBasis
from hub.log.heads import sign_head
from hub.log.verify import verify_log
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.storage.sql import serialise

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CHUNK = 50_000


def make_entry(i: int) -> LogEntry:
    """A realistic disclosure entry (~450 bytes)."""
    return LogEntry(
        kind="disclosure",
        at=AT,
        actor="coordinator:sam",
        envelope_id=f"01J{i:023d}",
        envelope_sha256=f"{i:064x}",
        payload_sha256=f"{i * 7:064x}",
        case_refs=(f"C-2026-{i % 500:04d}",),
        subject_ids=(f"S-{i % 997:06d}", f"S-{i % 991:06d}"),
        sender="hub",
        recipient=f"agency-{i % 20}",
        purpose="agenda",
        message_type="agenda",
        fields=("victim.name", "victim.date_of_birth", "risk.level"),
        data_categories=("identity", "risk"),
        basis=EntryBasis(id="s115", version="2"),
        consent="not_sought",
        policy_version="2026.1",
    )


TEMPLATE = entry_bytes(make_entry(0)).decode()
_SLOT = f"01J{0:023d}"


def bulk_entry(i: int) -> bytes:
    """The canonical bytes of an entry like ``make_entry`` with envelope id ``i``, cheaply."""
    return TEMPLATE.replace(_SLOT, f"01J{i:023d}", 1).encode()


def _template_rows() -> store.Prepared:
    rows = store.Prepared()
    store.index_rows(0, make_entry(0), rows)
    return rows


_ROWS = _template_rows()


def add_search_rows(rows: store.Prepared, first: int, count: int) -> None:
    """The search rows of ``bulk_entry(first)`` .. ``bulk_entry(first + count - 1)``, as
    ``store.index_rows`` derives them (from the template's, with the index and envelope id)."""
    for i in range(first, first + count):
        rows.index += [{**r, "idx": i, "envelope_id": f"01J{i:023d}"} for r in _ROWS.index]
        rows.cases += [{**r, "idx": i} for r in _ROWS.cases]
        rows.subjects += [{**r, "idx": i} for r in _ROWS.subjects]
        rows.categories += [{**r, "idx": i} for r in _ROWS.categories]


async def bench_appends(path: Path, count: int, batch: int) -> dict[str, float]:
    entries = [make_entry(i) for i in range(count)]
    encoded = [entry_bytes(e) for e in entries]
    out: dict[str, float] = {}
    engine = create_engine(f"sqlite+aiosqlite:///{path / 'appends.sqlite3'}")
    await migrate(engine)
    t0 = time.perf_counter()
    for i in range(0, count, batch):
        async with engine.begin() as conn:
            await append(conn, entries[i : i + batch])
    out["ours: hub append(LogEntry) with search rows, durable"] = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, count, batch):
        async with engine.begin() as conn:
            await serialise(conn, store.APPEND_LOCK)
            first = await store.size(conn)
            hashes, tail = await store.edge(conn, first)
            rows = store.prepare(first, hashes, encoded[i : i + batch], tail)
            await store.write(conn, rows)
    out["ours: log append(encoded entries), durable"] = count / (time.perf_counter() - t0)
    await engine.dispose()
    tree = InmemoryTree()
    t0 = time.perf_counter()
    for data in encoded:
        tree.append_entry(data)
    out["pymerkle: append_entry, in memory"] = count / (time.perf_counter() - t0)
    return out


class Grown:
    """The stored log and pymerkle's tree, grown together by bulk loads."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.size = 0
        self.frontier: list[bytes] = []
        self.tail: Any = None  # the partial last block
        self.tree = InmemoryTree()
        self.leaves: list[bytes] = []  # leaf hashes, to check proofs

    async def grow_to(self, target: int) -> float:
        """Grow both to ``target``; return pymerkle's seconds (ours is not timed)."""
        pm = 0.0
        while self.size < target:
            n = min(CHUNK, target - self.size)
            chunk = [bulk_entry(i) for i in range(self.size, self.size + n)]
            rows = store.prepare(self.size, self.frontier, chunk, self.tail)
            add_search_rows(rows, self.size, n)
            async with self.engine.begin() as conn:
                await store.write(conn, rows)
                self.frontier, self.tail = await store.edge(conn, self.size + n)
            self.leaves += [merkle.leaf_hash(data) for data in chunk]
            t0 = time.perf_counter()
            for data in chunk:
                self.tree.append_entry(data)
            pm += time.perf_counter() - t0
            self.size += n
        return pm


async def bench_proofs(grown: Grown, proofs: int, rng: random.Random) -> dict[str, float]:
    n = grown.size
    indices = [rng.randrange(n) for _ in range(proofs)]
    olds = [rng.randrange(1, n) for _ in range(proofs)]
    out: dict[str, float] = {}
    root = merkle.root_from_hashes(grown.leaves) if n <= 100_000 else None
    async with grown.engine.connect() as conn:
        stored_root = await store.root(conn, n)
        assert root is None or stored_root == root
        assert grown.tree.get_root() == stored_root, "pymerkle disagrees with the stored root"
        proof_checked = await store.inclusion_proof(conn, indices[0], n)
        assert merkle.verify_inclusion(
            grown.leaves[indices[0]], indices[0], n, proof_checked, stored_root
        )
        old_root = await store.root(conn, olds[0])
        proof = await store.consistency_proof(conn, olds[0], n)
        assert merkle.verify_consistency(olds[0], n, old_root, stored_root, proof)
    reader = store.ProofReader(grown.engine)  # what the API serves proofs with
    assert await reader.inclusion_proof(indices[0], n) == proof_checked
    times = []
    for i in indices:
        t0 = time.perf_counter()
        await reader.inclusion_proof(i, n)
        times.append(time.perf_counter() - t0)
    out["ours incl"] = statistics.median(times)
    times = []
    for old in olds:
        t0 = time.perf_counter()
        await reader.consistency_proof(old, n)
        times.append(time.perf_counter() - t0)
    out["ours cons"] = statistics.median(times)
    times = []
    for i in indices:
        t0 = time.perf_counter()
        grown.tree.prove_inclusion(i + 1, n)  # pymerkle counts leaves from one
        times.append(time.perf_counter() - t0)
    out["pm incl"] = statistics.median(times)
    times = []
    for old in olds:
        t0 = time.perf_counter()
        grown.tree.prove_consistency(old, n)
        times.append(time.perf_counter() - t0)
    out["pm cons"] = statistics.median(times)
    return out


def table(headers: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10^5 entries")
    parser.add_argument("--appends", type=int, default=20_000, help="entries appended")
    parser.add_argument("--batch", type=int, default=1000, help="entries per transaction")
    parser.add_argument("--proofs", type=int, default=300, help="proofs timed per size")
    parser.add_argument(
        "--verify-only", action="store_true", help="only time verify_log on 10^6 entries"
    )
    args = parser.parse_args(argv)
    if args.verify_only:
        await verify_only(10**6)
        return
    started = time.perf_counter()
    sizes = [10**4, 10**5] + ([] if args.quick else [10**6])
    print("# disclosure log: stored RFC 9162 log vs pymerkle InmemoryTree\n")
    print(machine_line())
    print(f"- Python {sys.version.split()[0]}, SQLite file (WAL, synchronous=FULL)\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        appends = await bench_appends(path, args.appends, args.batch)
        pm = appends["pymerkle: append_entry, in memory"]
        print(f"## appends ({args.appends} entries, {args.batch} per transaction)\n")
        table(
            ["what", "entries/s", "vs pymerkle"],
            [[k, f"{v:,.0f}", f"{v / pm:.2f}x"] for k, v in appends.items()],
        )
        engine = create_engine(f"sqlite+aiosqlite:///{path / 'log.sqlite3'}")
        await migrate(engine)
        grown = Grown(engine)
        rng = random.Random(9162)
        rows = []
        pm_build = 0.0
        for size in sizes:
            t0 = time.perf_counter()
            pm_build += await grown.grow_to(size)
            build = time.perf_counter() - t0
            got = await bench_proofs(grown, args.proofs, rng)
            rows.append(
                [
                    f"{size:,}",
                    f"{got['ours incl'] * 1e6:,.0f}",
                    f"{got['pm incl'] * 1e6:,.0f}",
                    f"{got['pm incl'] / got['ours incl']:.2f}x",
                    f"{got['ours cons'] * 1e6:,.0f}",
                    f"{got['pm cons'] * 1e6:,.0f}",
                    f"{got['pm cons'] / got['ours cons']:.2f}x",
                    f"{build:.1f} s",
                ]
            )
        print(f"## proofs (µs per proof, median of {args.proofs}; speed-up = pymerkle / ours)\n")
        table(
            [
                "entries",
                "ours inclusion",
                "pymerkle inclusion",
                "speed-up",
                "ours consistency",
                "pymerkle consistency",
                "speed-up",
                "grow both (bulk)",
            ],
            rows,
        )
        identity = IdentityKeyPair.generate()
        await sign_head(engine, identity, "hub")
        t0 = time.perf_counter()
        async with engine.connect() as conn:
            result = await verify_log(conn, identity.public, "hub")
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        rebuilt = InmemoryTree()
        for i in range(grown.size):
            rebuilt.append_entry(bulk_entry(i))
        theirs = time.perf_counter() - t0
        assert rebuilt.get_root() == grown.tree.get_root()
        print(f"## full verification of {result.size:,} entries\n")
        table(
            ["what", "seconds", "vs pymerkle"],
            [
                [
                    f"ours: verify_log ({result.nodes:,} subtree hashes, {result.heads} head)",
                    f"{ours:.1f}",
                    f"{theirs / ours:.2f}x faster",
                ],
                ["pymerkle: rebuild the tree from the entries", f"{theirs:.1f}", "1.00x"],
            ],
        )
        await engine.dispose()
    print(f"_total run time {time.perf_counter() - started:.0f} s_")


async def grow_stored_log(engine: Any, size: int) -> IdentityKeyPair:
    """Migrate ``engine``'s database, grow the stored log alone to ``size`` entries (with
    their search rows) and sign a head over it; the signing identity."""
    await migrate(engine)
    grown = Grown(engine)
    grown.tree.append_entry = lambda data: None  # type: ignore[method-assign]
    await grown.grow_to(size)
    identity = IdentityKeyPair.generate()
    await sign_head(engine, identity, "hub")
    return identity


async def verify_only(size: int) -> None:
    """Grow the stored log alone to ``size`` (with its search rows) and time
    ``verify_log`` on it twice (the second with the file in the page cache)."""
    import hub.log.verify as verify_module  # noqa: PLC0415 (to print which code is timed)

    print(machine_line())
    print(f"- verify_log from {Path(verify_module.__file__).resolve()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'log.sqlite3'}")
        identity = await grow_stored_log(engine, size)
        rows = []
        for run in (1, 2):
            t0 = time.perf_counter()
            async with engine.connect() as conn:
                result = await verify_log(conn, identity.public, "hub")
            rows.append([f"run {run}", f"{result.size:,}", f"{time.perf_counter() - t0:.1f}"])
        table(["verify_log", "entries", "seconds"], rows)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
