"""Routes for meetings, agendas, research, actions and minutes: each calls one use-case
(``hub.app.meetings``, ``hub.app.actions``), which checks the role and the area.

Coordinators work only in their own areas and admins in all; a DPO may read the
pseudonymous lists (meetings, agendas, candidates, actions without their free text) but
never publish, record or send.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web

from hub.app import actions as action_app
from hub.app import meetings as meeting_app
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_changes import MeetingChanged, MoveBody
from hub.service.openapi_models import (
    ActionBody,
    ActionCreated,
    ActionList,
    ActionShown,
    ActionsQuery,
    ActionUpdateBody,
    ActionUpdated,
    AttendanceBody,
    CaseRefBody,
    Chased,
    MeetingBody,
    MeetingCandidates,
    MeetingList,
    MeetingOut,
    MeetingsQuery,
    MeetingView,
    MinutesBody,
    MinutesSent,
    PublishBody,
    Published,
    Research,
)
from hub.service.problems import json_body

__all__ = ["chase_in_housekeeping", "routes"]

routes = web.RouteTableDef()


def _body(doc: Any, required: set[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(doc, dict) or not required <= set(doc) <= required | optional:
        extra = f" (optionally {', '.join(sorted(optional))})" if optional else ""
        raise ProtocolError(f"send exactly {', '.join(sorted(required))}{extra}")
    for key, value in doc.items():
        if value is not None and not isinstance(value, str) and key != "items":
            raise ProtocolError(f"{key} must be a string", code="wrong-type")
    return doc


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"{name} must be a date (YYYY-MM-DD)") from None


def _today(request: web.Request) -> date:
    return request.app[RUNTIME].clock().date()


@routes.post("/api/v1/meetings")
@documented(MeetingOut, status=201, body=MeetingBody)
@staff_for("meeting.create")
async def post_meeting(request: web.Request) -> web.Response:
    """Schedule a meeting: ``{"area", "date", "location"?}``."""
    body = _body(await json_body(request), {"area", "date"}, frozenset({"location"}))
    meeting = await meeting_app.create_meeting(
        request.app[RUNTIME],
        await actor(request),
        body["area"],
        _date(body["date"], "date"),
        body.get("location"),
    )
    return web.json_response(meeting.as_json(), status=201)


@routes.get("/api/v1/meetings")
@documented(MeetingList, query=MeetingsQuery)
@staff_for("meeting.list")
async def get_meetings(request: web.Request) -> web.Response:
    """An area's meetings, newest first: ``?area=ID``."""
    area = request.query.get("area")
    if not area:
        raise ProtocolError("name the area: ?area=ID")
    found = await meeting_app.list_meetings(request.app[RUNTIME], await actor(request), area)
    return web.json_response({"meetings": [m.as_json() for m in found]})


@routes.get("/api/v1/meetings/{id}")
@documented(MeetingView)
@staff_for("meeting.show")
async def get_meeting(request: web.Request) -> web.Response:
    """A meeting with its agenda (in order, with clocks) and attendance."""
    view = await meeting_app.show_meeting(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(view.as_json())


@routes.post("/api/v1/meetings/{id}/cancel")
@documented(MeetingChanged)
@staff_for("meeting.cancel")
async def post_cancel(request: web.Request) -> web.Response:
    """Cancel a meeting: each agency sent its agenda is told by a sealed notice; it can no
    longer be published or minuted (cancelling again: ``meeting-closed``)."""
    changed = await meeting_app.cancel_meeting(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(changed.as_json())


@routes.post("/api/v1/meetings/{id}/move")
@documented(MeetingChanged, body=MoveBody)
@staff_for("meeting.move")
async def post_move(request: web.Request) -> web.Response:
    """Move a meeting: ``{"date", "location"?}`` (today or later); its agenda stays; each
    agency sent the agenda is told by a sealed notice."""
    body = _body(await json_body(request), {"date"}, frozenset({"location"}))
    changed = await meeting_app.move_meeting(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        _date(body["date"], "date"),
        body.get("location"),
    )
    return web.json_response(changed.as_json())


@routes.get("/api/v1/meetings/{id}/candidates")
@documented(MeetingCandidates)
@staff_for("meeting.candidates")
async def get_candidates(request: web.Request) -> web.Response:
    """The area's referred cases not yet heard, children's first, with their clocks."""
    meeting_id = request.match_info["id"]
    found = await meeting_app.meeting_candidates(
        request.app[RUNTIME], await actor(request), meeting_id
    )
    return web.json_response({"meeting_id": meeting_id, "cases": [c.as_json() for c in found]})


@routes.post("/api/v1/meetings/{id}/cases")
@documented(MeetingView, status=201, body=CaseRefBody)
@staff_for("meeting.add-case")
async def post_meeting_case(request: web.Request) -> web.Response:
    """Put a case on the agenda: ``{"case_ref"}``."""
    body = _body(await json_body(request), {"case_ref"})
    view = await meeting_app.add_case(
        request.app[RUNTIME], await actor(request), request.match_info["id"], body["case_ref"]
    )
    return web.json_response(view.as_json(), status=201)


@routes.delete("/api/v1/meetings/{id}/cases/{ref}")
@documented(MeetingView)
@staff_for("meeting.remove-case")
async def delete_meeting_case(request: web.Request) -> web.Response:
    """Take a case off the agenda."""
    view = await meeting_app.remove_case(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        request.match_info["ref"],
    )
    return web.json_response(view.as_json())


@routes.post("/api/v1/meetings/{id}/attendance")
@documented(MeetingView, body=AttendanceBody)
@staff_for("meeting.attendance")
async def post_attendance(request: web.Request) -> web.Response:
    """Record attendance or apologies: ``{"agency", "status": attended|apologies}``."""
    body = _body(await json_body(request), {"agency", "status"})
    view = await meeting_app.record_attendance(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        {body["agency"]: body["status"]},
    )
    return web.json_response(view.as_json())


@routes.post("/api/v1/meetings/{id}/publish")
@documented(Published, body=PublishBody)
@staff_for("meeting.publish")
async def post_publish(request: web.Request) -> web.Response:
    """Send the agenda and research requests not yet sent: ``{"respond_by"?}``."""
    body = _body(await json_body(request), set(), frozenset({"respond_by"}))
    respond_by = _date(body["respond_by"], "respond_by") if body.get("respond_by") else None
    report = await meeting_app.publish_agenda(
        request.app[RUNTIME], await actor(request), request.match_info["id"], respond_by
    )
    return web.json_response(report.as_json())


@routes.get("/api/v1/meetings/{id}/research")
@documented(Research)
@staff_for("meeting.research")
async def get_research(request: web.Request) -> web.Response:
    """Research per case: facts, opinions, withheld, and who has not responded."""
    doc = await meeting_app.research(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(doc)


@routes.post("/api/v1/meetings/{id}/minutes")
@documented(MinutesSent, body=MinutesBody)
@staff_for("meeting.minutes")
async def post_minutes(request: web.Request) -> web.Response:
    """Send the minutes to the agencies that attended: ``{"items": [{case_ref, discussion}]}``."""
    discussions = meeting_app.parse_minutes(await json_body(request))
    outcomes = await meeting_app.send_minutes(
        request.app[RUNTIME], await actor(request), request.match_info["id"], discussions
    )
    return web.json_response({"minutes": [o.as_json() for o in outcomes]})


@routes.post("/api/v1/actions")
@documented(ActionCreated, status=201, body=ActionBody)
@staff_for("action.add")
async def post_action(request: web.Request) -> web.Response:
    """Record an action, notify its owner: ``{meeting, case_ref, owner, description, due_date}``."""
    body = _body(
        await json_body(request), {"meeting", "case_ref", "owner", "description", "due_date"}
    )
    action, outcome = await action_app.add_action(
        request.app[RUNTIME],
        await actor(request),
        body["meeting"],
        body["case_ref"],
        body["owner"],
        body["description"],
        _date(body["due_date"], "due_date"),
    )
    return web.json_response(
        {"action": action.as_json(_today(request)), "notice": outcome.as_json()}, status=201
    )


@routes.get("/api/v1/actions")
@documented(ActionList, query=ActionsQuery)
@staff_for("action.list")
async def get_actions(request: web.Request) -> web.Response:
    """Actions: ``?area=&agency=&status=&overdue=true``."""
    query = request.query
    if not set(query) <= {"area", "agency", "status", "overdue"}:
        raise ProtocolError("filter by area, agency, status or overdue")
    if query.get("overdue", "false") not in ("true", "false"):
        raise ProtocolError("overdue is true or false")
    found = await action_app.list_actions(
        request.app[RUNTIME],
        await actor(request),
        area=query.get("area"),
        agency=query.get("agency"),
        status=query.get("status"),
        overdue=query.get("overdue") == "true",
    )
    today = _today(request)
    return web.json_response({"actions": [a.as_json(today) for a in found]})


@routes.get("/api/v1/actions/{id}")
@documented(ActionShown)
@staff_for("action.show")
async def get_action(request: web.Request) -> web.Response:
    """An action and its every update, oldest first."""
    action, events = await action_app.show_action(
        request.app[RUNTIME], await actor(request), request.match_info["id"]
    )
    return web.json_response(
        {"action": action.as_json(_today(request)), "history": [e.as_json() for e in events]}
    )


@routes.post("/api/v1/actions/{id}/updates")
@documented(ActionUpdated, body=ActionUpdateBody)
@staff_for("action.update")
async def post_action_update(request: web.Request) -> web.Response:
    """A coordinator's own update: ``{"status", "note"?, "reason"?}``."""
    body = _body(await json_body(request), {"status"}, frozenset({"note", "reason"}))
    action = await action_app.update_action(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["id"],
        body["status"],
        note=body.get("note"),
        reason=body.get("reason"),
    )
    return web.json_response({"action": action.as_json(_today(request))})


@routes.post("/api/v1/actions/chase")
@documented(Chased)
@staff_for("action.chase")
async def post_chase(request: web.Request) -> web.Response:
    """Chase overdue actions now (a coordinator's areas only); at most once a day each."""
    chased = await action_app.chase_actions(request.app[RUNTIME], await actor(request))
    return web.json_response({"chased": [{"action_id": a, **o.as_json()} for a, o in chased]})


async def chase_in_housekeeping(app: web.Application, now: datetime) -> int:
    """The housekeeping loop's chase of overdue actions (each at most once a day)."""
    return await action_app.chase_daily(app[RUNTIME], now)
