"""Meetings (schedule, build the agenda, preview per agency kind, publish, attendance,
research, actions, minutes) and the action tracker. Coordinators in their own areas and
admins; a DPO gets 403 on every page here (they read the log instead)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agency
from hub.cases import agencies_serving, load_case
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.agenda import publish
from hub.meetings.context import disclosure_context
from hub.meetings.listing import agenda, candidates
from hub.meetings.minutes import send_minutes
from hub.meetings.research import compile_research
from hub.meetings.rules import ACTION_STATUSES
from hub.policy.projection import project
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, KEYS, POLICY, WAITERS
from hub.web.pages import current, field, form, page, render, see_other
from hub.web.scope import my_areas

__all__ = ["routes"]

routes = web.RouteTableDef()
COORDINATORS: Final = ("admin", "coordinator")
NOTICES: Final = {
    "scheduled": "Meeting scheduled.",
    "added": "Case added to the agenda.",
    "removed": "Case taken off the agenda.",
    "attendance": "Attendance recorded.",
    "action": "Action recorded; its owner was sent a notice.",
    "minutes": "Minutes sent to the agencies that attended; the meeting is closed.",
    "updated": "Update recorded.",
}


def _date(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise ProtocolError(f"{name} must be a date (YYYY-MM-DD)") from None


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(field path, shown value)`` pairs of a projection, for the preview table."""
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, inner in value.items():
            if key in ("subject_id", "role"):
                continue
            out += flatten(inner, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return [pair for i, v in enumerate(value, 1) for pair in flatten(v, f"{prefix}[{i}]")]
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "yes" if value is True else "no" if value is False else str(value))]


@routes.get("/meetings")
@page(*COORDINATORS)
async def meetings_page(request: web.Request) -> web.StreamResponse:
    """Every meeting of the coordinator's areas, and a form to schedule one."""
    user = current(request)
    async with request.app[ENGINE].connect() as conn:
        areas = await my_areas(conn, user)
        found = [(a, await meeting_ops.list_meetings(conn, user, a.id)) for a in areas]
    return render(
        request,
        "meetings.html",
        {"title": "Meetings", "areas": areas, "found": found, "today": date.today()},
    )


@routes.post("/meetings")
@page(*COORDINATORS)
async def schedule(request: web.Request) -> web.StreamResponse:
    """Schedule a meeting."""
    async with request.app[ENGINE].begin() as conn:
        meeting = await meeting_ops.create_meeting(
            conn,
            current(request),
            field(request, "area") or "",
            _date(field(request, "date"), "date"),
            field(request, "location", required=False, limit=200),
            now=datetime.now(UTC),
        )
    raise see_other(f"/meetings/{meeting.id}?done=scheduled")


async def _preview(
    conn: AsyncConnection, request: web.Request, listed: list[Any], serving: list[Any]
) -> list[dict[str, Any]]:
    """What each agency kind serving the area would receive of each agenda case."""
    policy, keys = request.app[POLICY], request.app[KEYS]
    kinds: dict[str, list[str]] = {}
    for agency in serving:
        kinds.setdefault(agency.kind, []).append(agency.id)
    cases = [await load_case(conn, keys, entry.case.ref) for entry in listed]
    out = []
    for kind, ids in sorted(kinds.items()):
        rule = policy.rule("agenda", kind)
        items = []
        if rule is not None:
            for case in cases:
                fields = rule.fields_for(case.perpetrator_must_not_know)
                items.append((case, flatten(project(case.view, fields))))
        out.append({"kind": kind, "agencies": ids, "rule": rule, "cases": items})
    return out


async def _meeting_context(conn: AsyncConnection, request: web.Request) -> dict[str, Any]:
    user, keys = current(request), request.app[KEYS]
    meeting = await meeting_ops.get_meeting(conn, user, request.match_info["id"], write=True)
    listed = await agenda(conn, meeting)
    serving = [
        a
        for a in [await get_agency(conn, i) for i in await agencies_serving(conn, meeting.area.id)]
        if a is not None
    ]
    return {
        "title": f"Meeting of {meeting.meeting_date.strftime('%d %B %Y')}",
        "meeting": meeting,
        "agenda": listed,
        "candidates": [c for c in await candidates(conn, meeting) if not c.on_agenda],
        "carried": await action_ops.incomplete_before(conn, keys, meeting),
        "preview": await _preview(conn, request, listed, serving),
        "serving": serving,
        "attendance": await meeting_ops.attendance_of(conn, meeting.id),
        "research": (await compile_research(conn, keys, user, meeting.id))["cases"],
        "actions": [
            a
            for a in await action_ops.list_actions(
                conn, keys, user, area=meeting.area.id, today=date.today()
            )
            if a.meeting_id == meeting.id
        ],
        "statuses": ACTION_STATUSES,
        "policy_version": request.app[POLICY].version,
        "report": None,
        "notice": NOTICES.get(request.query.get("done", "")),
    }


@routes.get("/meetings/{id}")
@page(*COORDINATORS)
async def meeting_page(request: web.Request) -> web.StreamResponse:
    """One meeting: agenda, candidates, preview, publish, attendance, research, actions."""
    async with request.app[ENGINE].connect() as conn:
        context = await _meeting_context(conn, request)
    return render(request, "meeting.html", context)


@routes.post("/meetings/{id}/cases")
@page(*COORDINATORS)
async def add_case(request: web.Request) -> web.StreamResponse:
    """Put a case on the agenda."""
    meeting_id = request.match_info["id"]
    async with request.app[ENGINE].begin() as conn:
        await meeting_ops.add_case(
            conn,
            current(request),
            meeting_id,
            field(request, "case_ref") or "",
            now=datetime.now(UTC),
        )
    raise see_other(f"/meetings/{meeting_id}?done=added#agenda")


@routes.post("/meetings/{id}/cases/remove")
@page(*COORDINATORS)
async def remove_case(request: web.Request) -> web.StreamResponse:
    """Take a case off the agenda."""
    meeting_id = request.match_info["id"]
    async with request.app[ENGINE].begin() as conn:
        await meeting_ops.remove_case(
            conn, current(request), meeting_id, field(request, "case_ref") or ""
        )
    raise see_other(f"/meetings/{meeting_id}?done=removed#agenda")


@routes.post("/meetings/{id}/publish")
@page(*COORDINATORS)
async def publish_agenda(request: web.Request) -> web.StreamResponse:
    """Send the agenda and research requests; the page again with what was sent."""
    app, meeting_id = request.app, request.match_info["id"]
    respond_by = field(request, "respond_by", required=False)
    async with app[ENGINE].begin() as conn:
        report = await publish(
            conn,
            disclosure_context(app),
            app[KEYS],
            current(request),
            meeting_id,
            now=datetime.now(UTC),
            respond_by=_date(respond_by, "respond by") if respond_by else None,
        )
    app[WAITERS].notify(report.recipients)
    async with app[ENGINE].connect() as conn:
        context = await _meeting_context(conn, request)
    context["report"] = report
    context["notice"] = "Agenda published."
    return render(request, "meeting.html", context)


@routes.post("/meetings/{id}/attendance")
@page(*COORDINATORS)
async def attendance(request: web.Request) -> web.StreamResponse:
    """Record attendance and apologies (agencies left blank are not recorded)."""
    meeting_id, now = request.match_info["id"], datetime.now(UTC)
    async with request.app[ENGINE].begin() as conn:
        for name, value in form(request).items():
            if name.startswith("attend:") and value in ("attended", "apologies"):
                await meeting_ops.set_attendance(
                    conn,
                    current(request),
                    meeting_id,
                    name[len("attend:") :],
                    str(value),
                    now=now,
                )
    raise see_other(f"/meetings/{meeting_id}?done=attendance#attendance")


@routes.post("/meetings/{id}/actions")
@page(*COORDINATORS)
async def record_action(request: web.Request) -> web.StreamResponse:
    """Record an action agreed at the meeting; its owner is sent a notice."""
    app, meeting_id, now = request.app, request.match_info["id"], datetime.now(UTC)
    async with app[ENGINE].begin() as conn:
        _action, outcome = await action_ops.add_action(
            conn,
            disclosure_context(app),
            app[KEYS],
            current(request),
            meeting_id=meeting_id,
            case_ref=field(request, "case_ref") or "",
            owner=field(request, "owner") or "",
            description=field(request, "description") or "",
            due_date=_date(field(request, "due_date"), "due date"),
            now=now,
        )
    if outcome.kind == "disclosed":
        app[WAITERS].notify([outcome.agency])
    raise see_other(f"/meetings/{meeting_id}?done=action#actions")


@routes.post("/meetings/{id}/minutes")
@page(*COORDINATORS)
async def minutes(request: web.Request) -> web.StreamResponse:
    """Send the minutes to the agencies that attended."""
    app, meeting_id = request.app, request.match_info["id"]
    discussions = {
        name[len("discussion:") :]: value.strip()
        for name, value in form(request).items()
        if name.startswith("discussion:") and isinstance(value, str) and value.strip()
    }
    async with app[ENGINE].begin() as conn:
        outcomes = await send_minutes(
            conn,
            disclosure_context(app),
            app[KEYS],
            current(request),
            meeting_id,
            discussions,
            now=datetime.now(UTC),
        )
    app[WAITERS].notify(o.agency for o in outcomes if o.kind == "disclosed")
    raise see_other(f"/meetings/{meeting_id}?done=minutes")


@routes.get("/actions")
@page(*COORDINATORS)
async def actions_page(request: web.Request) -> web.StreamResponse:
    """The action tracker: filter by area, agency, status, overdue."""
    query, user, today = request.query, current(request), date.today()
    status = query.get("status") or None
    agency = query.get("agency") or None
    area = query.get("area") or None
    overdue = query.get("overdue") == "yes"
    async with request.app[ENGINE].connect() as conn:
        areas = await my_areas(conn, user)
        found = await action_ops.list_actions(
            conn,
            request.app[KEYS],
            user,
            area=area,
            agency=agency[:64] if agency else None,
            status=status,
            overdue=overdue,
            today=today,
        )
    return render(
        request,
        "actions.html",
        {
            "title": "Actions",
            "actions": found,
            "areas": areas,
            "statuses": ACTION_STATUSES,
            "f": {"status": status, "agency": agency, "area": area, "overdue": overdue},
            "today": today,
        },
    )


@routes.get("/actions/{id}")
@page(*COORDINATORS)
async def action_page(request: web.Request) -> web.StreamResponse:
    """An action with every update kept of it, and a form to record one."""
    async with request.app[ENGINE].connect() as conn:
        action, events = await action_ops.history(
            conn, request.app[KEYS], current(request), request.match_info["id"]
        )
    return render(
        request,
        "action.html",
        {
            "title": f"Action for {action.case_ref}",
            "action": action,
            "events": events,
            "statuses": ACTION_STATUSES,
            "today": date.today(),
            "notice": NOTICES.get(request.query.get("done", "")),
        },
    )


@routes.post("/actions/{id}")
@page(*COORDINATORS)
async def action_update(request: web.Request) -> web.StreamResponse:
    """Record the coordinator's own update of an action."""
    action_id = request.match_info["id"]
    async with request.app[ENGINE].begin() as conn:
        await action_ops.coordinator_update(
            conn,
            request.app[KEYS],
            current(request),
            action_id,
            status=field(request, "status") or "",
            note=field(request, "note", required=False),
            reason=field(request, "reason", required=False),
            now=datetime.now(UTC),
        )
    raise see_other(f"/actions/{action_id}?done=updated")
