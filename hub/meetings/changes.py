"""Cancelling or moving a meeting, and telling the agencies that were sent its agenda.

Each agency sent the agenda (or a research request) of the meeting is told by a sealed
``Notice`` through the same path as the agenda (``send_many``: its standing checked, the
notice sealed to its key, queued and logged). The notice names the meeting, its area and
its dates: nothing about any person.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agencies
from hub.disclosure import DisclosureRequest
from hub.disclosure.request import NOTICE
from hub.meetings.meetings import Meeting, cancel_meeting, move_meeting
from hub.meetings.sending import SendResult, send_many
from hub.meetings.tables import agenda_deliveries, research_requests
from hub.policy import Decision
from hub.protocol.messages import Message, Notice

__all__ = ["cancel_and_tell", "move_and_tell", "told_agencies"]


async def told_agencies(conn: AsyncConnection, meeting_id: str) -> list[str]:
    """The agencies sent the meeting's agenda or a research request for it, sorted."""
    query = union(
        select(agenda_deliveries.c.agency_id).where(
            agenda_deliveries.c.meeting_id == meeting_id,
            agenda_deliveries.c.outcome == "disclosed",
        ),
        select(research_requests.c.agency_id).where(
            research_requests.c.meeting_id == meeting_id,
            research_requests.c.outcome == "disclosed",
        ),
    )
    return sorted({row[0] for row in await conn.execute(query)})


def _always(notice: Notice) -> Callable[[list[dict[str, Any]], Decision], Message]:
    return lambda _projections, _decision: notice


async def _tell(
    conn: AsyncConnection, ctx: Any, meeting: Meeting, text: str, actor: str
) -> list[SendResult]:
    ids = await told_agencies(conn, meeting.id)
    found = await get_agencies(conn, ids)
    notice = Notice(text=text)
    requests = [
        DisclosureRequest(
            purpose=NOTICE,
            agency=found[agency_id],
            cases=[],
            build=_always(notice),
            actor=actor,
            meeting_id=meeting.id,
        )
        for agency_id in ids
        if agency_id in found
    ]
    return await send_many(conn, ctx, requests) if requests else []


def _named(meeting: Meeting) -> str:
    return f"The MARAC meeting {meeting.id} of area {meeting.area.id}"


async def cancel_and_tell(
    conn: AsyncConnection, ctx: Any, meeting: Meeting, *, by: str, actor: str, now: datetime
) -> tuple[Meeting, list[SendResult]]:
    """Cancel the meeting and tell each agency sent its agenda, in ``conn``'s transaction."""
    cancelled = await cancel_meeting(conn, meeting, by=by, now=now)
    text = (
        f"{_named(meeting)} on {meeting.meeting_date.isoformat()} is cancelled. "
        "Its agenda will not be heard at that meeting."
    )
    return cancelled, await _tell(conn, ctx, cancelled, text, actor)


async def move_and_tell(
    conn: AsyncConnection,
    ctx: Any,
    meeting: Meeting,
    new_date: date,
    location: str | None,
    *,
    actor: str,
    now: datetime,
) -> tuple[Meeting, list[SendResult]]:
    """Move the meeting (its agenda stays) and tell each agency sent its agenda."""
    moved = await move_meeting(conn, meeting, new_date, location, now=now)
    where = f" at {moved.location}" if moved.location else ""
    text = (
        f"{_named(meeting)} is moved from {meeting.meeting_date.isoformat()} to "
        f"{moved.meeting_date.isoformat()}{where}. Its agenda is unchanged."
    )
    return moved, await _tell(conn, ctx, moved, text, actor)
