"""What a coordinator lists for a meeting: candidate cases and the agenda, with clocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases import CaseSummary, list_cases
from hub.meetings.meetings import Meeting, agenda_refs
from hub.meetings.rules import Clock, order_cases, referral_clock

__all__ = ["Listed", "agenda", "candidates"]


@dataclass(frozen=True, slots=True)
class Listed:
    """A case as a meeting list shows it: pseudonymous facts and its clock."""

    case: CaseSummary
    clock: Clock
    on_agenda: bool
    position: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as the API shows it."""
        return {
            "case_ref": self.case.ref,
            "position": self.position,
            "on_agenda": self.on_agenda,
            "referred_on": self.case.referred_on.isoformat(),
            "has_children": self.case.has_children,
            "is_repeat": self.case.is_repeat,
            "level": self.case.level,
            "perpetrator_must_not_know": self.case.perpetrator_must_not_know,
            "days_to_meeting": self.clock.days,
            "target_days": self.clock.target,
            "days_left": self.clock.days_left,
            "breached": self.clock.breached,
        }


async def candidates(conn: AsyncConnection, meeting: Meeting) -> list[Listed]:
    """The area's referred cases not yet heard: children's cases first, then by referral."""
    on = set(await agenda_refs(conn, meeting.id))
    found = [c for c in await list_cases(conn, meeting.area.id, "referred") if not c.destroyed]
    return [_listed(meeting, c, c.ref in on) for c in order_cases(found)]


async def agenda(conn: AsyncConnection, meeting: Meeting) -> list[Listed]:
    """The meeting's agenda in order (children's cases first), each with its position."""
    on = set(await agenda_refs(conn, meeting.id))
    found = order_cases(c for c in await list_cases(conn, meeting.area.id) if c.ref in on)
    return [_listed(meeting, c, True, i) for i, c in enumerate(found, start=1)]


def _listed(meeting: Meeting, case: CaseSummary, on: bool, position: int | None = None) -> Listed:
    clock = referral_clock(case.referred_on, meeting.meeting_date, meeting.area.target_days)
    return Listed(case, clock, on, position)
