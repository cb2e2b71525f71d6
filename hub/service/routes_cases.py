"""Routes for areas, referrals and cases. A coordinator works only in their own areas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hub.app import Actor, Runtime
from hub.app import areas as area_app
from hub.app import cases as cases_app
from hub.app.cases import Case
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_changes import Amended, AmendmentBody, AmendmentList
from hub.service.openapi_models import (
    AreaBody,
    AreaList,
    AreaOut,
    CaseList,
    CaseOut,
    CasesQuery,
    MemberAgency,
    MemberAgencyBody,
    MemberUser,
    MemberUserBody,
    Referral,
    Referred,
)
from hub.service.problems import json_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_AREA_FIELDS = {"id", "name", "target_days", "escalation_callouts", "retention_years"}


@routes.get("/api/v1/areas")
@documented(AreaList)
@staff_for("area.list")
async def get_areas(request: web.Request) -> web.Response:
    """Areas: every area for admins and DPOs, a coordinator's own for a coordinator."""
    found = await area_app.list_areas(request.app[RUNTIME], await actor(request))
    return web.json_response({"areas": [a.as_json() for a in found]})


@routes.post("/api/v1/areas")
@documented(AreaOut, status=201, body=AreaBody)
@staff_for("area.add")
async def post_area(request: web.Request) -> web.Response:
    """Create an area with its rules (defaults: 42 days, 3 call-outs, 6 years)."""
    body = await json_body(request)
    if not isinstance(body, dict) or not {"id", "name"} <= set(body) <= _AREA_FIELDS:
        raise ProtocolError(f"send id and name, optionally {', '.join(sorted(_AREA_FIELDS))}")
    if not isinstance(body["id"], str) or not isinstance(body["name"], str):
        raise ProtocolError("id and name are strings", code="wrong-type")
    area = await area_app.add_area(
        request.app[RUNTIME],
        await actor(request),
        body["id"],
        body["name"],
        target_days=body.get("target_days"),
        escalation_callouts=body.get("escalation_callouts"),
        retention_years=body.get("retention_years"),
    )
    return web.json_response(area.as_json(), status=201)


@routes.post("/api/v1/areas/{id}/agencies")
@documented(MemberAgency, status=201, body=MemberAgencyBody)
@staff_for("area.add-agency")
async def post_area_agency(request: web.Request) -> web.Response:
    """Record that an agency serves the area: ``{"agency": ID}``."""
    return await _member(request, "agency", area_app.add_area_agency)


@routes.post("/api/v1/areas/{id}/users")
@documented(MemberUser, status=201, body=MemberUserBody)
@staff_for("area.add-user")
async def post_area_user(request: web.Request) -> web.Response:
    """Let a coordinator work in the area: ``{"user": NAME}``."""
    return await _member(request, "user", area_app.add_area_user)


async def _member(
    request: web.Request, key: str, add: Callable[[Runtime, Actor, str, str], Awaitable[None]]
) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {key} or not isinstance(body[key], str):
        raise ProtocolError(f'send {{"{key}": "..."}}')
    area = request.match_info["id"]
    await add(request.app[RUNTIME], await actor(request), area, body[key])
    return web.json_response({"area": area, key: body[key]}, status=201)


@routes.post("/api/v1/cases")
@documented(Referred, status=201, body=Referral)
@staff_for("case.refer")
async def post_case(request: web.Request) -> web.Response:
    """Take a referral into an area: ``{"area": ..., "referral": {...}}``."""
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"area", "referral"}:
        raise ProtocolError("send area and referral")
    done = await cases_app.refer_case(
        request.app[RUNTIME], await actor(request), body["area"], body["referral"]
    )
    return web.json_response(
        {
            "case_ref": done.case_ref,
            "is_repeat": done.is_repeat,
            "previous_ref": done.previous_ref,
            "yes_count": done.yes_count,
            "level": done.level,
        },
        status=201,
    )


@routes.get("/api/v1/cases")
@documented(CaseList, query=CasesQuery)
@staff_for("case.list")
async def get_cases(request: web.Request) -> web.Response:
    """An area's cases, children's first; nothing about any person."""
    area = request.query.get("area")
    if area is None:
        raise ProtocolError("say which area: ?area=ID")
    found = await cases_app.list_area_cases(
        request.app[RUNTIME], await actor(request), area, request.query.get("status")
    )
    return web.json_response({"cases": [c.as_json() for c in found]})


@routes.get("/api/v1/cases/{ref}")
@documented(CaseOut)
@staff_for("case.show")
async def get_case(request: web.Request) -> web.Response:
    """One case, decrypted, for a coordinator of its area (logged as an access)."""
    case = await cases_app.show_case(
        request.app[RUNTIME], await actor(request), request.match_info["ref"]
    )
    return web.json_response(_case_json(case))


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "area": case.area,
        "status": case.status,
        "referred_on": case.referred_on.isoformat(),
        "heard_on": case.heard_on.isoformat() if case.heard_on else None,
        "criteria": list(case.criteria),
        "is_repeat": case.is_repeat,
        "previous_ref": case.previous_ref,
        "legal_hold": case.legal_hold,
        "view": case.view,
    }


@routes.post("/api/v1/cases/{ref}/amendments")
@documented(Amended, status=201, body=AmendmentBody)
@staff_for("case.amend")
async def post_amendment(request: web.Request) -> web.Response:
    """Amend a case's referral: ``{"changes": {...}}``, a merge patch over the referral;
    the amended extract is re-sent where the case is on a published agenda and the policy
    covers a changed field."""
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"changes"}:
        raise ProtocolError('send {"changes": {...}}', code="invalid-referral")
    done = await cases_app.amend_case(
        request.app[RUNTIME], await actor(request), request.match_info["ref"], body["changes"]
    )
    return web.json_response(done.as_json(), status=201)


@routes.get("/api/v1/cases/{ref}/amendments")
@documented(AmendmentList)
@staff_for("case.amendments")
async def get_amendments(request: web.Request) -> web.Response:
    """A case's amendments, oldest first: who, when, through which door, which fields."""
    ref = request.match_info["ref"]
    found = await cases_app.amendments_of(request.app[RUNTIME], await actor(request), ref)
    return web.json_response({"case_ref": ref, "amendments": [a.as_json() for a in found]})
