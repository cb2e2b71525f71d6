"""Meetings: create, find, list; a meeting's agenda cases and its attendance.

The functions take plain ids and the name to record (``by``); who may call them (role,
area) is decided by the use-cases in ``hub.app.meetings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from hub.agencies.tables import agencies
from hub.cases import Area
from hub.cases.areas import get_area
from hub.cases.refs import CASE_REF
from hub.cases.store import case_area
from hub.meetings.tables import attendance, meeting_cases, meetings
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "ATTENDANCE",
    "Meeting",
    "add_case",
    "agenda_refs",
    "attendance_of",
    "cancel_meeting",
    "check_case_ref",
    "create_meeting",
    "get_meeting",
    "meetings_of",
    "move_meeting",
    "remove_case",
    "set_attendance",
]

ATTENDANCE: Final = ("attended", "apologies")
_ULID: Final = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


@dataclass(frozen=True, slots=True)
class Meeting:
    """One MARAC meeting of one area."""

    id: str
    area: Area
    meeting_date: date
    location: str | None
    published_at: datetime | None
    minutes_at: datetime | None
    cancelled_at: datetime | None = None
    moved_from: date | None = None  # the date before the latest move

    def as_json(self) -> dict[str, Any]:
        """The meeting as the API shows it."""
        return {
            "id": self.id,
            "area": self.area.id,
            "date": self.meeting_date.isoformat(),
            "location": self.location,
            "target_days": self.area.target_days,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "minutes_at": self.minutes_at.isoformat() if self.minutes_at else None,
            "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
            "moved_from": self.moved_from.isoformat() if self.moved_from else None,
        }

    def require_open(self) -> None:
        """Refuse changes once the minutes were sent or the meeting was cancelled."""
        if self.cancelled_at is not None:
            raise HubError("the meeting was cancelled", code="meeting-closed")
        if self.minutes_at is not None:
            raise HubError("the meeting's minutes were sent: it is closed", code="meeting-closed")


def check_case_ref(ref: object) -> str:
    """A well-formed case ref, or ``malformed``."""
    if not isinstance(ref, str) or not CASE_REF.match(ref):
        raise ProtocolError("a case ref looks like M-2026-0001")
    return ref


def _check_location(location: str | None) -> str | None:
    if location is None:
        return None
    if not isinstance(location, str) or not location.strip() or len(location) > 100:
        raise ProtocolError("a location is 1-100 characters")
    return location.strip()


async def create_meeting(
    conn: AsyncConnection,
    area: Area,
    meeting_date: date,
    location: str | None,
    *,
    by: str,
    now: datetime,
) -> Meeting:
    """Schedule a meeting of ``area`` on ``meeting_date`` (``by``: the staff name)."""
    meeting_id = str(ULID.from_datetime(now))
    place = _check_location(location)
    await conn.execute(
        meetings.insert().values(
            id=meeting_id,
            area_id=area.id,
            meeting_date=meeting_date,
            location=place,
            created_at=now,
            created_by=by,
        )
    )
    return Meeting(meeting_id, area, meeting_date, place, None, None)


async def get_meeting(conn: AsyncConnection, meeting_id: str) -> Meeting:
    """The meeting (``not-found`` for a malformed or unknown id)."""
    if not isinstance(meeting_id, str) or not _ULID.match(meeting_id):
        raise HubError("no such meeting", code="not-found")
    row = (await conn.execute(select(meetings).where(meetings.c.id == meeting_id))).first()
    if row is None:
        raise HubError("no such meeting", code="not-found")
    area = await get_area(conn, row.area_id)
    if area is None:  # a meeting's area is never deleted
        raise HubError("no such meeting", code="not-found")
    return _meeting(row, area)


def _meeting(row: Any, area: Area) -> Meeting:
    return Meeting(
        row.id,
        area,
        row.meeting_date,
        row.location,
        row.published_at,
        row.minutes_at,
        row.cancelled_at,
        row.moved_from,
    )


async def meetings_of(conn: AsyncConnection, area: Area) -> list[Meeting]:
    """The area's meetings, newest first."""
    rows = await conn.execute(
        select(meetings)
        .where(meetings.c.area_id == area.id)
        .order_by(meetings.c.meeting_date.desc(), meetings.c.id.desc())
    )
    return [_meeting(r, area) for r in rows]


async def cancel_meeting(
    conn: AsyncConnection, meeting: Meeting, *, by: str, now: datetime
) -> Meeting:
    """Cancel a meeting that is still open (``meeting-closed`` if cancelled or minuted)."""
    meeting.require_open()
    done = await conn.execute(
        update(meetings)
        .where(meetings.c.id == meeting.id, meetings.c.cancelled_at.is_(None))
        .values(cancelled_at=now, cancelled_by=by[:64])
    )
    if done.rowcount != 1:  # cancelled meanwhile
        raise HubError("the meeting was cancelled", code="meeting-closed")
    return replace(meeting, cancelled_at=now)


async def move_meeting(
    conn: AsyncConnection,
    meeting: Meeting,
    new_date: date,
    location: str | None,
    *,
    now: datetime,
) -> Meeting:
    """Move an open meeting to ``new_date`` (today or later; ``location``: a new place, or
    ``None`` to keep it). Its agenda, attendance and research stay with it."""
    meeting.require_open()
    if not isinstance(new_date, date) or isinstance(new_date, datetime):
        raise ProtocolError("date must be a date (YYYY-MM-DD)")
    if new_date < now.date():
        raise ProtocolError("a meeting cannot be moved into the past")
    place = meeting.location if location is None else _check_location(location)
    if new_date == meeting.meeting_date and place == meeting.location:
        raise ProtocolError("the meeting is already on that date at that place")
    await conn.execute(
        update(meetings)
        .where(meetings.c.id == meeting.id)
        .values(
            meeting_date=new_date, location=place, moved_at=now, moved_from=meeting.meeting_date
        )
    )
    return replace(meeting, meeting_date=new_date, location=place, moved_from=meeting.meeting_date)


async def add_case(
    conn: AsyncConnection, meeting: Meeting, case_ref: str, *, by: str, now: datetime
) -> Meeting:
    """Put a referred, not yet heard case of the meeting's area on its agenda."""
    meeting.require_open()
    check_case_ref(case_ref)
    if await case_area(conn, case_ref) != meeting.area.id:
        raise HubError("no such case in this area", code="not-found")
    present = await conn.scalar(
        select(meeting_cases.c.case_ref).where(
            meeting_cases.c.meeting_id == meeting.id, meeting_cases.c.case_ref == case_ref
        )
    )
    if present is not None:
        raise HubError("the case is already on this agenda", code="conflict")
    await conn.execute(
        meeting_cases.insert().values(
            meeting_id=meeting.id, case_ref=case_ref, added_at=now, added_by=by
        )
    )
    return meeting


async def remove_case(conn: AsyncConnection, meeting: Meeting, case_ref: str) -> Meeting:
    """Take a case off the agenda (agencies already sent it keep what they were sent)."""
    meeting.require_open()
    check_case_ref(case_ref)
    done = await conn.execute(
        delete(meeting_cases).where(
            meeting_cases.c.meeting_id == meeting.id, meeting_cases.c.case_ref == case_ref
        )
    )
    if done.rowcount != 1:
        raise HubError("the case is not on this agenda", code="not-found")
    return meeting


async def agenda_refs(conn: AsyncConnection, meeting_id: str) -> list[str]:
    """The case refs on a meeting's agenda (unordered: see ``listing.agenda``)."""
    rows = await conn.execute(
        select(meeting_cases.c.case_ref).where(meeting_cases.c.meeting_id == meeting_id)
    )
    return [r.case_ref for r in rows]


async def set_attendance(
    conn: AsyncConnection,
    meeting: Meeting,
    agency_id: str,
    status: str,
    *,
    by: str,
    now: datetime,
) -> Meeting:
    """Record that an agency attended or sent apologies (a later record replaces it)."""
    meeting.require_open()
    if status not in ATTENDANCE:
        raise ProtocolError(f"status must be one of {', '.join(ATTENDANCE)}")
    if not isinstance(agency_id, str) or not await conn.scalar(
        select(agencies.c.id).where(agencies.c.id == agency_id)
    ):
        raise HubError("no such agency", code="not-found")
    values = {"status": status, "recorded_at": now, "recorded_by": by}
    done = await conn.execute(
        update(attendance)
        .where(attendance.c.meeting_id == meeting.id, attendance.c.agency_id == agency_id)
        .values(**values)
    )
    if done.rowcount == 0:
        await conn.execute(
            attendance.insert().values(meeting_id=meeting.id, agency_id=agency_id, **values)
        )
    return meeting


async def attendance_of(conn: AsyncConnection, meeting_id: str) -> dict[str, str]:
    """``{agency_id: attended | apologies}`` for a meeting."""
    rows = await conn.execute(
        select(attendance.c.agency_id, attendance.c.status).where(
            attendance.c.meeting_id == meeting_id
        )
    )
    return {r.agency_id: r.status for r in rows}
