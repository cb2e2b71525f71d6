"""The coordinator's dashboard (use-case ``dashboard.show``): per area they work in, the
next meeting, the cases awaiting listing with their referral-to-meeting clocks, overdue
actions by agency (their descriptions are decrypted: logged as an ``access`` entry), and
the disclosures held for review that they may decide."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import WRITERS, use_case
from hub.app.disclosures import HeldDisclosure, four_eyes, list_holds
from hub.app.runtime import Runtime
from hub.cases.areas import Area, list_areas
from hub.cases.store import CaseSummary, list_cases
from hub.meetings.actions import Action, find_actions
from hub.meetings.listing import candidates
from hub.meetings.meetings import Meeting, meetings_of
from hub.meetings.rules import Clock, referral_clock

__all__ = ["AreaBoard", "Dashboard", "next_meeting", "show_dashboard"]


@dataclass
class AreaBoard:
    """One area's part of the dashboard."""

    area: Area
    next_meeting: Meeting | None = None
    awaiting: list[tuple[CaseSummary, Clock]] = field(default_factory=list)
    overdue: dict[str, list[Action]] = field(default_factory=dict)
    held: list[HeldDisclosure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The boards of the actor's areas, and the holds tied to no area (an admin's)."""

    boards: list[AreaBoard]
    held_elsewhere: list[HeldDisclosure]
    actor: Actor
    four_eyes: dict[str, bool]

    def waits_for_another(self, held: HeldDisclosure) -> bool:
        """True if ``held`` is the actor's own request and four eyes apply to it: a second
        person approves it (the actor may still reject it)."""
        mine = held.requested_by in (self.actor.log_name, self.actor.name)
        return mine and any(self.four_eyes.get(a, True) for a in held.area_ids or ("",))


def next_meeting(meetings: list[Meeting], today: date) -> Meeting | None:
    """The earliest meeting on or after ``today`` whose minutes are not yet sent."""
    upcoming = [m for m in meetings if m.meeting_date >= today and m.minutes_at is None]
    return min(upcoming, key=lambda m: (m.meeting_date, m.id)) if upcoming else None


@use_case("dashboard.show", *WRITERS)
async def show_dashboard(rt: Runtime, actor: Actor) -> Dashboard:
    """The dashboard of every area ``actor`` works in (an admin: every area)."""
    holds = await list_holds(rt, actor)
    now = rt.clock()
    today = now.date()
    boards: list[AreaBoard] = []
    eyes: dict[str, bool] = {}
    async with rt.engine.begin() as conn:
        only = set(actor.areas or ()) if actor.role != "admin" else None
        for area in await list_areas(conn, only):
            eyes[area.id] = await four_eyes(conn, [area.id])
            board = AreaBoard(area, held=[h for h in holds if area.id in h.area_ids])
            board.next_meeting = next_meeting(await meetings_of(conn, area), today)
            if board.next_meeting is not None:
                listed = await candidates(conn, board.next_meeting)
                board.awaiting = [(c.case, c.clock) for c in listed if not c.on_agenda]
            else:
                board.awaiting = [
                    (c, referral_clock(c.referred_on, today, area.target_days))
                    for c in await list_cases(conn, area.id, "referred")
                    if not c.destroyed
                ]
            by_agency: dict[str, list[Action]] = defaultdict(list)
            for action in await find_actions(
                conn, rt.keys, areas=[area.id], overdue=True, today=today
            ):
                by_agency[action.owner].append(action)
            board.overdue = dict(sorted(by_agency.items()))
            boards.append(board)
        shown = sorted({a.case_ref for b in boards for found in b.overdue.values() for a in found})
        await record_access(conn, actor, shown, purpose="view", what=["actions"], now=now)
    return Dashboard(boards, [h for h in holds if not h.area_ids], actor, eyes)
