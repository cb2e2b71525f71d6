"""The delivery benchmark's agencies in child processes: receive loops, one asyncio loop each.

In deployment every agency is its own machine; in one Python process their CPU work
(decrypt, verify, sign receipts) would queue behind each other. ``agency_processes``
spawns K processes (agency i in process i mod K), each given its agents as plain data
(:class:`AgentSpec`). The exchange over each child's pipe: child ``ready`` (clients made,
one empty poll each), parent ``go``, child ``result`` (a :class:`Received`) or, on any
failure, ``error`` with the traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from agency_client.hub_client import HubClient
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, IdentityPublicKey
from hub.crypto.sealing import open_envelope
from hub.protocol.envelope import Envelope

if TYPE_CHECKING:
    from _hubproc import Agent

POLL_WAIT = 5
POLL_LIMIT = 100
START_TIMEOUT = 60.0  # spawn, import, connect; and, in a child, ready until go


@dataclass(frozen=True)
class AgentSpec:
    """What a child needs to act as one enrolled agency: picklable bytes and strings."""

    id: str
    url: str
    identity: bytes  # Ed25519 seed
    suite: str
    encryption: bytes  # EncryptionKeyPair.private_bytes()
    expected: int | None  # envelopes to acknowledge; None: sent after ``go`` (``expect``)

    @classmethod
    def of(cls, agent: Agent, expected: int | None) -> AgentSpec:
        """An enrolled agent's keys and hub URL, as its parent-side client has them."""
        return cls(
            agent.id,
            str(agent.client.base_url),
            agent.identity.private_bytes(),
            agent.encryption.suite,
            agent.encryption.private_bytes(),
            expected,
        )


@dataclass
class Received:
    """What one process's agencies received; ``cpu`` is its CPU over the receive phase."""

    opened_at: dict[str, float] = field(default_factory=dict)  # perf_counter at open
    acked_at: dict[str, float] = field(default_factory=dict)  # perf_counter at receipt
    opened: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (recipient, text)
    redelivered: int = 0
    already: int = 0
    leftover: int = 0
    cpu: float = 0.0
    timed_out: bool = False


def opened_as(
    envelope: Envelope, encryption: EncryptionKeyPair, hub_key: IdentityPublicKey
) -> tuple[str, str]:
    """Decrypt and verify (raises ``InvalidEnvelope`` if either fails); who it was for, text."""
    opened = open_envelope(envelope, recipient=encryption, sender=hub_key)
    return opened.header.recipient, str(opened.payload.get("text"))


# -- the child ------------------------------------------------------------------------


async def receive(
    spec: AgentSpec,
    client: HubClient,
    hub_key: IdentityPublicKey,
    got: Received,
    expected: dict[str, int],
) -> None:
    """Long-poll, open and verify, acknowledge each batch; until ``expected[spec.id]``
    are acked (a count the parent may send while this runs)."""
    encryption = EncryptionKeyPair(spec.suite, spec.encryption)
    acked = 0
    while acked < expected.get(spec.id, acked + 1):
        envelopes = await client.poll(wait=POLL_WAIT, limit=POLL_LIMIT)
        for envelope in envelopes:
            if envelope.header.id in got.acked_at:
                got.redelivered += 1
            got.opened[envelope.header.id] = opened_as(envelope, encryption, hub_key)
            got.opened_at[envelope.header.id] = time.perf_counter()
        if not envelopes:
            continue
        # Deployed, each agency is its own machine: no agency's envelopes wait for another's
        # receipts. Here several share a loop, so let the others whose answers arrived in
        # this turn open theirs before this one signs and sends its receipts.
        await asyncio.sleep(0)
        result = await client.acknowledge(envelopes)
        now = time.perf_counter()
        got.already += len(result.already)
        for envelope_id in result.acknowledged:
            if envelope_id not in got.acked_at:
                got.acked_at[envelope_id] = now
                acked += 1


async def receive_all(
    specs: list[AgentSpec],
    clients: list[HubClient],
    hub_key: IdentityPublicKey,
    timeout: float,
    expected: dict[str, int],
) -> Received:
    """Every agent's loop until all acked (or ``timeout``); then the leftovers, ``wait=0``."""
    got = Received()
    cpu0 = time.process_time()
    try:
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as group:
            for spec, client in zip(specs, clients, strict=True):
                group.create_task(receive(spec, client, hub_key, got, expected))
    except TimeoutError:
        got.timed_out = True
    got.cpu = time.process_time() - cpu0
    for client in clients:
        got.leftover += len(await client.poll(wait=0, limit=POLL_LIMIT))
    return got


async def _serve(conn: Connection, specs: list[AgentSpec], hub_key: bytes, timeout: float) -> None:
    clients = [
        HubClient(s.url, s.id, IdentityKeyPair.from_private_bytes(s.identity)) for s in specs
    ]
    try:
        for client in clients:
            if await client.poll(wait=0, limit=1):
                raise RuntimeError(f"{client.agency_id}: mailbox not empty before the run")
        conn.send(("ready", None))
        if not conn.poll(START_TIMEOUT) or conn.recv() != "go":
            raise RuntimeError(f"no 'go' from the parent within {START_TIMEOUT:g} s")
        key = IdentityPublicKey.from_bytes(hub_key)
        expected = {s.id: s.expected for s in specs if s.expected is not None}
        told = None if len(expected) == len(specs) else asyncio.create_task(_told(conn, expected))
        try:
            conn.send(("result", await receive_all(specs, clients, key, timeout, expected)))
        finally:
            if told is not None:
                told.cancel()
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def _told(conn: Connection, expected: dict[str, int]) -> None:
    """The counts the parent sends after ``go`` (``("expect", {agency id: n})``)."""
    await _readable(conn)
    kind, counts = conn.recv()
    if kind != "expect":
        raise RuntimeError(f"the parent sent {kind!r}, expected 'expect'")
    expected.update(counts)


def serve_agencies(
    conn: Connection, specs: list[AgentSpec], hub_key: bytes, timeout: float
) -> None:
    """A child process's body; a failure goes back to the parent as ``error`` (exit 1)."""
    try:
        asyncio.run(_serve(conn, specs, hub_key, timeout))
    except BaseException:
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            raise  # no parent to tell: let multiprocessing print it
        raise SystemExit(1) from None


# -- the parent -----------------------------------------------------------------------


@dataclass
class Child:
    """One agency process and the parent's end of its pipe."""

    process: BaseProcess
    conn: Connection

    async def message(self, kind: str) -> Any:
        """The next message, which must be ``kind``; a child's error or exit raises."""
        await _readable(self.conn)
        try:
            got, body = self.conn.recv()
        except EOFError:
            self.process.join(5)
            code = self.process.exitcode
            raise RuntimeError(f"{self.process.name} exited ({code}) before {kind!r}") from None
        if got == "error":
            raise RuntimeError(f"{self.process.name} failed:\n{body}")
        if got != kind:
            raise RuntimeError(f"{self.process.name} sent {got!r}, expected {kind!r}")
        return body


async def _readable(conn: Connection) -> None:
    """Until ``conn`` has data or its other end closed (no thread: the loop's selector)."""
    loop, fd = asyncio.get_running_loop(), conn.fileno()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


@dataclass
class AgencyProcesses:
    """Running agency processes, all ready: ``go`` starts their receive loops."""

    children: list[Child]

    def go(self) -> None:
        for child in self.children:
            child.conn.send("go")

    def expect(self, counts: dict[str, int]) -> None:
        """After ``go``: how many envelopes each agency (of ``expected=None``) must ack."""
        for child in self.children:
            child.conn.send(("expect", counts))

    async def results(self) -> list[Received]:
        """Each process's :class:`Received`, once all its agents acknowledged everything."""
        return await all_or_none(*(c.message("result") for c in self.children))


async def all_or_none(*coroutines: Any) -> list[Any]:
    """``asyncio.gather``, except that the first failure cancels the others."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def agency_processes(
    specs: list[AgentSpec], hub_key: bytes, count: int, timeout: float
) -> AsyncIterator[AgencyProcesses]:
    """``count`` spawned processes, agent i in process i mod count, every one ready."""
    context = multiprocessing.get_context("spawn")
    children = []
    try:
        for k in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=serve_agencies,
                args=(theirs, specs[k::count], hub_key, timeout),
                name=f"agency-process-{k}",
                daemon=True,
            )
            process.start()
            theirs.close()  # so that the child's exit reads as EOF here
            children.append(Child(process, ours))
        async with asyncio.timeout(START_TIMEOUT):
            await all_or_none(*(c.message("ready") for c in children))
        yield AgencyProcesses(children)
    finally:
        for child in children:
            _stop(child)


def _stop(child: Child) -> None:
    """Join a child that has finished; terminate (then kill) one that has not."""
    child.process.join(2)
    if child.process.is_alive():
        child.process.terminate()
        child.process.join(5)
    if child.process.is_alive():
        child.process.kill()
        child.process.join()
    child.conn.close()
