"""Retention: destroy the data keys of cases past their area's retention period.

A case is kept for its area's ``retention_years`` after its last referral (a repeat
extends the cases it follows), unless it is on legal hold. Destroying the key makes
every field of the case, and whatever other modules stored under its key, unreadable;
the blind-index match keys and the ciphertexts are cleared too. The case row, its ref,
its subject ids and the disclosure log remain, so the log stays whole and verifiable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.tables import areas, case_keys, case_subjects, cases
from hub.log import LogEntry, append
from hub.storage.sql import overwrite_deleted

__all__ = ["RetentionRun", "retention_due", "run_retention"]


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What a retention run destroyed (or would destroy) and what legal holds kept."""

    destroyed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    subject_ids: list[str] = field(default_factory=list)


def retention_due(last_referral: date, years: int) -> date:
    """The first day a case may be destroyed: ``years`` after its last referral."""
    try:
        return last_referral.replace(year=last_referral.year + years)
    except ValueError:  # 29 February
        return last_referral.replace(year=last_referral.year + years, month=3, day=1)


async def _candidates(conn: AsyncConnection, today: date) -> tuple[list[str], list[str]]:
    rows = await conn.execute(
        select(cases.c.ref, cases.c.last_referral_on, cases.c.legal_hold, areas.c.retention_years)
        .join(areas, areas.c.id == cases.c.area_id)
        .where(cases.c.destroyed_at.is_(None))
        .order_by(cases.c.ref)
    )
    due: list[str] = []
    held: list[str] = []
    for row in rows:
        if retention_due(row.last_referral_on, row.retention_years) <= today:
            (held if row.legal_hold else due).append(row.ref)
    return due, held


async def run_retention(
    conn: AsyncConnection, *, now: datetime, actor: str, dry_run: bool = False
) -> RetentionRun:
    """Destroy the keys of every case due (in the caller's transaction), or just list them.

    Each destroyed case gets a ``retention`` entry in the disclosure log (its ref and
    subject ids, no names) naming ``actor`` (``role:name`` of whoever ran it: the use-case
    ``retention.run`` passes it), written in the same transaction.
    """
    due, held = await _candidates(conn, now.date())
    by_case: dict[str, list[str]] = {ref: [] for ref in due}
    for r in await conn.execute(
        select(case_subjects.c.case_ref, case_subjects.c.subject_id)
        .where(case_subjects.c.case_ref.in_(due))
        .order_by(case_subjects.c.case_ref, case_subjects.c.position)
    ):
        by_case[r.case_ref].append(r.subject_id)
    subjects = [s for ref in due for s in by_case[ref]]
    if dry_run or not due:
        return RetentionRun(due, held, subjects)
    await append(
        conn,
        [
            LogEntry(
                kind="retention",
                at=now,
                actor=actor,
                case_refs=(ref,),
                subject_ids=tuple(by_case[ref]),
                status="key_destroyed",
            )
            for ref in due
        ],
    )
    await overwrite_deleted(conn)
    await conn.execute(
        update(case_keys)
        .where(case_keys.c.case_ref.in_(due))
        .values(wrapped=None, destroyed_at=now)
    )
    await conn.execute(
        update(case_subjects)
        .where(case_subjects.c.case_ref.in_(due))
        .values(match_key=None, details=None)
    )
    await conn.execute(
        update(cases)
        .where(cases.c.ref.in_(due))
        .values(
            status="destroyed",
            destroyed_at=now,
            answers=None,
            referral_text=None,
            safe_contact=None,
            hold_reason=None,
        )
    )
    return RetentionRun(due, held, subjects)
