"""Routes for disclosures staff send by hand: case extracts (with overrides), notices,
disclosures held for review, and an area's four-eyes setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub.app import disclosures as disclosures_app
from hub.app import notices as notices_app
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import NOTICES, RUNTIME
from hub.service.auth import actor, staff_for
from hub.service.openapi import documented
from hub.service.openapi_models import (
    ExtractBody,
    ExtractOutcome,
    FourEyes,
    FourEyesBody,
    HeldDecision,
    HeldList,
    HeldQuery,
    NoticeBody,
    NoticesSent,
)
from hub.service.problems import json_body

__all__ = ["notice_sender", "routes"]

routes = web.RouteTableDef()


def _outcome_json(outcome: disclosures_app.Outcome) -> dict[str, Any]:
    if isinstance(outcome, disclosures_app.Disclosed):
        return {
            "status": "sent",
            "agency_id": outcome.agency_id,
            "envelope_id": outcome.envelope_id,
        }
    if isinstance(outcome, disclosures_app.Held):
        return {"status": "held", "agency_id": outcome.agency_id, "held_id": outcome.id}
    return {"status": "refused", "agency_id": outcome.agency_id, "code": outcome.code}


async def notice_sender(app: web.Application) -> AsyncIterator[None]:
    """The runtime's notice sender (notices committed together), until it stops."""
    app[NOTICES] = notices_app.notice_sender(app[RUNTIME])
    yield
    await app[NOTICES].close()


def _strings(body: Any, name: str) -> frozenset[str]:
    value = body.get(name, [])
    if (
        not isinstance(value, list)
        or len(value) > 100
        or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in value)
    ):
        raise ProtocolError(f"{name} must be a list of field paths", code="wrong-type")
    return frozenset(value)


@routes.post("/api/v1/cases/{ref}/extracts")
@documented(ExtractOutcome, status=202, body=ExtractBody)
@staff_for("disclosure.extract")
async def post_extract(request: web.Request) -> web.Response:
    """Disclose a proportionate extract of a case to one agency serving its area; ``widen``
    (with a written ``justification``) adds fields beyond the policy, flagged for the DPO
    and, where four eyes are on, held for a second person's approval."""
    body = await json_body(request)
    allowed = {"agency_id", "widen", "justification", "summary"}
    if not isinstance(body, dict) or "agency_id" not in body or not set(body) <= allowed:
        raise ProtocolError("send agency_id, and optionally widen, justification, summary")
    for name in ("agency_id", "justification", "summary"):
        if name in body and not isinstance(body[name], str):
            raise ProtocolError(f"{name} must be a string", code="wrong-type")
    outcome = await disclosures_app.send_extract(
        request.app[RUNTIME],
        await actor(request),
        request.match_info["ref"],
        body["agency_id"],
        widen=_strings(body, "widen"),
        justification=body.get("justification"),
        summary=body.get("summary"),
    )
    return web.json_response(_outcome_json(outcome), status=202)


@routes.get("/api/v1/held")
@documented(HeldList, query=HeldQuery)
@staff_for("held.list")
async def get_held(request: web.Request) -> web.Response:
    """Disclosures held for review (``?status=all`` for decided ones too); a coordinator
    sees those about their areas' cases."""
    found = await disclosures_app.list_holds(
        request.app[RUNTIME], await actor(request), request.query.get("status", "held")
    )
    return web.json_response({"held": [h.to_json() for h in found]})


@routes.post("/api/v1/held/{id}/approve")
@documented(HeldDecision)
@staff_for("held.approve")
async def approve_held(request: web.Request) -> web.Response:
    """Approve a held disclosure (four eyes: not the person who asked): checked again,
    then sealed, sent and logged."""
    hold_id = request.match_info["id"]
    sent = await disclosures_app.approve_hold(request.app[RUNTIME], await actor(request), hold_id)
    return web.json_response({"id": hold_id, **_outcome_json(sent)})


@routes.post("/api/v1/held/{id}/reject")
@documented(HeldDecision)
@staff_for("held.reject")
async def reject_held(request: web.Request) -> web.Response:
    """Reject a held disclosure: nothing is sent; the decision is logged."""
    hold_id = request.match_info["id"]
    await disclosures_app.reject_hold(request.app[RUNTIME], await actor(request), hold_id)
    return web.json_response({"id": hold_id, "status": "rejected"})


@routes.put("/api/v1/areas/{id}/four-eyes")
@documented(FourEyes, body=FourEyesBody)
@staff_for("area.four-eyes")
async def put_four_eyes(request: web.Request) -> web.Response:
    """Turn four eyes on or off for an area: ``{"on": true|false}`` (logged)."""
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"on"}:
        raise ProtocolError('send {"on": true} or {"on": false}')
    area_id = request.match_info["id"]
    on = await disclosures_app.set_four_eyes(
        request.app[RUNTIME], await actor(request), area_id, body["on"]
    )
    return web.json_response({"area": area_id, "four_eyes": on})


@routes.post("/api/v1/notices")
@documented(NoticesSent, status=202, body=NoticeBody)
@staff_for("disclosure.notice")
async def post_notice(request: web.Request) -> web.Response:
    """Seal a free-text notice to one agency or to every active agency the sender may
    reach (``case_ref``: only agencies serving that case's area)."""
    body = await json_body(request)
    if not isinstance(body, dict) or not {"to", "text"} <= set(body) <= {"to", "text", "case_ref"}:
        raise ProtocolError("send exactly to, text, and optionally case_ref")
    if not all(isinstance(v, str) for v in body.values()):
        raise ProtocolError("every field must be a string", code="wrong-type")
    outcomes = await notices_app.send_notice(
        request.app[RUNTIME], await actor(request), body["to"], body["text"], body.get("case_ref")
    )
    sent = [o for o in outcomes if isinstance(o, notices_app.Disclosed)]
    return web.json_response(
        {"envelopes": [{"id": o.envelope_id, "to": o.agency_id} for o in sent]}, status=202
    )
