"""Routes for meetings, agendas, research, actions and minutes.

Coordinators work only in their own areas and admins in all; a DPO may read (meetings,
listings, research, actions) but never publish, record or send.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

import hub.meetings.inbound_handlers  # noqa: F401 - registers research_response, action_update
from hub.cases.areas import user_area_ids
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.agenda import publish
from hub.meetings.chasing import chase_overdue
from hub.meetings.context import disclosure_context
from hub.meetings.listing import agenda, candidates
from hub.meetings.minutes import parse_minutes, send_minutes
from hub.meetings.research import compile_research
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, KEYS, WAITERS
from hub.service.auth import current_user, staff
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()
READ = ("admin", "coordinator", "dpo")
WRITE = ("admin", "coordinator")


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


async def _meeting_json(conn: Any, meeting: meeting_ops.Meeting) -> dict[str, Any]:
    return {
        **meeting.as_json(),
        "agenda": [entry.as_json() for entry in await agenda(conn, meeting)],
        "attendance": await meeting_ops.attendance_of(conn, meeting.id),
    }


@routes.post("/api/v1/meetings")
@staff(*WRITE)
async def post_meeting(request: web.Request) -> web.Response:
    """Schedule a meeting: ``{"area", "date", "location"?}``."""
    body = _body(await json_body(request), {"area", "date"}, frozenset({"location"}))
    async with request.app[ENGINE].begin() as conn:
        meeting = await meeting_ops.create_meeting(
            conn,
            current_user(request),
            body["area"],
            _date(body["date"], "date"),
            body.get("location"),
            now=datetime.now(UTC),
        )
    return web.json_response(meeting.as_json(), status=201)


@routes.get("/api/v1/meetings")
@staff(*READ)
async def get_meetings(request: web.Request) -> web.Response:
    """An area's meetings, newest first: ``?area=ID``."""
    area = request.query.get("area")
    if not area:
        raise ProtocolError("name the area: ?area=ID")
    async with request.app[ENGINE].connect() as conn:
        found = await meeting_ops.list_meetings(conn, current_user(request), area)
    return web.json_response({"meetings": [m.as_json() for m in found]})


@routes.get("/api/v1/meetings/{id}")
@staff(*READ)
async def get_meeting(request: web.Request) -> web.Response:
    """A meeting with its agenda (in order, with clocks) and attendance."""
    async with request.app[ENGINE].connect() as conn:
        meeting = await meeting_ops.get_meeting(
            conn, current_user(request), request.match_info["id"]
        )
        return web.json_response(await _meeting_json(conn, meeting))


@routes.get("/api/v1/meetings/{id}/candidates")
@staff(*READ)
async def get_candidates(request: web.Request) -> web.Response:
    """The area's referred cases not yet heard, children's first, with their clocks."""
    async with request.app[ENGINE].connect() as conn:
        meeting = await meeting_ops.get_meeting(
            conn, current_user(request), request.match_info["id"]
        )
        found = await candidates(conn, meeting)
    return web.json_response({"meeting_id": meeting.id, "cases": [c.as_json() for c in found]})


@routes.post("/api/v1/meetings/{id}/cases")
@staff(*WRITE)
async def post_meeting_case(request: web.Request) -> web.Response:
    """Put a case on the agenda: ``{"case_ref"}``."""
    body = _body(await json_body(request), {"case_ref"})
    async with request.app[ENGINE].begin() as conn:
        meeting = await meeting_ops.add_case(
            conn,
            current_user(request),
            request.match_info["id"],
            body["case_ref"],
            now=datetime.now(UTC),
        )
        return web.json_response(await _meeting_json(conn, meeting), status=201)


@routes.delete("/api/v1/meetings/{id}/cases/{ref}")
@staff(*WRITE)
async def delete_meeting_case(request: web.Request) -> web.Response:
    """Take a case off the agenda."""
    async with request.app[ENGINE].begin() as conn:
        meeting = await meeting_ops.remove_case(
            conn, current_user(request), request.match_info["id"], request.match_info["ref"]
        )
        return web.json_response(await _meeting_json(conn, meeting))


@routes.post("/api/v1/meetings/{id}/attendance")
@staff(*WRITE)
async def post_attendance(request: web.Request) -> web.Response:
    """Record attendance or apologies: ``{"agency", "status": attended|apologies}``."""
    body = _body(await json_body(request), {"agency", "status"})
    async with request.app[ENGINE].begin() as conn:
        meeting = await meeting_ops.set_attendance(
            conn,
            current_user(request),
            request.match_info["id"],
            body["agency"],
            body["status"],
            now=datetime.now(UTC),
        )
        return web.json_response(await _meeting_json(conn, meeting))


@routes.post("/api/v1/meetings/{id}/publish")
@staff(*WRITE)
async def post_publish(request: web.Request) -> web.Response:
    """Send the agenda and research requests not yet sent: ``{"respond_by"?}``."""
    body = _body(await json_body(request), set(), frozenset({"respond_by"}))
    respond_by = _date(body["respond_by"], "respond_by") if body.get("respond_by") else None
    app = request.app
    async with app[ENGINE].begin() as conn:
        report = await publish(
            conn,
            disclosure_context(app),
            app[KEYS],
            current_user(request),
            request.match_info["id"],
            now=datetime.now(UTC),
            respond_by=respond_by,
        )
    app[WAITERS].notify(report.recipients)
    return web.json_response(report.as_json())


@routes.get("/api/v1/meetings/{id}/research")
@staff(*READ)
async def get_research(request: web.Request) -> web.Response:
    """Research per case: facts, opinions, withheld, and who has not responded."""
    app = request.app
    async with app[ENGINE].connect() as conn:
        doc = await compile_research(
            conn, app[KEYS], current_user(request), request.match_info["id"]
        )
    return web.json_response(doc)


@routes.post("/api/v1/meetings/{id}/minutes")
@staff(*WRITE)
async def post_minutes(request: web.Request) -> web.Response:
    """Send the minutes to the agencies that attended: ``{"items": [{case_ref, discussion}]}``."""
    discussions = parse_minutes(await json_body(request))
    app = request.app
    async with app[ENGINE].begin() as conn:
        outcomes = await send_minutes(
            conn,
            disclosure_context(app),
            app[KEYS],
            current_user(request),
            request.match_info["id"],
            discussions,
            now=datetime.now(UTC),
        )
    app[WAITERS].notify(o.agency for o in outcomes if o.kind == "disclosed")
    return web.json_response({"minutes": [o.as_json() for o in outcomes]})


@routes.post("/api/v1/actions")
@staff(*WRITE)
async def post_action(request: web.Request) -> web.Response:
    """Record an action, notify its owner: ``{meeting, case_ref, owner, description, due_date}``."""
    body = _body(
        await json_body(request), {"meeting", "case_ref", "owner", "description", "due_date"}
    )
    app, now = request.app, datetime.now(UTC)
    async with app[ENGINE].begin() as conn:
        action, outcome = await action_ops.add_action(
            conn,
            disclosure_context(app),
            app[KEYS],
            current_user(request),
            meeting_id=body["meeting"],
            case_ref=body["case_ref"],
            owner=body["owner"],
            description=body["description"],
            due_date=_date(body["due_date"], "due_date"),
            now=now,
        )
    if outcome.kind == "disclosed":
        app[WAITERS].notify([outcome.agency])
    return web.json_response(
        {"action": action.as_json(now.date()), "notice": outcome.as_json()}, status=201
    )


@routes.get("/api/v1/actions")
@staff(*READ)
async def get_actions(request: web.Request) -> web.Response:
    """Actions: ``?area=&agency=&status=&overdue=true``."""
    query = request.query
    if not set(query) <= {"area", "agency", "status", "overdue"}:
        raise ProtocolError("filter by area, agency, status or overdue")
    if query.get("overdue", "false") not in ("true", "false"):
        raise ProtocolError("overdue is true or false")
    app, today = request.app, datetime.now(UTC).date()
    async with app[ENGINE].connect() as conn:
        found = await action_ops.list_actions(
            conn,
            app[KEYS],
            current_user(request),
            area=query.get("area"),
            agency=query.get("agency"),
            status=query.get("status"),
            overdue=query.get("overdue") == "true",
            today=today,
        )
    return web.json_response({"actions": [a.as_json(today) for a in found]})


@routes.get("/api/v1/actions/{id}")
@staff(*READ)
async def get_action(request: web.Request) -> web.Response:
    """An action and its every update, oldest first."""
    app = request.app
    async with app[ENGINE].connect() as conn:
        action, events = await action_ops.history(
            conn, app[KEYS], current_user(request), request.match_info["id"]
        )
    return web.json_response(
        {
            "action": action.as_json(datetime.now(UTC).date()),
            "history": [e.as_json() for e in events],
        }
    )


@routes.post("/api/v1/actions/{id}/updates")
@staff(*WRITE)
async def post_action_update(request: web.Request) -> web.Response:
    """A coordinator's own update: ``{"status", "note"?, "reason"?}``."""
    body = _body(await json_body(request), {"status"}, frozenset({"note", "reason"}))
    app, now = request.app, datetime.now(UTC)
    async with app[ENGINE].begin() as conn:
        action = await action_ops.coordinator_update(
            conn,
            app[KEYS],
            current_user(request),
            request.match_info["id"],
            status=body["status"],
            note=body.get("note"),
            reason=body.get("reason"),
            now=now,
        )
    return web.json_response({"action": action.as_json(now.date())})


@routes.post("/api/v1/actions/chase")
@staff(*WRITE)
async def post_chase(request: web.Request) -> web.Response:
    """Chase overdue actions now (a coordinator's areas only); at most once a day each."""
    app, user = request.app, current_user(request)
    async with app[ENGINE].begin() as conn:
        areas = await user_area_ids(conn, user.name) if user.role == "coordinator" else None
        chased = await chase_overdue(
            conn, disclosure_context(app), now=datetime.now(UTC), areas=areas
        )
    app[WAITERS].notify(o.agency for _, o in chased if o.kind == "disclosed")
    return web.json_response({"chased": [{"action_id": a, **o.as_json()} for a, o in chased]})


async def chase_in_housekeeping(app: web.Application, now: datetime) -> int:
    """The housekeeping loop's chase of overdue actions (each at most once a day)."""
    async with app[ENGINE].begin() as conn:
        chased = await chase_overdue(conn, disclosure_context(app, now), now=now)
    app[WAITERS].notify(o.agency for _, o in chased if o.kind == "disclosed")
    return len(chased)
