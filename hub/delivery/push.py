"""The push dispatcher: hands queued envelopes of push-transport agencies to their transport.

For each active agency whose transport pushes (``webhook``, ``smtp``, an installed one),
the dispatcher sends the agency's queued envelopes strictly in queue order: the next
envelope waits until the one before it is delivered or dead-lettered.

*Claiming.* In a short transaction the dispatcher locks the agency's oldest queued outbox
row (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serialises
the same step) and records attempt *n* as ``sending`` with a lease; the unique
(envelope, attempt) pair and the lease mean several hub processes never send one row at
once, and a process that dies mid-send leaves a lease that runs out and is retried.

*Sending.* The transport makes one attempt. A webhook POST is signed here, with the
hub's identity key (the transport calls :func:`signer`). If the agency answers with a
signed receipt, it is stored exactly as a mailbox receipt
(:func:`hub.delivery.outbox.acknowledge`) and the disclosure is ``delivered``; a
transport with no receipt (SMTP) leaves the row ``sent``, and a receipt that arrives
later through the API still marks it delivered.

*Failing.* A failed attempt is retried after exponential backoff with jitter, or after
the receiver's ``Retry-After`` if that is longer. Once an envelope has been queued for
``push_dead_letter_after`` (and has had at least one attempt), or at once when the
transport refuses it for good (too large), it is dead-lettered: the outbox row is
marked ``undelivered`` and the coordinators get a ``delivery-failed`` alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.adapters.registry import Registry
from hub.adapters.transport import Delivered, DeliveryFailed, Outgoing, Signer, Transport
from hub.agencies import get_agency
from hub.agencies.tables import agencies
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.receipts import parse_signed_receipt
from hub.crypto.request_signing import sign_request
from hub.delivery.configure import read_config
from hub.delivery.outbox import acknowledge
from hub.delivery.tables import agency_delivery, alerts, delivery_attempts, outbox
from hub.hub_keys import HubKeys
from hub.protocol.errors import HubError
from hub.settings import Settings
from hub.storage.database import Database

__all__ = ["Dispatcher", "PushSettings", "retry_delay", "signer"]

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PushSettings:
    """Timings of the dispatcher (from :class:`hub.settings.Settings`)."""

    interval: float = 1.0
    retry_initial: float = 5.0
    retry_max: float = 3600.0
    dead_letter_after: timedelta = timedelta(hours=24)
    lease: float = 300.0
    concurrency: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> PushSettings:
        """The dispatcher's part of the hub settings."""
        return cls(
            interval=settings.push_interval_seconds,
            retry_initial=settings.push_retry_initial_seconds,
            retry_max=settings.push_retry_max_seconds,
            dead_letter_after=settings.push_dead_letter_after,
            lease=settings.push_lease_seconds,
        )


def retry_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds before the next try after failed attempt ``attempt`` (1-based): uniform in
    [cap/2, cap] with cap = initial * 2**(attempt-1) up to ``maximum``, and never less
    than the receiver's ``retry_after``."""
    cap = min(maximum, initial * 2.0 ** min(attempt - 1, 32))
    return max(cap / 2 + rng() * cap / 2, retry_after or 0.0)


def signer(identity: IdentityKeyPair, hub_id: str, clock: Clock = _utc_now) -> Signer:
    """Sign an outgoing HTTP request as the hub (``X-Marac-*`` headers, as agencies sign)."""

    def sign(method: str, path: str, query: str, body: bytes) -> Mapping[str, str]:
        return sign_request(identity, hub_id, method, path, query, body, now=clock())

    return sign


@dataclass(frozen=True, slots=True)
class _Target:
    agency_id: str
    transport: Transport
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Claim:
    envelope_id: str
    envelope: bytes
    attempt: int
    created_at: datetime


class Dispatcher:
    """Pushes queued envelopes to push-transport agencies until cancelled."""

    def __init__(
        self,
        database: Database,
        keys: HubKeys,
        hub_id: str,
        registry: Registry,
        settings: PushSettings | None = None,
        *,
        clock: Clock = _utc_now,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.engine = database.engine
        self.keys = keys
        self.hub_id = hub_id
        self.registry = registry
        self.settings = settings or PushSettings()
        self.clock = clock
        self.rng = rng
        self.sign = signer(keys.identity, hub_id, clock)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now (something was queued or a receiver came back)."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch every ``interval`` seconds (sooner when woken) until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("push dispatch failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.interval)
            self._wake.clear()

    async def tick(self) -> int:
        """One pass over every push agency with queued envelopes; attempts made."""
        targets = await self._targets()
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(target: _Target) -> int:
            async with limit:
                return await self._drain(target)

        return sum(await asyncio.gather(*(one(t) for t in targets)))

    async def _targets(self) -> list[_Target]:
        push = {n: t for n, t in self.registry.transports.items() if t.push}
        if not push:
            return []
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        agency_delivery.c.agency_id,
                        agency_delivery.c.transport,
                        agency_delivery.c.config,
                    )
                    .join(agencies, agencies.c.id == agency_delivery.c.agency_id)
                    .where(
                        agencies.c.status == "active",
                        agency_delivery.c.transport.in_(list(push)),
                        select(outbox.c.seq)
                        .where(
                            outbox.c.agency_id == agency_delivery.c.agency_id,
                            outbox.c.status == "queued",
                        )
                        .exists(),
                    )
                    .order_by(agency_delivery.c.agency_id)
                )
            ).all()
        targets = []
        for row in rows:
            try:
                config = read_config(self.keys.kek, row.agency_id, row.config)
            except HubError:
                log.error("delivery settings of %s do not decrypt; not pushing", row.agency_id)
                continue
            targets.append(_Target(row.agency_id, push[row.transport], config))
        return targets

    async def _drain(self, target: _Target) -> int:
        """Send the agency's queued envelopes in order until one is not delivered now."""
        attempts = 0
        while True:
            claim = await self._claim(target)
            if claim is None:
                return attempts
            attempts += 1
            if not await self._attempt(target, claim):
                return attempts

    async def _claim(self, target: _Target) -> _Claim | None:
        now = self.clock()
        head = (
            select(func.min(outbox.c.seq))
            .where(outbox.c.agency_id == target.agency_id, outbox.c.status == "queued")
            .scalar_subquery()
        )
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        select(
                            outbox.c.envelope_id,
                            outbox.c.envelope,
                            outbox.c.created_at,
                            outbox.c.expires_at,
                        )
                        .where(outbox.c.seq == head, outbox.c.status == "queued")
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None or _aware(row.expires_at) <= now:
                    return None  # locked by another process, or left to expire()
                last = await _last_attempt(conn, row.envelope_id)
                if last is not None and not _due(last, now):
                    return None
                number = 1 if last is None else last.attempt + 1
                await conn.execute(
                    delivery_attempts.insert().values(
                        envelope_id=row.envelope_id,
                        agency_id=target.agency_id,
                        transport=target.transport.name[:32],
                        attempt=number,
                        outcome="sending",
                        started_at=now,
                        lease_until=now + timedelta(seconds=self.settings.lease),
                    )
                )
        except IntegrityError:  # another process claimed this attempt first
            return None
        return _Claim(row.envelope_id, bytes(row.envelope), number, _aware(row.created_at))

    async def _attempt(self, target: _Target, claim: _Claim) -> bool:
        """One attempt and its record; True if the envelope left the queue."""
        outgoing = Outgoing(claim.envelope_id, target.agency_id, claim.envelope, self.sign)
        try:
            delivered = await asyncio.wait_for(
                target.transport.deliver(outgoing, target.config), self.settings.lease * 0.8
            )
        except DeliveryFailed as exc:
            await self._failed(target, claim, exc.message, exc.retry_after, exc.permanent)
            return False
        except TimeoutError:
            await self._failed(target, claim, "the transport did not finish in time", None, False)
            return False
        except Exception as exc:  # an installed transport's bug: retried, never fatal
            log.warning("transport %s raised %s", target.transport.name, type(exc).__name__)
            await self._failed(
                target, claim, f"transport error ({type(exc).__name__})", None, False
            )
            return False
        await self._delivered(target, claim, delivered)
        return True

    async def _delivered(self, target: _Target, claim: _Claim, delivered: Delivered) -> None:
        now = self.clock()
        acknowledged = False
        if delivered.receipt is not None:
            acknowledged = await self._acknowledge(target.agency_id, delivered.receipt)
        async with self.engine.begin() as conn:
            await _finish(conn, claim, "delivered", now, delivered.detail)
            if not acknowledged:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.envelope_id == claim.envelope_id, outbox.c.status == "queued")
                    .values(status="sent")
                )
        log.info(
            "envelope %s %s to %s by %s (attempt %d)",
            claim.envelope_id,
            "delivered" if acknowledged else "sent",
            target.agency_id,
            target.transport.name,
            claim.attempt,
        )

    async def _acknowledge(self, agency_id: str, receipt: Mapping[str, Any]) -> bool:
        """Store the agency's signed receipt as a mailbox receipt; False if it is not good."""
        try:
            signed = parse_signed_receipt(dict(receipt))
            async with self.engine.connect() as conn:
                agency = await get_agency(conn, agency_id)
            if agency is None:
                return False
            await acknowledge(self.database.mailbox, agency, [signed], now=self.clock())
        except HubError as exc:
            log.warning("receipt from %s not stored: %s", agency_id, exc.code)
            return False
        return True

    async def _failed(
        self,
        target: _Target,
        claim: _Claim,
        detail: str,
        retry_after: float | None,
        permanent: bool,
    ) -> None:
        now = self.clock()
        dead = permanent or now - claim.created_at >= self.settings.dead_letter_after
        delay = retry_delay(
            claim.attempt,
            initial=self.settings.retry_initial,
            maximum=self.settings.retry_max,
            retry_after=retry_after,
            rng=self.rng,
        )
        async with self.engine.begin() as conn:
            await _finish(
                conn,
                claim,
                "dead" if dead else "failed",
                now,
                detail,
                retry_at=None if dead else now + timedelta(seconds=delay),
            )
            if dead:
                await _dead_letter(conn, claim, target.agency_id, now)
        if dead:
            log.warning(
                "envelope %s to %s dead-lettered after %d attempt(s): %s; coordinators alerted",
                claim.envelope_id,
                target.agency_id,
                claim.attempt,
                detail,
            )
        else:
            log.info(
                "envelope %s to %s: attempt %d failed (%s); next in %.1fs",
                claim.envelope_id,
                target.agency_id,
                claim.attempt,
                detail,
                delay,
            )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _last_attempt(conn: AsyncConnection, envelope_id: str) -> Any:
    return (
        await conn.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.envelope_id == envelope_id)
            .order_by(delivery_attempts.c.attempt.desc())
            .limit(1)
        )
    ).first()


def _due(last: Any, now: datetime) -> bool:
    """May the envelope be tried again after ``last``?"""
    if last.outcome == "sending":
        return last.lease_until is None or _aware(last.lease_until) <= now  # its sender died
    if last.outcome == "failed":
        return last.retry_at is None or _aware(last.retry_at) <= now
    return False  # delivered or dead: the outbox row is no longer queued


async def _finish(
    conn: AsyncConnection,
    claim: _Claim,
    outcome: str,
    now: datetime,
    detail: str,
    *,
    retry_at: datetime | None = None,
) -> None:
    await conn.execute(
        update(delivery_attempts)
        .where(
            delivery_attempts.c.envelope_id == claim.envelope_id,
            delivery_attempts.c.attempt == claim.attempt,
        )
        .values(outcome=outcome, finished_at=now, retry_at=retry_at, detail=detail[:200])
    )


async def _dead_letter(conn: AsyncConnection, claim: _Claim, agency_id: str, now: datetime) -> None:
    """Mark the disclosure undelivered and alert the coordinators (once)."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.envelope_id == claim.envelope_id, outbox.c.status == "queued")
        .values(status="undelivered")
    )
    exists = (
        await conn.execute(
            select(alerts.c.id).where(
                alerts.c.kind == "delivery-failed", alerts.c.envelope_id == claim.envelope_id
            )
        )
    ).first()
    if exists is None:
        await conn.execute(
            alerts.insert().values(
                kind="delivery-failed",
                agency_id=agency_id,
                envelope_id=claim.envelope_id,
                created_at=now,
            )
        )
