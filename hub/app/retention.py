"""Use-cases for retention and the SafeLives return.

* ``retention.list`` (admin, DPO): each case's retention date, legal holds, destroyed cases.
* ``retention.due`` (admin, DPO): what a run would destroy now (a dry run; nothing changes).
* ``retention.run`` (admin only): destroy the data keys of the cases past retention, each
  logged as a ``retention`` entry naming the admin (``admin:NAME``; the host's operator is
  ``admin:cli``). The DPO audits retention and may list what is due, but does not destroy:
  the DPO role never writes, and the person who checks that data is destroyed on time is
  not the one who destroys it (UK GDPR Art. 38(6): no conflict of interests).
* ``report.safelives`` (admin, DPO: every area or one; a coordinator: one of their own
  areas, named): the quarterly meeting-level counts. It reads victims' equality data to
  count it and shows only counts, so it writes no ``access`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, use_case
from hub.app.rules import require_area
from hub.app.runtime import Runtime
from hub.cases.retention import RetentionRun, retention_due, run_retention
from hub.cases.safelives import Quarter, parse_quarter, safelives_csv
from hub.cases.tables import areas, cases
from hub.protocol.errors import ProtocolError
from hub.storage.sql import scrub_free_pages

__all__ = [
    "Quarter",
    "RetentionItem",
    "RetentionRun",
    "list_retention",
    "parse_quarter",
    "retention_run",
    "retention_to_do",
    "safelives_report",
]

AUDITORS = ("admin", "dpo")


@dataclass(frozen=True, slots=True)
class RetentionItem:
    """One case's retention: its last referral, the first day it may be destroyed."""

    ref: str
    area: str
    last: date
    due: date
    hold: bool
    destroyed: datetime | None


@use_case("retention.list", *AUDITORS)
async def list_retention(rt: Runtime, actor: Actor) -> list[RetentionItem]:
    """Each case's retention date, legal hold and whether it is destroyed (no personal data)."""
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    cases.c.ref,
                    cases.c.area_id,
                    cases.c.last_referral_on,
                    cases.c.legal_hold,
                    cases.c.destroyed_at,
                    areas.c.retention_years,
                )
                .join(areas, areas.c.id == cases.c.area_id)
                .order_by(cases.c.last_referral_on, cases.c.ref)
            )
        ).all()
    return [
        RetentionItem(
            r.ref,
            r.area_id,
            r.last_referral_on,
            retention_due(r.last_referral_on, r.retention_years),
            bool(r.legal_hold),
            r.destroyed_at,
        )
        for r in rows
    ]


@use_case("retention.due", *AUDITORS)
async def retention_to_do(rt: Runtime, actor: Actor) -> RetentionRun:
    """What a retention run would destroy today, and what legal holds keep (changes nothing)."""
    async with rt.engine.connect() as conn:
        return await run_retention(conn, now=rt.clock(), actor=actor.log_name, dry_run=True)


@use_case("retention.run", "admin")
async def retention_run(rt: Runtime, actor: Actor) -> RetentionRun:
    """Destroy the keys of every case past retention (not on legal hold), logged with the
    admin as actor; on SQLite the write-ahead log is then folded in and truncated."""
    async with rt.engine.begin() as conn:
        done = await run_retention(conn, now=rt.clock(), actor=actor.log_name)
    if done.destroyed:
        await scrub_free_pages(rt.engine)
    return done


@use_case("report.safelives", *ANY_STAFF)
async def safelives_report(
    rt: Runtime, actor: Actor, quarter: str | Quarter, area: str | None = None
) -> str:
    """The SafeLives return for ``quarter`` as CSV: every area (admin, DPO) or one area
    (a coordinator must name one of theirs)."""
    which = quarter if isinstance(quarter, Quarter) else parse_quarter(quarter)
    if area is None and actor.role == "coordinator":
        raise ProtocolError("a coordinator's return names one of their areas", code="missing-field")
    async with rt.engine.begin() as conn:
        if area is not None:
            await require_area(conn, actor, area)
        return await safelives_csv(conn, rt.keys, which, area)
