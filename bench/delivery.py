"""End-to-end delivery: ``POST /api/v1/notices`` → sealed, queued, logged → long-polled,
opened and verified by the agency → signed receipt stored. Against the crypto ceiling and
NHS England's MESH sandbox, side by side in one run.

Run from the repository root::

    .venv/bin/python bench/delivery.py            # everything, ~3-4 min on 2 cores
    .venv/bin/python bench/delivery.py --quick    # fewer messages, 10^4 queued
    .venv/bin/python bench/delivery.py --only throughput --engines sqlite

Sections (each hub is real processes: ``marac-hub init``, then ``marac-hub serve`` on a
free loopback port; PostgreSQL is a fresh database on 127.0.0.1:5432, skipped with the
reason if no server answers; 20 agencies invited, enrolled and approved, not timed):

1. **throughput**: ``--coordinators`` (4) send ``--messages`` notices of 2 048 characters, each
   ``{"to": "all"}`` (20 sealed messages per notice), back to back; 20 ``HubClient``s in
   ``--client-processes`` child processes (default 2; agency i in process i mod K:
   deployed, the agencies are separate machines, and one process would serialise their
   CPU work) long-poll (``wait`` 5 s, ``limit`` 100), open and verify every envelope
   (``open_envelope``: HPKE decrypt + Ed25519 verify against the hub key) and acknowledge
   each batch with signed receipts. Rows: SQLite (1 process), PostgreSQL with 1 and with
   2 hub processes on one database (coordinator k and agency i use process k or i mod 2,
   as behind a load balancer). messages/s = acknowledged / (first send → last receipt).
2. **latency**: a steady 200 messages/s (10 notices/s to 20 agencies) for
   ``--latency-seconds``, the clients as in section 1; per message, start of its notice's
   POST → opened and verified by the client (handed to the sink), and → its receipt
   stored; p50 / p99 (``time.perf_counter``, one monotonic clock across processes).
3. **queued**: ``--queued`` envelopes (default 10^5) sealed with the hub's keys to the
   20 agencies and inserted into the outbox directly (the send path is section 1's);
   the hub process's RSS idle, then after every agency polled a full batch, with the
   time of those polls.
4. **ceiling**: 2 KiB notices through the raw primitives alone: HPKE seal, Ed25519 sign,
   Ed25519 verify, HPKE open (one core), for 1.5 s on its own; and for each throughput
   row, as many as that row delivered, just before its clock starts and just after its
   last receipt (the machine's speed drifts between rows): the row's ``of ceiling`` is
   its messages/s over the ceiling of those two runs together.
5. **MESH**: section 1's workload through ``mesh-sandbox`` with ``mesh-client``
   (``bench/mesh.py``) and hub / MESH.

Each throughput row also gives the CPU of every ``postgres`` process on this machine and
the share of the machine's CPUs busy (``/proc/stat``: everything, this process included)
over the same window; under the table, what the one-process PostgreSQL row leaves of the
machine: at its CPU cost a message, ``cpus / cost`` messages/s is the most any number of
hub processes can deliver here.

The agency processes are started and ready (clients made, one empty poll each) before
the clock starts; client CPU is theirs over the receive phase plus this process's (the
coordinators). The hub, PostgreSQL, this process and the agency processes (open, verify,
sign receipts and requests) share the machine; on 2 cores they compete for CPU, and load
from anything else moves absolute figures: compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import cryptography
import sqlalchemy
from _agencyproc import POLL_LIMIT, AgentSpec, Received, agency_processes, all_or_none
from _hubproc import Agent, Hub, hub_processes, make_agents, markdown_table, percentile, rss_mb
from _hubproc import staff as staff_call
from _machine import busy_cpu_seconds, machine_line, postgres_cpu_seconds
from mesh import run_mesh
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, IdentityPublicKey
from hub.crypto.sealing import hpke_suite, seal
from hub.delivery.tables import outbox
from hub.hub_keys import load_hub_keys
from hub.protocol.messages import Notice
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.testing import POSTGRES_ADMIN_URL, postgres_database

AGENCIES = 20
SENDERS = 16  # enough to keep one hub process busy: with 4 it waits on them a quarter of the time
NOTICE_CHARS = 2048
STEADY_RATE = 200  # messages/s: 10 notices/s to 20 agencies

PROSE = (
    "Police attended the address at 23:10 after a neighbour reported shouting. "
    'The victim said "he has done this before" and declined to make a statement. '
    "Officers completed a DASH assessment; 15 questions were answered yes.\n"
    "The children were asleep upstairs and were not spoken to. A referral was made "
    "to children's social care the following morning.\n\n"
)


def notice_text(index: int) -> str:
    """A distinct 2 048-character notice: its index, then prose."""
    head = f"Notice {index:06d}. "
    return (head + PROSE * (NOTICE_CHARS // len(PROSE) + 1))[:NOTICE_CHARS]


class Skipped(Exception):
    """The engine cannot run here (no PostgreSQL server answers)."""


@dataclass
class Run:
    """What one throughput or latency run measured."""

    notices: int
    texts: list[str]
    send_at: dict[str, float] = field(default_factory=dict)  # envelope id -> POST start
    sent_to: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (agency, notice)
    opened_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    opened: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (recipient, text)
    redelivered: int = 0
    already: int = 0
    leftover: int = 0
    start: float = 0.0
    end: float = 0.0
    hub_cpu: float | None = None
    client_cpu: float = 0.0
    db_cpu: float | None = None  # every postgres process's, over the same window
    busy_cpu: float | None = None  # the whole machine's, over the same window
    window: float = 0.0  # s from the CPU readings' start to their end
    timed_out: bool = False
    ceilings: list[float] = field(default_factory=list)  # /s, just before and just after

    @property
    def ceiling(self) -> float:
        """The crypto ceiling over both of its runs (as many messages each as this run)."""
        return len(self.ceilings) / sum(1 / c for c in self.ceilings) if self.ceilings else 0.0

    @property
    def busy_share(self) -> float:
        """The share of the machine's CPUs busy over the run's window."""
        return (self.busy_cpu or 0.0) / (max(self.window, 1e-9) * (os.cpu_count() or 1))

    @property
    def expected(self) -> int:
        return AGENCIES * self.notices

    @property
    def rate(self) -> float:
        wall = self.end - self.start
        return len(self.acked_at) / wall if wall > 0 else 0.0

    def problems(self) -> list[str]:
        """Every failed check, in words; empty means exactly once, intact."""
        found = []
        if len(self.sent_to) != self.expected:
            found.append(f"{len(self.sent_to)} envelope ids sent, {self.expected} expected")
        if set(self.sent_to) != set(self.acked_at):
            found.append(f"{len(set(self.sent_to) - set(self.acked_at))} never acknowledged")
        if self.redelivered or self.already:
            found.append(f"duplicates: {self.redelivered} redelivered, {self.already} 'already'")
        wrong = sum(
            1
            for envelope_id, (agency_id, notice) in self.sent_to.items()
            if self.opened.get(envelope_id) != (agency_id, self.texts[notice])
        )
        if wrong:
            found.append(f"{wrong} opened to the wrong agency or text")
        if self.leftover:
            found.append(f"{self.leftover} still in mailboxes at the end")
        return found

    def latencies_ms(self, until: dict[str, float]) -> list[float]:
        return sorted((until[i] - self.send_at[i]) * 1000 for i in self.send_at if i in until)

    def add(self, got: Received) -> None:
        """One agency process's results (its envelope ids are its own agencies')."""
        self.opened_at.update(got.opened_at)
        self.acked_at.update(got.acked_at)
        self.opened.update(got.opened)
        self.redelivered += got.redelivered
        self.already += got.already
        self.leftover += got.leftover
        self.client_cpu += got.cpu
        self.timed_out = self.timed_out or got.timed_out


async def send_one(http: aiohttp.ClientSession, url: str, token: str, run: Run, n: int) -> None:
    started = time.perf_counter()
    doc = await staff_call(http, url, token, "/api/v1/notices", {"to": "all", "text": run.texts[n]})
    for item in doc["envelopes"]:
        run.send_at[item["id"]] = started
        run.sent_to[item["id"]] = (item["to"], n)


async def send_back_to_back(
    http: aiohttp.ClientSession, hub: Hub, run: Run, k: int, count: int
) -> None:
    """Coordinator ``k`` of ``count``: notices k, k + count, ... one after the other."""
    for n in range(k, run.notices, count):
        await send_one(http, hub.urls[k % len(hub.urls)], hub.token, run, n)


async def send_steady(http: aiohttp.ClientSession, hub: Hub, run: Run) -> None:
    """Notices at a steady rate (a new one every 1/rate s, whether the last answered or not)."""
    interval = AGENCIES / STEADY_RATE
    start = time.perf_counter()
    posts = []
    for n in range(run.notices):
        await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        posts.append(asyncio.create_task(send_one(http, hub.url, hub.token, run, n)))
    await asyncio.gather(*posts)


def senders(http: aiohttp.ClientSession, hub: Hub, run: Run, steady: bool, count: int) -> list[Any]:
    """The coordinators' coroutines: one at a steady rate, or ``count`` back to back."""
    if steady:
        return [send_steady(http, hub, run)]
    return [send_back_to_back(http, hub, run, k, count) for k in range(count)]


async def pinned_hub_key(agents: list[Agent]) -> IdentityPublicKey:
    """``GET /api/v1/hub``'s key, which must be the one every agent pinned at enrolment."""
    hub_key = (await agents[0].client.fetch_hub_info()).identity_key
    if any(a.pinned_hub_key != hub_key for a in agents):
        raise RuntimeError("GET /api/v1/hub disagrees with the key pinned at enrolment")
    return hub_key


async def timed(
    hub: Hub, agents: list[Agent], run: Run, steady: bool, args: argparse.Namespace
) -> None:
    """Send here, receive in the agency processes, until every message is acknowledged
    (or ``--timeout``: the row is then incomplete)."""
    hub_key = await pinned_hub_key(agents)
    specs = [AgentSpec.of(a, run.notices) for a in agents]
    processes = agency_processes(specs, hub_key.raw, args.client_processes, args.timeout)
    async with processes as agencies, aiohttp.ClientSession() as http:
        if not steady:  # side by side: the machine's speed drifts between runs
            run.ceilings.append(ceiling(messages=run.expected))
        cpu0, client0 = hub.cpu(), time.process_time()
        db0, busy0 = postgres_cpu_seconds(), busy_cpu_seconds()
        run.start = time.perf_counter()
        agencies.go()
        try:
            async with asyncio.timeout(args.timeout + 30):  # the children stop at --timeout
                *_, results = await all_or_none(
                    *senders(http, hub, run, steady, args.coordinators), agencies.results()
                )
        except TimeoutError:
            raise RuntimeError(
                f"senders or agency processes hung past {args.timeout:g} s"
            ) from None
        cpu1 = hub.cpu()
        run.client_cpu = time.process_time() - client0
        db1, busy1 = postgres_cpu_seconds(), busy_cpu_seconds()
        run.window = time.perf_counter() - run.start
        if db0 is not None and db1 is not None and hub.database_url:
            run.db_cpu = db1 - db0
        if busy0 is not None and busy1 is not None:
            run.busy_cpu = busy1 - busy0
        if not steady:
            await asyncio.sleep(1.0)  # the hub's head signer and checkpointer settle first
            run.ceilings.append(ceiling(messages=run.expected))
    for got in results:
        run.add(got)
    run.end = max(run.acked_at.values(), default=time.perf_counter())
    if cpu0 is not None and cpu1 is not None:
        run.hub_cpu = cpu1 - cpu0
    if run.timed_out:
        print(f"_timed out after {args.timeout:g} s; the row is incomplete_")


def clients_line(processes: int) -> str:
    """Where the agency clients ran, for the header."""
    where = f"agency i in process i mod {processes}" if processes > 1 else "a child process"
    where += "; the coordinators in this one"
    plural = "es" if processes > 1 else ""
    return f"- agency clients: {AGENCIES} in {processes} process{plural} ({where})"


async def with_database(engine: str, args: argparse.Namespace) -> Any:
    """``None`` for SQLite; a fresh PostgreSQL database's context manager otherwise."""
    if engine == "sqlite":
        return None
    database = postgres_database(args.postgres_url)
    try:
        url = await database.__aenter__()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Skipped(f"no PostgreSQL at {args.postgres_url} ({type(exc).__name__})") from None
    return database, url


async def one_run(
    engine: str, processes: int, args: argparse.Namespace, notices: int, steady: bool
) -> Run:
    """Start hub processes on a fresh database, enrol the agencies, time one run."""
    run = Run(notices=notices, texts=[notice_text(i) for i in range(notices)])
    db = await with_database(engine, args)
    try:
        with tempfile.TemporaryDirectory(prefix="marac-bench-") as tmp:
            url = None if db is None else db[1]
            async with hub_processes(Path(tmp) / "hub", url, processes) as hub:
                async with aiohttp.ClientSession() as http:
                    agents = await make_agents(http, hub, AGENCIES)
                try:
                    await timed(hub, agents, run, steady, args)
                finally:
                    await asyncio.gather(*(a.client.close() for a in agents))
    finally:
        if db is not None:
            await db[0].__aexit__(None, None, None)
    return run


# -- queued: RSS with many envelopes waiting ---------------------------------------------


async def queued(args: argparse.Namespace) -> list[str]:
    """SQLite hub with ``--queued`` envelopes waiting: RSS idle, after a poll per agency."""
    with tempfile.TemporaryDirectory(prefix="marac-bench-") as tmp:
        data = Path(tmp) / "hub"
        async with hub_processes(data, None, 1) as hub:
            async with aiohttp.ClientSession() as http:
                agents = await make_agents(http, hub, AGENCIES)
            pid = hub.processes[0].pid
            before = rss_mb(pid)
            started = time.perf_counter()
            await fill_outbox(data, agents, args.queued)
            filled = time.perf_counter() - started
            idle = rss_mb(pid)
            polls = []
            try:
                for agent in agents:
                    t0 = time.perf_counter()
                    got = await agent.client.poll(wait=0, limit=POLL_LIMIT)
                    polls.append((time.perf_counter() - t0) * 1000)
                    assert len(got) == POLL_LIMIT
            finally:
                await asyncio.gather(*(a.client.close() for a in agents))
            after, peak = rss_mb(pid), rss_mb(pid, "VmHWM")
    polls.sort()
    return [
        f"{args.queued:,}",
        f"{before:.0f}" if before else "-",
        f"{idle:.0f}" if idle else "-",
        f"{after:.0f}" if after else "-",
        f"{peak:.0f}" if peak else "-",
        f"{percentile(polls, 0.5):.1f} / {max(polls):.1f}",
        f"{filled:.0f}",
    ]


async def fill_outbox(data_dir: Path, agents: list[Agent], count: int) -> None:
    """Seal ``count`` notices with the hub's keys, round robin to the agents, and queue them."""
    settings = Settings(data_dir=data_dir, key_file_strength="interactive")
    keys = load_hub_keys(settings)
    now = datetime.now(UTC)
    notice = Notice(text=notice_text(0))
    engine = create_engine(settings.db_url)
    try:
        batch: list[dict[str, Any]] = []
        for n in range(count):
            agent = agents[n % len(agents)]
            envelope = seal(
                notice,
                sender=keys.identity,
                sender_id=settings.hub_id,
                recipient_id=agent.id,
                recipient_key=agent.encryption.public,
                now=now + timedelta(microseconds=n),
            )
            batch.append(
                {
                    "envelope_id": envelope.header.id,
                    "agency_id": agent.id,
                    "type": envelope.header.type,
                    "case_ref": None,
                    "recipient_key": agent.encryption.public.fingerprint,
                    "digest": envelope.digest(),
                    "envelope": envelope.to_bytes(),
                    "status": "queued",
                    "created_at": now,
                    "expires_at": now + timedelta(days=7),
                    "sent_by": "bench",
                }
            )
            if len(batch) == 5000 or n == count - 1:
                async with engine.begin() as conn:
                    await conn.execute(outbox.insert(), batch)
                batch = []
    finally:
        await engine.dispose()


# -- the crypto ceiling ---------------------------------------------------------------


CEILING_PRIMITIVES = (
    "- crypto ceiling primitives: HPKE from cryptography (hpke.Suite), Ed25519 sign / "
    "verify from libsodium (nacl.bindings), as hub.crypto calls them for 2 KiB notices"
)


def ceiling(seconds: float = 1.5, messages: int | None = None) -> float:
    """Messages/s through HPKE seal + Ed25519 sign + verify + HPKE open alone (one core),
    for ``seconds``, or for exactly ``messages`` (as many as a run delivered).

    The primitives ``hub.crypto`` calls, with nothing around them: HPKE from
    ``cryptography`` (``hpke.Suite``), Ed25519 from libsodium (``nacl.bindings``), which
    ``hub.crypto.keys`` uses for messages of this size.
    """
    sender, recipient = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    envelope = seal(
        Notice(text=notice_text(0)),
        sender=sender,
        sender_id="hub",
        recipient_id="agency-00",
        recipient_key=recipient.public,
        now=datetime.now(UTC),
    )
    info = envelope.header.canonical()
    signed = b'{"header":' + info + b',"payload":' + b"x" * (NOTICE_CHARS + 40) + b"}"
    suite = hpke_suite(envelope.header.suite)
    verify_key, sign_key = crypto_sign_seed_keypair(sender.private_bytes())
    public, private = recipient.public.key, recipient.private
    done, start = 0, time.perf_counter()
    while done < messages if messages is not None else time.perf_counter() - start < seconds:
        for _ in range(50 if messages is None else min(50, messages - done)):
            signature = crypto_sign(signed, sign_key)[:64]
            ciphertext = suite.encrypt(signed + signature, public, info=info)
            plain = suite.decrypt(ciphertext, private, info=info)
            crypto_sign_open(signature + plain[: len(signed)], verify_key)
            done += 1
    return done / (time.perf_counter() - start)


def machine_bound(run: Run) -> str:
    """What the one-process run leaves of the machine for more processes: at its CPU
    cost a message (hub, PostgreSQL, agencies, coordinators, all of it), every CPU busy
    delivers at most ``cpus / cost`` messages/s, whatever the number of hub processes."""
    if not run.busy_cpu or not run.acked_at:
        return "- machine: no busy-time reading (not Linux) or nothing acknowledged, so no bound"
    cost = run.busy_cpu / len(run.acked_at)
    cpus = os.cpu_count() or 1
    top = cpus / cost
    return (
        f"- PostgreSQL, 1 process kept {run.busy_share:.0%} of the machine's {cpus} CPUs busy, "
        f"{cost * 1000:.2f} ms of CPU a message in all: at that cost the machine, every CPU "
        f"busy, delivers at most {fmt(top)} messages/s, {top / run.rate:.2f}x the 1-process "
        "figure, with any number of hub processes"
    )


# -- output ---------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:,.0f}"


def throughput_row(label: str, run: Run, mesh: float | None) -> list[str]:
    lat = run.latencies_ms(run.acked_at)
    wall = run.end - run.start
    top = run.ceiling
    return [
        label,
        f"{run.expected:,}",
        f"{wall:.2f}",
        fmt(run.rate),
        " / ".join(fmt(c) for c in run.ceilings) or "-",
        f"{run.rate / top:.0%}" if top else "-",
        f"{run.rate / mesh:.1f}x" if mesh else "-",
        fmt(percentile(lat, 0.5)),
        fmt(percentile(lat, 0.99)),
        f"{run.hub_cpu / max(1, len(run.acked_at)) * 1000:.2f}" if run.hub_cpu else "-",
        f"{run.client_cpu / max(1, len(run.acked_at)) * 1000:.2f}",
        f"{run.db_cpu / max(1, len(run.acked_at)) * 1000:.2f}" if run.db_cpu else "-",
        f"{run.busy_share:.0%}" if run.busy_cpu else "-",
        "✓" if not run.problems() else "✗ " + "; ".join(run.problems()),
    ]


async def amain(args: argparse.Namespace) -> int:
    notices = args.messages or (10 if args.quick else 50)
    print("# End-to-end delivery: send → open → signed receipt\n")
    print(machine_line())
    print(
        f"- python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"sqlalchemy {sqlalchemy.__version__}, aiohttp {aiohttp.__version__}"
    )
    if "throughput" in args.only or "latency" in args.only:
        print(clients_line(args.client_processes))
    print(f"- command: `{' '.join(['.venv/bin/python', 'bench/delivery.py', *sys.argv[1:]])}`\n")
    sys.stdout.flush()
    failed = False
    top = 0.0
    if "ceiling" in args.only or "throughput" in args.only:
        print(CEILING_PRIMITIVES)
        top = ceiling()
    mesh_rate = None
    if "mesh" in args.only:
        mesh = run_mesh(notices, senders=args.coordinators)
        mesh_rate = mesh.rate if not mesh.errors else None
        lat = mesh.latencies_ms()
        print("## MESH sandbox (mesh-sandbox + mesh-client, same workload)\n")
        print(
            markdown_table(
                ["peer", "messages", "messages/s", "p50 ms", "p99 ms", "checks"],
                [
                    [
                        "MESH sandbox",
                        f"{mesh.expected:,}",
                        fmt(mesh.rate),
                        fmt(percentile(lat, 0.5)),
                        fmt(percentile(lat, 0.99)),
                        "✓" if not mesh.errors and len(mesh.acked_at) == mesh.expected else "✗",
                    ]
                ],
            )
            + "\n"
        )
        failed = failed or bool(mesh.errors)
    if top:
        print(f"- crypto ceiling (HPKE seal + sign + verify + HPKE open, one core): {fmt(top)}/s\n")
    if "throughput" in args.only:
        rows, rates, runs = [], {}, {}
        for engine, processes in (("sqlite", 1), ("postgresql", 1), ("postgresql", 2)):
            if engine not in args.engines:
                continue
            label = f"{'SQLite' if engine == 'sqlite' else 'PostgreSQL'}, {processes} process"
            label += "es" if processes > 1 else ""
            try:
                run = await one_run(engine, processes, args, notices, steady=False)
            except Skipped as exc:
                rows.append([label, f"skipped: {exc}"])
                continue
            rates[(engine, processes)] = run.rate
            runs[(engine, processes)] = run
            rows.append(throughput_row(label, run, mesh_rate))
            failed = failed or bool(run.problems())
        print(
            f"## Throughput: {notices} notices x {AGENCIES} agencies, "
            f"{args.coordinators} coordinators\n"
        )
        print(
            markdown_table(
                [
                    "hub",
                    "messages",
                    "wall s",
                    "messages/s",
                    "ceiling /s (before / after)",
                    "of ceiling",
                    "hub / MESH",
                    "p50 ms",
                    "p99 ms",
                    "hub CPU ms/msg",
                    "client CPU ms/msg",
                    "PostgreSQL CPU ms/msg",
                    "machine busy",
                    "exactly once",
                ],
                rows,
            )
            + "\n"
        )
        if ("postgresql", 1) in rates and ("postgresql", 2) in rates:
            ratio = rates[("postgresql", 2)] / rates[("postgresql", 1)]
            print(f"- PostgreSQL, 2 processes / 1 process: {ratio:.2f}x")
            print(machine_bound(runs[("postgresql", 1)]) + "\n")
    if "latency" in args.only:
        steady_notices = max(1, int(args.latency_seconds * STEADY_RATE / AGENCIES))
        rows = []
        for engine in (e for e in ("sqlite", "postgresql") if e in args.engines):
            label = "SQLite" if engine == "sqlite" else "PostgreSQL"
            try:
                run = await one_run(engine, 1, args, steady_notices, steady=True)
            except Skipped as exc:
                rows.append([label, f"skipped: {exc}"])
                continue
            sink, acked = run.latencies_ms(run.opened_at), run.latencies_ms(run.acked_at)
            rows.append(
                [
                    label,
                    f"{run.expected:,}",
                    fmt(percentile(sink, 0.5)),
                    fmt(percentile(sink, 0.99)),
                    fmt(percentile(acked, 0.5)),
                    fmt(percentile(acked, 0.99)),
                    "✓" if not run.problems() else "✗ " + "; ".join(run.problems()),
                ]
            )
            failed = failed or bool(run.problems())
        print(f"## Latency at a steady {STEADY_RATE} messages/s for {args.latency_seconds:g} s\n")
        print(
            markdown_table(
                [
                    "hub",
                    "messages",
                    "p50 ms to sink",
                    "p99 ms to sink",
                    "p50 ms to receipt",
                    "p99 ms to receipt",
                    "exactly once",
                ],
                rows,
            )
            + "\n"
        )
    if "queued" in args.only:
        print("## Hub memory with envelopes queued (SQLite)\n")
        print(
            markdown_table(
                [
                    "queued",
                    "RSS MB before",
                    "RSS MB queued, idle",
                    "RSS MB after 20 polls",
                    "peak RSS MB",
                    "poll ms p50 / max",
                    "fill s",
                ],
                [await queued(args)],
            )
            + "\n"
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, help="notices, each to 20 agencies (50)")
    parser.add_argument("--quick", action="store_true", help="10 notices, 10^4 queued, 3 s steady")
    parser.add_argument(
        "--only",
        nargs="+",
        default=("throughput", "latency", "queued", "ceiling", "mesh"),
        choices=("throughput", "latency", "queued", "ceiling", "mesh"),
    )
    parser.add_argument(
        "--engines", nargs="+", choices=("sqlite", "postgresql"), default=("sqlite", "postgresql")
    )
    parser.add_argument("--queued", type=int, help="envelopes queued for the RSS figure (10^5)")
    parser.add_argument("--latency-seconds", type=float, help="steady-rate run length (5 s)")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--timeout", type=float, default=150.0, help="give up on a run after")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        metavar="K",
        help="processes for the 20 agency clients, agency i in process i mod K (2)",
    )
    parser.add_argument(
        "--coordinators",
        type=int,
        default=SENDERS,
        metavar="C",
        help=f"coordinators sending back to back, to the hub and to MESH ({SENDERS})",
    )
    args = parser.parse_args(argv)
    if args.queued is None:
        args.queued = 10_000 if args.quick else 100_000
    if args.latency_seconds is None:
        args.latency_seconds = 3.0 if args.quick else 5.0
    if args.messages is not None and args.messages < 1:
        parser.error("--messages must be at least 1")
    if not 1 <= args.client_processes <= AGENCIES:
        parser.error(f"--client-processes must be 1 to {AGENCIES}")
    if not 1 <= args.coordinators <= 64:
        parser.error("--coordinators must be 1 to 64")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
