"""End-to-end delivery throughput: from ``POST /api/v1/notices`` to a stored signed receipt.

Run from the repository root::

    .venv/bin/python bench/delivery.py                # 50 notices x 20 agencies, both engines
    .venv/bin/python bench/delivery.py --quick        # 10 notices x 20 agencies
    .venv/bin/python bench/delivery.py --messages 200 # more notices, steadier numbers
    .venv/bin/python bench/delivery.py --profile-hub prof/  # + pyinstrument of the hub

For each storage engine (SQLite in the data directory; PostgreSQL on
127.0.0.1:5432, user ``postgres``, a fresh database per run made by
:func:`hub.testing.postgres_database`, the row skipped if no server answers):

1. ``marac-hub --data-dir D init`` runs as a real process (key files at the
   ``interactive`` strength, to keep set-up short) and the admin token is read from
   its output; ``marac-hub --data-dir D serve --port P`` then runs as a separate
   process on a free loopback port until ``/readyz`` answers.
2. 20 agencies are invited (``POST /api/v1/agencies``), enrolled with
   :meth:`agency_client.hub_client.HubClient.enrol` (fresh identity and encryption
   keys) and approved with their identity fingerprint. Not timed.
3. Timed: one coordinator sends ``--messages`` notices of 2 048 characters, one after
   the other, each ``{"to": "all"}`` so each is sealed to 20 agencies (20 messages per
   notice). Meanwhile, in this process, 20 agency clients long-poll their mailbox
   (``wait`` 5 s, ``limit`` 100), open every envelope with
   :func:`hub.crypto.sealing.open_envelope` (decrypt and verify against the hub key
   from ``GET /api/v1/hub``) and acknowledge each poll's batch with signed receipts.
   The clock stops when the hub's answers have listed every message under
   ``acknowledged``.

Reported per engine: messages/s end to end (20 x notices / wall time from the first
send to the last acknowledgement), notices/s (notices / time from the first send
to the last ``202``), the p50 / p99 latency of one message from the start of its
``POST /api/v1/notices`` to the answer acknowledging it, and the CPU seconds the hub
process and this process spent in the timed window. Both share the machine, so on a
2-core box the client side (open + sign receipts + sign requests) competes with the
hub for CPU; the CPU columns show how the work splits.

Checks (the row is marked ✗ if any fails): every envelope id the notices returned is
acknowledged once; no envelope came back after it was acknowledged (duplicates after
de-duplication by id) and the hub never answered ``already``; each agency received
exactly one envelope per notice, addressed to it, whose decrypted text is the notice's
text; and a final ``wait=0`` poll finds every mailbox empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import cryptography
import sqlalchemy
from _machine import machine_line

from agency_client.hub_client import HubClient
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, IdentityPublicKey
from hub.crypto.sealing import open_envelope
from hub.protocol.envelope import Envelope
from hub.testing import POSTGRES_ADMIN_URL, postgres_database

AGENCIES = 20
DEFAULT_NOTICES = 50
QUICK_NOTICES = 10
NOTICE_CHARS = 2048
POLL_WAIT = 5
POLL_LIMIT = 100
READY_TIMEOUT = 30.0
KINDS = ("police", "idva", "childrens_social_care", "adult_social_care", "health")

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


# -- the hub process ------------------------------------------------------------------


def hub_command() -> list[str]:
    """``marac-hub`` next to this interpreter, or ``python -m hub`` (the same CLI)."""
    script = Path(sys.executable).parent / "marac-hub"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub"]


def hub_env(database_url: str | None) -> dict[str, str]:
    """This environment without stray ``MARAC_HUB_*`` settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARAC_HUB_")}
    env["MARAC_HUB_KEY_FILE_STRENGTH"] = "interactive"
    if database_url:
        env["MARAC_HUB_DATABASE_URL"] = database_url
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def admin_token(init_output: str) -> str:
    """The token ``marac-hub init`` prints on the line after ``admin token for ...``."""
    lines = [line.strip() for line in init_output.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("admin token for"):
            for candidate in lines[i + 1 :]:
                if candidate:
                    return candidate
    raise RuntimeError(f"no admin token in marac-hub init output:\n{init_output}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class HubProcess:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.asynccontextmanager
async def hub_process(
    data_dir: Path, database_url: str | None, profile: Path | None
) -> AsyncIterator[HubProcess]:
    """``marac-hub init`` then ``marac-hub serve`` on a free port; stopped on exit."""
    env = hub_env(database_url)
    base = [*hub_command(), "--data-dir", str(data_dir)]
    init = subprocess.run(
        [*base, "init"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if init.returncode != 0:
        raise RuntimeError(f"marac-hub init failed ({init.returncode}):\n{init.stderr}")
    token = admin_token(init.stdout)
    port = free_port()
    serve = [*base, "serve", "--port", str(port)]
    if profile is not None:
        # pyinstrument runs the same CLI as a module and writes its report on exit.
        serve = [
            sys.executable,
            "-m",
            "pyinstrument",
            "--renderer",
            "text",
            "--outfile",
            str(profile),
            "-m",
            "hub",
            *serve[len(hub_command()) :],
        ]
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(serve, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, process, log)
        yield HubProcess(url, token, process, log)
    finally:
        # The hub lets handlers finish for up to 5 s on SIGTERM (``shutdown_timeout``), and
        # a long-poll whose client went away keeps running until its ``wait`` ends, so
        # after the polls this benchmark cancels, stopping takes ~5 s: wait for that.
        stop(process, grace=60.0 if profile is not None else POLL_WAIT + 10.0)


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate, then kill if it has not gone within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"marac-hub serve exited ({process.returncode}):\n{tail}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"marac-hub serve did not answer /readyz within {READY_TIMEOUT:g} s")


# -- agencies -------------------------------------------------------------------------


@dataclass
class Agent:
    """One enrolled agency: its keys, its client and what it received."""

    id: str
    identity: IdentityKeyPair
    encryption: EncryptionKeyPair
    client: HubClient
    pinned_hub_key: IdentityPublicKey  # the hub key enrolment returned


async def staff(http: aiohttp.ClientSession, hub: HubProcess, path: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {hub.token}"}
    async with http.post(hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        if resp.status not in {200, 201, 202}:
            raise RuntimeError(f"POST {path}: HTTP {resp.status}: {doc}")
        return doc


async def make_agent(http: aiohttp.ClientSession, hub: HubProcess, index: int) -> Agent:
    """Invite, enrol (``HubClient.enrol``) and approve one agency."""
    agency_id = f"agency-{index:02d}"
    doc = await staff(
        http,
        hub,
        "/api/v1/agencies",
        {
            "id": agency_id,
            "name": f"Agency {index:02d}",
            "kind": KINDS[index % len(KINDS)],
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-01-05",
        },
    )
    identity, encryption = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    enrolment = await HubClient.enrol(
        hub.url, doc["enrolment_code"], identity, encryption.public, now=datetime.now(UTC)
    )
    await staff(
        http,
        hub,
        f"/api/v1/agencies/{agency_id}/approve",
        {"identity_fingerprint": enrolment.identity_fingerprint},
    )
    client = HubClient(hub.url, agency_id, identity)
    return Agent(agency_id, identity, encryption, client, enrolment.hub_key)


# -- the timed run --------------------------------------------------------------------


@dataclass
class Run:
    """What one engine's run measured."""

    notices: int
    expected: int
    texts: list[str]
    send_at: dict[str, float] = field(default_factory=dict)  # envelope id -> POST start
    sent_to: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (agency, notice)
    acked_at: dict[str, float] = field(default_factory=dict)
    opened: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (recipient, text)
    deliveries: int = 0
    redelivered: int = 0
    already: int = 0
    double_acks: int = 0
    leftover: int = 0
    start: float = 0.0
    sends_done: float = 0.0
    end: float = 0.0
    hub_cpu: float | None = None
    client_cpu: float = 0.0
    setup: float = 0.0
    all_acked: asyncio.Event = field(default_factory=asyncio.Event)

    def problems(self) -> list[str]:
        """Every failed check, in words; empty means exactly once, intact."""
        found = []
        if len(self.sent_to) != self.expected:
            found.append(f"{len(self.sent_to)} envelope ids sent, {self.expected} expected")
        missing = set(self.sent_to) - set(self.acked_at)
        extra = set(self.acked_at) - set(self.sent_to)
        if missing:
            found.append(f"{len(missing)} never acknowledged")
        if extra:
            found.append(f"{len(extra)} acknowledged but never sent")
        if self.redelivered or self.already or self.double_acks:
            found.append(
                f"duplicates: {self.redelivered} redelivered, {self.already} 'already', "
                f"{self.double_acks} acknowledged twice"
            )
        per_agency: dict[str, set[int]] = {}
        for agency_id, notice in self.sent_to.values():
            per_agency.setdefault(agency_id, set()).add(notice)
        if len(per_agency) != AGENCIES or any(len(n) != self.notices for n in per_agency.values()):
            found.append("not one envelope per agency per notice")
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

    def latencies_ms(self) -> list[float]:
        return sorted(
            (self.acked_at[i] - self.send_at[i]) * 1000 for i in self.send_at if i in self.acked_at
        )


async def send_notices(http: aiohttp.ClientSession, hub: HubProcess, run: Run) -> None:
    """One coordinator, one notice after another, each to all agencies."""
    for index, text in enumerate(run.texts):
        started = time.perf_counter()
        doc = await staff(http, hub, "/api/v1/notices", {"to": "all", "text": text})
        for item in doc["envelopes"]:
            run.send_at[item["id"]] = started
            run.sent_to[item["id"]] = (item["to"], index)
    run.sends_done = time.perf_counter()


async def receive(agent: Agent, hub_key: IdentityPublicKey, run: Run) -> None:
    """Long-poll, open and verify every envelope, acknowledge each batch; until all acked."""
    while not run.all_acked.is_set():
        envelopes = await agent.client.poll(wait=POLL_WAIT, limit=POLL_LIMIT)
        if not envelopes:
            continue
        for envelope in envelopes:
            run.deliveries += 1
            if envelope.header.id in run.acked_at:
                run.redelivered += 1
            run.opened[envelope.header.id] = opened_as(envelope, agent, hub_key)
        result = await agent.client.acknowledge(envelopes)
        now = time.perf_counter()
        run.already += len(result.already)
        for envelope_id in result.acknowledged:
            if envelope_id in run.acked_at:
                run.double_acks += 1
            else:
                run.acked_at[envelope_id] = now
        if len(run.acked_at) >= run.expected:
            run.all_acked.set()


def opened_as(envelope: Envelope, agent: Agent, hub_key: IdentityPublicKey) -> tuple[str, str]:
    """Decrypt and verify (raises ``InvalidEnvelope`` if either fails); who it was for, text."""
    opened = open_envelope(envelope, recipient=agent.encryption, sender=hub_key)
    return opened.header.recipient, str(opened.payload.get("text"))


async def until_all_acked(run: Run, tasks: list[asyncio.Task[None]]) -> None:
    """Return once every message is acknowledged; re-raise the first task that fails."""
    waiter = asyncio.create_task(run.all_acked.wait())
    pending: set[asyncio.Task[Any]] = {waiter, *tasks}
    try:
        while waiter in pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
    finally:
        waiter.cancel()


async def measure(hub: HubProcess, run: Run, timeout: float) -> None:
    async with aiohttp.ClientSession() as http:
        agents = await asyncio.gather(*(make_agent(http, hub, i) for i in range(AGENCIES)))
        try:
            hub_key = (await agents[0].client.fetch_hub_info()).identity_key
            if any(a.pinned_hub_key != hub_key for a in agents):
                raise RuntimeError("GET /api/v1/hub disagrees with the key pinned at enrolment")
            hub_cpu0 = cpu_seconds(hub.process.pid)
            client_cpu0 = time.process_time()
            run.start = time.perf_counter()
            receivers = [asyncio.create_task(receive(a, hub_key, run)) for a in agents]
            sender = asyncio.create_task(send_notices(http, hub, run))
            tasks = [sender, *receivers]
            try:
                async with asyncio.timeout(timeout):
                    await until_all_acked(run, tasks)
                    await sender  # its last answer may come after the last receipt
            except TimeoutError:
                print(f"_timed out after {timeout:g} s; the row is incomplete_")
            finally:
                run.end = max(run.acked_at.values(), default=time.perf_counter())
                hub_cpu1 = cpu_seconds(hub.process.pid)
                run.client_cpu = time.process_time() - client_cpu0
                if hub_cpu0 is not None and hub_cpu1 is not None:
                    run.hub_cpu = hub_cpu1 - hub_cpu0
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for agent in agents:
                run.leftover += len(await agent.client.poll(wait=0, limit=POLL_LIMIT))
        finally:
            await asyncio.gather(*(a.client.close() for a in agents))


async def bench_engine(
    label: str, database_url: str | None, notices: int, timeout: float, profile_dir: Path | None
) -> Run:
    run = Run(
        notices=notices,
        expected=AGENCIES * notices,
        texts=[notice_text(i) for i in range(notices)],
    )
    profile = None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        profile = profile_dir / f"hub-{label.lower()}.txt"
    setup_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="marac-bench-") as tmp:
        async with hub_process(Path(tmp) / "hub", database_url, profile) as hub:
            run.setup = time.perf_counter() - setup_started
            await measure(hub, run, timeout)
    if profile is not None:
        print(f"_hub profile ({label}): {profile}_")
    return run


def host_of(admin_url: str) -> str:
    """``host:port`` of a PostgreSQL URL, for messages."""
    return admin_url.split("@", 1)[-1].split("/", 1)[0]


async def postgres_version(admin_url: str) -> str | None:
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# -- output ---------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


HEADERS = [
    "database",
    "notices",
    "messages",
    "wall s",
    "messages/s",
    "notices/s",
    "p50 ms",
    "p99 ms",
    "hub CPU s",
    "client CPU s",
    "acked / expected",
    "dups",
    "exactly once",
]


def row(label: str, run: Run) -> list[str]:
    wall = run.end - run.start
    sends = run.sends_done - run.start if run.sends_done else math.nan
    lat = run.latencies_ms()
    dups = run.redelivered + run.already + run.double_acks
    return [
        label,
        str(run.notices),
        f"{run.expected:,}",
        f"{wall:.2f}",
        f"{len(run.acked_at) / wall:,.0f}" if wall > 0 else "-",
        f"{run.notices / sends:,.1f}" if sends > 0 else "-",
        f"{percentile(lat, 0.5):,.0f}",
        f"{percentile(lat, 0.99):,.0f}",
        f"{run.hub_cpu:.1f}" if run.hub_cpu is not None else "-",
        f"{run.client_cpu:.1f}",
        f"{len(run.acked_at):,} / {run.expected:,}",
        str(dups),
        "✗" if run.problems() else "✓",
    ]


def print_table(rows: list[list[str]]) -> None:
    print("| " + " | ".join(HEADERS) + " |")
    print("| " + " | ".join(["---"] + ["---:"] * (len(HEADERS) - 2) + [":---:"]) + " |")
    for cells in rows:
        padded = cells + [""] * (len(HEADERS) - len(cells))
        print("| " + " | ".join(padded) + " |")


class Skipped(Exception):
    """The engine cannot run here (no PostgreSQL server answers)."""


async def run_engine(label: str, args: argparse.Namespace, notices: int) -> Run:
    """One row: SQLite in the data directory, or a fresh PostgreSQL database."""
    if label == "SQLite":
        return await bench_engine(label, None, notices, args.timeout, args.profile_hub)
    database = postgres_database(args.postgres_url)
    try:
        url = await database.__aenter__()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        where = host_of(args.postgres_url)
        raise Skipped(f"no PostgreSQL at {where} ({type(exc).__name__}: {exc})") from None
    try:
        return await bench_engine(label, url, notices, args.timeout, args.profile_hub)
    finally:
        await database.__aexit__(None, None, None)


async def amain(args: argparse.Namespace) -> int:
    notices = args.messages or (QUICK_NOTICES if args.quick else DEFAULT_NOTICES)
    pg_version = await postgres_version(args.postgres_url)
    print("# end-to-end delivery: send → open → stored signed receipt\n")
    print(machine_line())
    print(
        f"- python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"sqlalchemy {sqlalchemy.__version__}, aiohttp {aiohttp.__version__}, "
        f"PostgreSQL {pg_version or 'not reachable'}"
    )
    print(
        f"- {AGENCIES} agencies on loopback; {notices} notices of {NOTICE_CHARS} characters, "
        f'each {{"to": "all"}} → {AGENCIES * notices} sealed messages; one coordinator '
        f"sending back to back; clients poll wait={POLL_WAIT} s limit={POLL_LIMIT}, "
        "open + verify, acknowledge each batch"
    )
    print(
        "- latency: start of the notice's POST → the receipts answer listing the message as "
        "acknowledged; CPU: hub process and this (client) process over the timed window\n"
    )
    sys.stdout.flush()
    started = time.perf_counter()
    rows: list[list[str]] = []
    notes: list[str] = []
    failed = False
    for engine in (e for e in ("sqlite", "postgresql") if e in args.engines):
        label = "SQLite" if engine == "sqlite" else "PostgreSQL"
        try:
            run = await run_engine(label, args, notices)
        except Skipped as exc:
            print(f"_{label} row skipped: {exc}_")
            rows.append([label, f"skipped: {exc}"])
            continue
        except Exception as exc:
            failed = True
            rows.append([label, f"failed: {type(exc).__name__}: {exc}"])
            continue
        rows.append(row(label, run))
        problems = run.problems()
        failed = failed or bool(problems)
        notes.append(
            f"- {label}: set-up (init, serve, enrol {AGENCIES}) {run.setup:.1f} s; "
            f"{run.deliveries:,} envelopes received for {len(run.opened):,} ids; "
            + ("; ".join(problems) if problems else "every check passed")
        )
    print()
    print_table(rows)
    print()
    for note in notes:
        print(note)
    print(f"\n_total run time {time.perf_counter() - started:.1f} s_")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--messages",
        type=int,
        default=None,
        help=f"notices to send, each to all {AGENCIES} agencies "
        f"(default {DEFAULT_NOTICES}, or {QUICK_NOTICES} with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_NOTICES} notices")
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=("sqlite", "postgresql"),
        default=("sqlite", "postgresql"),
        help="storage engines to run (default both)",
    )
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_ADMIN_URL,
        help="PostgreSQL server to make the per-run database on (default %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=150.0, help="give up on a row after this many seconds"
    )
    parser.add_argument(
        "--profile-hub",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the hub under pyinstrument; write DIR/hub-<engine>.txt",
    )
    args = parser.parse_args(argv)
    if args.messages is not None and args.messages < 1:
        parser.error("--messages must be at least 1")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
