"""The hub's state as figures for monitoring, read from the database at scrape time.

One read per scrape, whichever process answers it, so with several hub processes the
figures are the database's and are never summed across processes. Labels are agency ids
(organisations), envelope statuses, transports, outcomes and alert kinds: never a case
reference, a person or a member of staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from hub.app.runtime import Runtime
from hub.delivery.tables import alerts, delivery_attempts, outbox
from hub.disclosure.tables import held_disclosures
from hub.log.store import size
from hub.log.tables import log_heads

__all__ = ["HubFigures", "hub_figures"]

UNACKNOWLEDGED = ("queued", "sent")  # handed over or waiting, no receipt yet


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class HubFigures:
    """What the database says at ``now``.

    ``envelopes``: (agency, status) -> outbox rows (``queued``, ``sent``, ``delivered``,
    ``expired``, ``undelivered``: dead-lettered). ``oldest_unacknowledged``: agency ->
    seconds since its oldest envelope without a receipt was queued. ``push_attempts``:
    (agency, transport, outcome) -> attempts; ``push_retries``: agency -> attempts after
    the first. ``open_alerts``: kind -> unresolved alerts. ``log_size``: entries;
    ``head_size`` and ``head_age``: the newest signed head's size and seconds since it was
    signed (None: no head yet). ``held``: disclosures held for review, ``oldest_held``:
    seconds the oldest has waited.
    """

    now: datetime
    envelopes: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_unacknowledged: dict[str, float] = field(default_factory=dict)
    push_attempts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    push_retries: dict[str, int] = field(default_factory=dict)
    open_alerts: dict[str, int] = field(default_factory=dict)
    log_size: int = 0
    head_size: int | None = None
    head_age: float | None = None
    held: int = 0
    oldest_held: float | None = None


async def hub_figures(rt: Runtime) -> HubFigures:
    """Read the figures in one read transaction (a handful of grouped counts)."""
    now = rt.clock()

    def age(moment: datetime) -> float:
        return max(0.0, (now - _aware(moment)).total_seconds())

    async with rt.engine.connect() as conn:
        envelopes = {
            (row.agency_id, row.status): int(row.n)
            for row in await conn.execute(
                select(outbox.c.agency_id, outbox.c.status, func.count().label("n")).group_by(
                    outbox.c.agency_id, outbox.c.status
                )
            )
        }
        oldest = {
            row.agency_id: age(row.oldest)
            for row in await conn.execute(
                select(outbox.c.agency_id, func.min(outbox.c.created_at).label("oldest"))
                .where(outbox.c.status.in_(UNACKNOWLEDGED))
                .group_by(outbox.c.agency_id)
            )
            if row.oldest is not None
        }
        attempts = {
            (row.agency_id, row.transport, row.outcome): int(row.n)
            for row in await conn.execute(
                select(
                    delivery_attempts.c.agency_id,
                    delivery_attempts.c.transport,
                    delivery_attempts.c.outcome,
                    func.count().label("n"),
                ).group_by(
                    delivery_attempts.c.agency_id,
                    delivery_attempts.c.transport,
                    delivery_attempts.c.outcome,
                )
            )
        }
        retries = {
            row.agency_id: int(row.n)
            for row in await conn.execute(
                select(delivery_attempts.c.agency_id, func.count().label("n"))
                .where(delivery_attempts.c.attempt > 1)
                .group_by(delivery_attempts.c.agency_id)
            )
        }
        open_alerts = {
            row.kind: int(row.n)
            for row in await conn.execute(
                select(alerts.c.kind, func.count().label("n"))
                .where(alerts.c.resolved_at.is_(None))
                .group_by(alerts.c.kind)
            )
        }
        log_size = await size(conn)
        head = (
            await conn.execute(
                select(log_heads.c.size, log_heads.c.timestamp)
                .order_by(log_heads.c.id.desc())
                .limit(1)
            )
        ).first()
        held = (
            await conn.execute(
                select(func.count(), func.min(held_disclosures.c.created_at)).where(
                    held_disclosures.c.status == "held"
                )
            )
        ).one()
    return HubFigures(
        now=now,
        envelopes=envelopes,
        oldest_unacknowledged=oldest,
        push_attempts=attempts,
        push_retries=retries,
        open_alerts=open_alerts,
        log_size=log_size,
        head_size=None if head is None else int(head.size),
        head_age=None if head is None else age(head.timestamp),
        held=int(held[0]),
        oldest_held=None if held[1] is None else age(held[1]),
    )
