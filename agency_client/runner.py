"""The run loop: long-poll, open, store, acknowledge, hand on to a sink.

Each cycle:

1. rotation housekeeping (:mod:`agency_client.rotation`);
2. long-poll the mailbox;
3. open each new envelope with the private key its header names and the pinned hub
   key, and store it (a duplicate id is not opened again); an envelope that does not
   open is logged by id only and *not* acknowledged;
4. acknowledge, in batches, everything stored but not yet acknowledged (so a crash
   between storing and acknowledging re-acknowledges) and every duplicate the hub
   sent again (its earlier receipt was lost);
5. destroy retired keys if the poll allows it (an empty poll; see
   :mod:`agency_client.rotation`);
6. hand every stored message not yet handed to the sink, oldest first (so a crash
   between acknowledging and handing still hands it over on restart);
7. check that the hub logged each stored envelope (:mod:`agency_client.transparency`),
   a batch at a time after the poll, and every ``key_check_every`` that the hub's key
   entries for this agency name only keys it made. These checks never stop the loop:
   what the hub could not answer stays pending, anything wrong is an alarm;
8. every ``witness_every``, witness the log (:mod:`agency_client.witness`): cosign the
   hub's newest checkpoint if it extends the last one cosigned; a fork or rollback is
   never cosigned, and is logged at CRITICAL level (``LOG FORK``) and reported to the hub.

Connection failures, 5xx answers and "awaiting approval" are retried with
exponential backoff and jitter; other refusals stop the loop with the hub's error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agency_client.hub_client import Clock, HubClient, HubResponseError, is_transient, utc_now
from agency_client.rotation import KeyRotation
from agency_client.sinks import Sink
from agency_client.store import MessageInfo, Store
from agency_client.transparency.checker import CheckReport, LogChecker
from agency_client.transparency.entries import KnownKeys
from agency_client.witness import Witness, WitnessOutcome
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.sealing import open_envelope
from hub.protocol.envelope import Envelope, parse_timestamp
from hub.protocol.errors import HubError, InvalidEnvelope
from hub.protocol.messages import Receipt

__all__ = ["CycleReport", "Runner", "RunnerSettings", "backoff_delay"]

log = logging.getLogger(__name__)

_FINAL_ACK_REFUSALS = frozenset({400, 404})


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """How the loop polls and backs off (rotation is :class:`KeyRotation`'s business)."""

    wait: float = 30.0
    limit: int = 100
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    check_log: bool = True
    key_check_every: timedelta = timedelta(hours=1)
    witness: bool = True
    witness_every: timedelta = timedelta(minutes=5)


@dataclass(slots=True)
class CycleReport:
    """What one cycle did (counts and ids; never content)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unopened: list[str] = field(default_factory=list)
    acknowledged: int = 0
    handed: int = 0
    pending: int = 0
    rotated: str | None = None
    destroyed: list[str] = field(default_factory=list)
    log: CheckReport | None = None
    witness: WitnessOutcome | None = None

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"received {self.received}, stored {self.stored}, duplicates {self.duplicates}, "
            f"not opened {len(self.unopened)}, acknowledged {self.acknowledged}, "
            f"handed {self.handed}, waiting for the sink {self.pending}"
        )


def backoff_delay(
    attempt: int, *, initial: float, maximum: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with jitter: uniform in [cap/2, cap], cap = initial * 2**attempt."""
    cap = min(maximum, initial * 2.0 ** min(attempt, 32))
    return cap / 2 + rng() * cap / 2


class Runner:
    """Receives for one agency until stopped."""

    def __init__(
        self,
        client: HubClient,
        store: Store,
        rotation: KeyRotation,
        hub_key: IdentityPublicKey,
        sink: Sink | None,
        *,
        settings: RunnerSettings | None = None,
        clock: Clock = utc_now,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.store = store
        self.rotation = rotation
        self.hub_key = hub_key
        self.sink = sink
        self.settings = settings or RunnerSettings()
        self.clock = clock
        self.rng = rng
        self._stop = asyncio.Event()
        self._started = False
        self.log_checker = (
            LogChecker(client, store, hub_key, clock=clock) if self.settings.check_log else None
        )
        self._keys_checked: datetime | None = None
        self.witness = (
            Witness(client, store, client.identity, hub_key, clock=clock)
            if self.settings.witness
            else None
        )
        self._witnessed: datetime | None = None

    def stop(self) -> None:
        """Ask the loop to stop after the current step (safe from a signal handler)."""
        self._stop.set()

    async def start(self) -> None:
        """Load the private keys and hand over what an earlier run stored but did not hand."""
        await self.rotation.load()
        self._started = True
        report = CycleReport()
        await self.hand_over(report)
        if report.handed or report.pending:
            log.info(
                "stored earlier: handed %d, waiting for the sink %d", report.handed, report.pending
            )

    async def run(self, *, waiting: Callable[[], None] | None = None) -> None:
        """Cycle until :meth:`stop`; transient failures back off, others raise. The first
        poll does not wait: once it has succeeded, ``waiting`` is called (connected)."""
        await self.start()
        attempt = 0
        while not self._stop.is_set():
            try:
                report = await self.cycle(wait=0 if waiting else None)
            except HubError as exc:
                if not is_transient(exc):
                    raise
                delay = backoff_delay(
                    attempt,
                    initial=self.settings.backoff_initial,
                    maximum=self.settings.backoff_max,
                    rng=self.rng,
                )
                attempt += 1
                log.warning("%s; retrying in %.1fs", exc.diagnostics(), delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            attempt = 0
            if report is not None and (report.received or report.handed or report.pending):
                log.info("%s", report.summary())
            if waiting is not None and report is not None:
                waiting()
                waiting = None

    async def cycle(self, wait: float | None = None) -> CycleReport | None:
        """One poll and everything after it; None if stopped while polling."""
        if not self._started:
            await self.start()
        report = CycleReport()
        report.rotated = await self.rotation.maintain()
        started = self.clock()
        envelopes = await self._poll(self.settings.wait if wait is None else wait)
        if envelopes is None:
            return None
        report.received = len(envelopes)
        again = await self._ingest(envelopes, report)
        try:
            await self._acknowledge(again, report)
        except HubError:
            # The messages are safe in the store: hand them on even if the hub is gone.
            await self.hand_over(report)
            raise
        await self.hand_over(report)
        report.destroyed = await self.rotation.retire(
            poll_started=started, poll_empty=not envelopes
        )
        report.log = await self.check_log(keys=report.rotated is not None)
        report.witness = await self.witness_log()
        return report

    async def witness_log(self) -> WitnessOutcome | None:
        """Witness the log if due (never stops the loop; a fork is logged loudly)."""
        now = self.clock()
        if self.witness is None or (
            self._witnessed is not None and now - self._witnessed < self.settings.witness_every
        ):
            return None
        try:
            outcome = await self.witness.step()
        except HubError as exc:
            log.error("witness: %s", exc.diagnostics())
            return None
        if outcome.alarm:
            log.critical("LOG FORK: %s; the checkpoint was NOT cosigned", outcome.message)
        elif outcome.kind != "unreachable":
            self._witnessed = now
            log.info("witness: %s", outcome.message)
        return outcome

    async def check_log(self, *, keys: bool = False) -> CheckReport | None:
        """Check a batch of envelopes' log entries; the key entries too if due or ``keys``."""
        if self.log_checker is None:
            return None
        now = self.clock()
        log_report = CheckReport()
        if (
            keys
            or self._keys_checked is None
            or now - self._keys_checked >= (self.settings.key_check_every)
        ):
            records = await asyncio.to_thread(self.store.key_records)
            known = KnownKeys(
                identity=self.client.identity.fingerprint,
                encryption={r.fingerprint: r.suite for r in records},
            )
            await self.log_checker.check_keys(known, log_report)
            if log_report.unreachable is None:
                self._keys_checked = now
        await self.log_checker.check_envelopes(self.settings.limit, log_report)
        if log_report.verified or log_report.failed or log_report.alarms:
            log.info("%s", log_report.summary())
        return log_report

    async def _poll(self, wait: float) -> list[Envelope] | None:
        if self._stop.is_set():
            return None
        poll = asyncio.ensure_future(self.client.poll(wait, self.settings.limit))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (poll, stopped):
                task.cancel()  # no-op on a finished task
            await asyncio.gather(poll, stopped, return_exceptions=True)
        if poll.cancelled():
            return None
        return poll.result()

    async def _ingest(self, envelopes: Sequence[Envelope], report: CycleReport) -> list[str]:
        """Open and store new envelopes; the ids already stored that the hub sent again."""
        again: list[str] = []
        for envelope in envelopes:
            envelope_id, digest = envelope.header.id, envelope.digest()
            known = await asyncio.to_thread(self.store.info, envelope_id)
            if known is not None:
                report.duplicates += 1
                if known.envelope_sha256 == digest:
                    again.append(envelope_id)
                else:
                    log.warning("envelope %s came again with other content; ignored", envelope_id)
                continue
            key = await self.rotation.key_for(envelope.header.recipient_key)
            try:
                if key is None:
                    raise InvalidEnvelope()
                opened = open_envelope(envelope, recipient=key, sender=self.hub_key)
                if opened.header.recipient != self.client.agency_id:
                    raise InvalidEnvelope()
            except InvalidEnvelope:
                log.warning(
                    "envelope %s could not be opened%s; not acknowledged",
                    envelope_id,
                    "" if key else " (sealed to a key this client does not hold)",
                )
                report.unopened.append(envelope_id)
                continue
            if await asyncio.to_thread(self.store.add, opened, digest, self.clock()):
                report.stored += 1
            else:
                report.duplicates += 1
        return again

    async def _acknowledge(self, again: Sequence[str], report: CycleReport) -> None:
        pending = await asyncio.to_thread(self.store.unacknowledged)
        extra = [await asyncio.to_thread(self.store.info, i) for i in again]
        seen = {m.envelope_id for m in pending}
        infos = pending + [m for m in extra if m is not None and m.envelope_id not in seen]
        size = self.settings.limit
        for start in range(0, len(infos), size):
            batch = infos[start : start + size]
            try:
                await self._send([self._receipt(m) for m in batch])
            except HubResponseError as exc:
                if exc.http_status not in _FINAL_ACK_REFUSALS:
                    raise
                if len(batch) == 1:
                    await self._refused(batch[0], exc)
                else:
                    await self._one_by_one(batch, report)
                continue
            report.acknowledged += len(batch)

    async def _one_by_one(self, batch: Sequence[MessageInfo], report: CycleReport) -> None:
        """All-or-nothing refused a batch: find which receipts the hub will never take."""
        for info in batch:
            try:
                await self._send([self._receipt(info)])
            except HubResponseError as exc:
                if exc.http_status not in _FINAL_ACK_REFUSALS:
                    raise
                await self._refused(info, exc)
                continue
            report.acknowledged += 1

    async def _refused(self, info: MessageInfo, exc: HubResponseError) -> None:
        log.warning("the hub refused the receipt for %s (%s)", info.envelope_id, exc.code)
        await asyncio.to_thread(self.store.mark_ack_refused, info.envelope_id, exc.code)

    async def _send(self, receipts: Sequence[Receipt]) -> None:
        result = await self.client.send_receipts(receipts)
        await asyncio.to_thread(
            self.store.mark_acknowledged, (*result.acknowledged, *result.already), self.clock()
        )

    def _receipt(self, info: MessageInfo) -> Receipt:
        return Receipt(
            envelope_id=info.envelope_id,
            envelope_sha256=info.envelope_sha256,
            agency_id=self.client.agency_id,
            received_at=parse_timestamp(info.received_at, field="received_at"),
        )

    async def hand_over(self, report: CycleReport) -> None:
        """Hand unhanded messages to the sink, oldest first; stop at the first refusal."""
        if self.sink is None:
            return
        pending = await asyncio.to_thread(self.store.unhanded)
        for index, info in enumerate(pending):
            message = await asyncio.to_thread(self.store.message, info.envelope_id)
            try:
                taken = await self.sink.hand(message)
            except Exception as exc:  # a sink is user code: log, keep the message, retry later
                log.warning(
                    "sink failed on %s (%s); will retry", info.envelope_id, type(exc).__name__
                )
                taken = False
            if not taken:
                report.pending = len(pending) - index
                return
            await asyncio.to_thread(self.store.mark_handed, info.envelope_id, self.clock())
            report.handed += 1
