"""Meetings (schedule, build the agenda, preview per agency kind, publish, attendance,
research, actions, minutes) and the action tracker: each page calls one use-case
(``hub.app.meetings``, ``hub.app.actions``). Coordinators in their own areas and admins;
a DPO gets 403 on every page here (they read the log instead)."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from aiohttp import web

from hub.app import actions as action_app
from hub.app import meetings as meeting_app
from hub.app.meetings import flatten
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import ProtocolError
from hub.web.pages import field, form, page_for, render, see_other, web_actor

__all__ = ["flatten", "routes"]

routes = web.RouteTableDef()
NOTICES: Final = {
    "scheduled": "Meeting scheduled.",
    "added": "Case added to the agenda.",
    "removed": "Case taken off the agenda.",
    "attendance": "Attendance recorded.",
    "action": "Action recorded; its owner was sent a notice.",
    "minutes": "Minutes sent to the agencies that attended; the meeting is closed.",
    "updated": "Update recorded.",
    "cancelled": "Meeting cancelled; the agencies sent its agenda were told by a sealed notice.",
    "moved": "Meeting moved; the agencies sent its agenda were told by a sealed notice.",
}


def _date(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise ProtocolError(f"{name} must be a date (YYYY-MM-DD)") from None


def _today(request: web.Request) -> date:
    return request.app[RUNTIME].clock().date()


@routes.get("/meetings")
@page_for("meeting.overview")
async def meetings_page(request: web.Request) -> web.StreamResponse:
    """Every meeting of the coordinator's areas, and a form to schedule one."""
    found = await meeting_app.meetings_overview(request.app[RUNTIME], await web_actor(request))
    return render(
        request,
        "meetings.html",
        {
            "title": "Meetings",
            "areas": [a for a, _ in found],
            "found": found,
            "today": _today(request),
        },
    )


@routes.post("/meetings")
@page_for("meeting.create")
async def schedule(request: web.Request) -> web.StreamResponse:
    """Schedule a meeting."""
    meeting = await meeting_app.create_meeting(
        request.app[RUNTIME],
        await web_actor(request),
        field(request, "area") or "",
        _date(field(request, "date"), "date"),
        field(request, "location", required=False, limit=200),
    )
    raise see_other(f"/meetings/{meeting.id}?done=scheduled")


async def _meeting_context(request: web.Request) -> dict[str, Any]:
    found = await meeting_app.meeting_page(
        request.app[RUNTIME], await web_actor(request), request.match_info["id"]
    )
    meeting = found.view.meeting
    return {
        "title": f"Meeting of {meeting.meeting_date.strftime('%d %B %Y')}",
        "meeting": meeting,
        "agenda": found.view.agenda,
        "candidates": found.candidates,
        "carried": found.carried,
        "preview": found.preview,
        "serving": found.serving,
        "attendance": found.view.attendance,
        "research": found.research,
        "actions": found.actions,
        "statuses": action_app.ACTION_STATUSES,
        "policy_version": found.policy_version,
        "report": None,
        "today": _today(request),
        "notice": NOTICES.get(request.query.get("done", "")),
    }


@routes.get("/meetings/{id}")
@page_for("meeting.page")
async def meeting_page(request: web.Request) -> web.StreamResponse:
    """One meeting: agenda, candidates, preview, publish, attendance, research, actions."""
    return render(request, "meeting.html", await _meeting_context(request))


@routes.post("/meetings/{id}/cases")
@page_for("meeting.add-case")
async def add_case(request: web.Request) -> web.StreamResponse:
    """Put a case on the agenda."""
    meeting_id = request.match_info["id"]
    await meeting_app.add_case(
        request.app[RUNTIME], await web_actor(request), meeting_id, field(request, "case_ref") or ""
    )
    raise see_other(f"/meetings/{meeting_id}?done=added#agenda")


@routes.post("/meetings/{id}/cases/remove")
@page_for("meeting.remove-case")
async def remove_case(request: web.Request) -> web.StreamResponse:
    """Take a case off the agenda."""
    meeting_id = request.match_info["id"]
    await meeting_app.remove_case(
        request.app[RUNTIME], await web_actor(request), meeting_id, field(request, "case_ref") or ""
    )
    raise see_other(f"/meetings/{meeting_id}?done=removed#agenda")


@routes.post("/meetings/{id}/publish")
@page_for("meeting.publish")
async def publish_agenda(request: web.Request) -> web.StreamResponse:
    """Send the agenda and research requests; the page again with what was sent."""
    respond_by = field(request, "respond_by", required=False)
    report = await meeting_app.publish_agenda(
        request.app[RUNTIME],
        await web_actor(request),
        request.match_info["id"],
        _date(respond_by, "respond by") if respond_by else None,
    )
    context = await _meeting_context(request)
    context["report"] = report
    context["notice"] = "Agenda published."
    return render(request, "meeting.html", context)


@routes.post("/meetings/{id}/cancel")
@page_for("meeting.cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    """Cancel the meeting (once its box is ticked); the agencies sent its agenda are told."""
    meeting_id = request.match_info["id"]
    if field(request, "confirm", required=False) != "yes":
        raise ProtocolError("tick the box to confirm the cancellation", code="missing-field")
    await meeting_app.cancel_meeting(request.app[RUNTIME], await web_actor(request), meeting_id)
    raise see_other(f"/meetings/{meeting_id}?done=cancelled")


@routes.post("/meetings/{id}/move")
@page_for("meeting.move")
async def move(request: web.Request) -> web.StreamResponse:
    """Move the meeting to another date (and place); the agencies sent its agenda are told."""
    meeting_id = request.match_info["id"]
    await meeting_app.move_meeting(
        request.app[RUNTIME],
        await web_actor(request),
        meeting_id,
        _date(field(request, "date"), "date"),
        field(request, "location", required=False, limit=200),
    )
    raise see_other(f"/meetings/{meeting_id}?done=moved")


@routes.post("/meetings/{id}/attendance")
@page_for("meeting.attendance")
async def attendance(request: web.Request) -> web.StreamResponse:
    """Record attendance and apologies (agencies left blank are not recorded)."""
    meeting_id = request.match_info["id"]
    marks = {
        name[len("attend:") :]: str(value)
        for name, value in form(request).items()
        if name.startswith("attend:") and value in ("attended", "apologies")
    }
    await meeting_app.record_attendance(
        request.app[RUNTIME], await web_actor(request), meeting_id, marks
    )
    raise see_other(f"/meetings/{meeting_id}?done=attendance#attendance")


@routes.post("/meetings/{id}/actions")
@page_for("action.add")
async def record_action(request: web.Request) -> web.StreamResponse:
    """Record an action agreed at the meeting; its owner is sent a notice."""
    meeting_id = request.match_info["id"]
    await action_app.add_action(
        request.app[RUNTIME],
        await web_actor(request),
        meeting_id,
        field(request, "case_ref") or "",
        field(request, "owner") or "",
        field(request, "description") or "",
        _date(field(request, "due_date"), "due date"),
    )
    raise see_other(f"/meetings/{meeting_id}?done=action#actions")


@routes.post("/meetings/{id}/minutes")
@page_for("meeting.minutes")
async def minutes(request: web.Request) -> web.StreamResponse:
    """Send the minutes to the agencies that attended."""
    meeting_id = request.match_info["id"]
    discussions = {
        name[len("discussion:") :]: value.strip()
        for name, value in form(request).items()
        if name.startswith("discussion:") and isinstance(value, str) and value.strip()
    }
    await meeting_app.send_minutes(
        request.app[RUNTIME], await web_actor(request), meeting_id, discussions
    )
    raise see_other(f"/meetings/{meeting_id}?done=minutes")


@routes.get("/actions")
@page_for("action.tracker")
async def actions_page(request: web.Request) -> web.StreamResponse:
    """The action tracker: filter by area, agency, status, overdue."""
    query = request.query
    status = query.get("status") or None
    agency = query.get("agency") or None
    area = query.get("area") or None
    overdue = query.get("overdue") == "yes"
    areas, found = await action_app.action_tracker(
        request.app[RUNTIME],
        await web_actor(request),
        area=area,
        agency=agency[:64] if agency else None,
        status=status,
        overdue=overdue,
    )
    return render(
        request,
        "actions.html",
        {
            "title": "Actions",
            "actions": found,
            "areas": areas,
            "statuses": action_app.ACTION_STATUSES,
            "f": {"status": status, "agency": agency, "area": area, "overdue": overdue},
            "today": _today(request),
        },
    )


@routes.get("/actions/{id}")
@page_for("action.show")
async def action_page(request: web.Request) -> web.StreamResponse:
    """An action with every update kept of it, and a form to record one."""
    action, events = await action_app.show_action(
        request.app[RUNTIME], await web_actor(request), request.match_info["id"]
    )
    return render(
        request,
        "action.html",
        {
            "title": f"Action for {action.case_ref}",
            "action": action,
            "events": events,
            "statuses": action_app.ACTION_STATUSES,
            "today": _today(request),
            "notice": NOTICES.get(request.query.get("done", "")),
        },
    )


@routes.post("/actions/{id}")
@page_for("action.update")
async def action_update(request: web.Request) -> web.StreamResponse:
    """Record the coordinator's own update of an action."""
    action_id = request.match_info["id"]
    await action_app.update_action(
        request.app[RUNTIME],
        await web_actor(request),
        action_id,
        field(request, "status") or "",
        note=field(request, "note", required=False),
        reason=field(request, "reason", required=False),
    )
    raise see_other(f"/actions/{action_id}?done=updated")
