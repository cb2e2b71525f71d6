"""The coordinator's dashboard: per area, the next meeting, the cases awaiting listing with
their referral-to-meeting clocks, overdue actions by agency, and disclosures held for
review."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app import disclosures as disclosures_app
from hub.app.disclosures import HeldDisclosure
from hub.cases import list_cases
from hub.cases.areas import Area
from hub.http.appkeys import ENGINE, KEYS, RUNTIME
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.listing import candidates
from hub.meetings.rules import Clock, referral_clock
from hub.users import StaffUser
from hub.web.pages import current, page, page_for, render, see_other, web_actor
from hub.web.scope import my_areas

__all__ = ["routes"]

routes = web.RouteTableDef()
COORDINATORS = ("admin", "coordinator")


@dataclass
class AreaBoard:
    """One area's part of the dashboard."""

    area: Area
    next_meeting: meeting_ops.Meeting | None = None
    awaiting: list[tuple[Any, Clock]] = field(default_factory=list)
    overdue: dict[str, list[action_ops.Action]] = field(default_factory=dict)
    held: list[HeldDisclosure] = field(default_factory=list)


def next_meeting(meetings: list[meeting_ops.Meeting], today: date) -> meeting_ops.Meeting | None:
    """The earliest meeting on or after ``today`` whose minutes are not yet sent."""
    upcoming = [m for m in meetings if m.meeting_date >= today and m.minutes_at is None]
    return min(upcoming, key=lambda m: (m.meeting_date, m.id)) if upcoming else None


async def _board(
    conn: AsyncConnection,
    request: web.Request,
    user: StaffUser,
    area: Area,
    held: list[HeldDisclosure],
) -> Any:
    today = datetime.now(UTC).date()
    board = AreaBoard(area)
    board.next_meeting = next_meeting(await meeting_ops.list_meetings(conn, user, area.id), today)
    if board.next_meeting is not None:
        board.awaiting = [
            (c.case, c.clock) for c in await candidates(conn, board.next_meeting) if not c.on_agenda
        ]
    else:
        board.awaiting = [
            (c, referral_clock(c.referred_on, today, area.target_days))
            for c in await list_cases(conn, area.id, "referred")
            if not c.destroyed
        ]
    overdue = await action_ops.list_actions(
        conn, request.app[KEYS], user, area=area.id, overdue=True, today=today
    )
    by_agency: dict[str, list[action_ops.Action]] = defaultdict(list)
    for action in overdue:
        by_agency[action.owner].append(action)
    board.overdue = dict(sorted(by_agency.items()))
    board.held = [h for h in held if area.id in h.area_ids]
    return board


@routes.get("/dashboard")
@page(*COORDINATORS)
async def dashboard(request: web.Request) -> web.StreamResponse:
    """The coordinator's first page: each of their areas, with the holds they may decide."""
    user = current(request)
    rt = request.app[RUNTIME]
    holds = await disclosures_app.list_holds(rt, await web_actor(request))
    async with request.app[ENGINE].connect() as conn:
        boards = [await _board(conn, request, user, a, holds) for a in await my_areas(conn, user)]
    notices = [h for h in holds if not h.area_ids]
    return render(
        request,
        "dashboard.html",
        {"title": "Dashboard", "boards": boards, "held_notices": notices},
    )


@routes.post("/held/{id}/approve")
@page_for("held.approve")
async def approve_held(request: web.Request) -> web.StreamResponse:
    """Approve a held disclosure (four eyes: not who asked): checked again, then sealed,
    sent and logged."""
    rt, hold_id = request.app[RUNTIME], request.match_info["id"]
    await disclosures_app.approve_hold(rt, await web_actor(request), hold_id)
    raise see_other("/dashboard")


@routes.post("/held/{id}/reject")
@page_for("held.reject")
async def reject_held(request: web.Request) -> web.StreamResponse:
    """Reject a held disclosure: nothing is sent; the decision is logged."""
    rt, hold_id = request.app[RUNTIME], request.match_info["id"]
    await disclosures_app.reject_hold(rt, await web_actor(request), hold_id)
    raise see_other("/dashboard")
