"""Chasing overdue actions: a ``Notice`` to the owner, at most once a day per action.

The notice names only the action id, the case ref and the due date (no description,
no person): it goes through ``disclose`` with purpose ``notice`` and no cases, so it
is logged like any other disclosure, and a refusal is logged too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agency
from hub.meetings.rules import OPEN, should_chase
from hub.meetings.sending import SendResult, send
from hub.meetings.tables import actions
from hub.protocol.messages import Notice

__all__ = ["chase_overdue", "chase_text"]


def chase_text(action_id: str, case_ref: str, due: str) -> str:
    """The chase notice: identifiers and a date, nothing about any person."""
    return (
        f"MARAC action {action_id} (case {case_ref}) was due on {due} and is not recorded "
        "as completed. Please send an action update with its status and, if not completed, "
        "the reason."
    )


def _notice(text: str) -> Callable[[list[dict[str, Any]], Any], Notice]:
    def build(_projections: list[dict[str, Any]], _decision: Any) -> Notice:
        return Notice(text=text)

    return build


async def chase_overdue(
    conn: AsyncConnection,
    ctx: Any,
    *,
    now: datetime,
    areas: Collection[str] | None = None,
    actor: str = "hub",
) -> list[tuple[str, SendResult]]:
    """Chase every overdue action not chased today (optionally only in ``areas``).

    ``actor``: ``hub`` for the housekeeping loop's daily chase, else the member of staff
    who asked (``role:name``)."""
    today = now.date()
    query = select(actions).where(actions.c.status.in_(sorted(OPEN)), actions.c.due_date < today)
    if areas is not None:
        query = query.where(actions.c.area_id.in_(sorted(areas)))
    rows = (await conn.execute(query.order_by(actions.c.due_date, actions.c.id))).all()
    chased = []
    for row in rows:
        if not should_chase(row.status, row.due_date, row.last_chased_on, today):
            continue
        agency = await get_agency(conn, row.owner_agency)
        if agency is None:
            continue
        text = chase_text(row.id, row.case_ref, row.due_date.isoformat())
        outcome = await send(
            conn,
            ctx,
            purpose="notice",
            agency=agency,
            cases=[],
            build=_notice(text),
            actor=actor,
            meeting_id=row.meeting_id,
            case_ref=row.case_ref,
        )
        await conn.execute(
            update(actions).where(actions.c.id == row.id).values(last_chased_on=today)
        )
        chased.append((row.id, outcome))
    return chased
