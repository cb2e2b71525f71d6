"""Routes for disclosures staff send by hand: case extracts (with overrides), notices,
and disclosures held for review."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.cases import load_case, require_area
from hub.disclosure import Disclosed, DisclosureContext, Held, Outcome, refuse_unless_disclosed
from hub.disclosure.extracts import NoticeOrder, send_extract
from hub.disclosure.review import approve, list_held, reject
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE, KEYS, NOTICES, POLICY, SETTINGS, WAITERS
from hub.service.auth import current_user, staff
from hub.service.notice_sender import NoticeSender
from hub.service.problems import json_body

__all__ = ["context", "notice_sender", "routes", "send_notice"]

routes = web.RouteTableDef()


def context(app: web.Application) -> DisclosureContext:
    """A disclosure context for now, from the running application."""
    return DisclosureContext(app[KEYS], app[SETTINGS], app[POLICY], datetime.now(UTC))


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Disclosed):
        return {
            "status": "sent",
            "agency_id": outcome.agency_id,
            "envelope_id": outcome.envelope_id,
        }
    if isinstance(outcome, Held):
        return {"status": "held", "agency_id": outcome.agency_id, "held_id": outcome.id}
    return {"status": "refused", "agency_id": outcome.agency_id, "code": outcome.code}


def _wake(app: web.Application, outcomes: Sequence[Outcome]) -> None:
    app[WAITERS].notify(o.agency_id for o in outcomes if isinstance(o, Disclosed))


async def notice_sender(app: web.Application) -> AsyncIterator[None]:
    """The application's :class:`NoticeSender` (notices committed together), until it stops."""
    app[NOTICES] = NoticeSender(
        app[ENGINE], context=lambda: context(app), wake=lambda done: _wake(app, done)
    )
    yield
    await app[NOTICES].close()


async def send_notice(
    app: web.Application, to: str, text: str, case_ref: str | None, *, sent_by: str
) -> list[tuple[str, str]]:
    """Seal a notice to one agency or all, commit (with the notices sent at the same
    moment: ``hub.service.notice_sender``), wake the recipients; a refusal of a named
    agency is kept in the log and raised as its problem."""
    outcomes = await app[NOTICES].send(NoticeOrder(to, text, case_ref, sent_by))
    if to != "all":
        refuse_unless_disclosed(outcomes[0])
    return [(o.envelope_id, o.agency_id) for o in outcomes if isinstance(o, Disclosed)]


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
@staff("admin", "coordinator")
async def post_extract(request: web.Request) -> web.Response:
    """Disclose a proportionate extract of a case to one agency; ``widen`` (with a written
    ``justification``) adds fields beyond the policy, flagged for the DPO."""
    body = await json_body(request)
    allowed = {"agency_id", "widen", "justification", "summary"}
    if not isinstance(body, dict) or "agency_id" not in body or not set(body) <= allowed:
        raise ProtocolError("send agency_id, and optionally widen, justification, summary")
    for name in ("agency_id", "justification", "summary"):
        if name in body and not isinstance(body[name], str):
            raise ProtocolError(f"{name} must be a string", code="wrong-type")
    app, user, ref = request.app, current_user(request), request.match_info["ref"]
    async with app[ENGINE].begin() as conn:
        case = await load_case(conn, app[KEYS], ref)
        await require_area(conn, user, case.area, write=True)
        outcome = await send_extract(
            conn,
            context(app),
            case_ref=ref,
            agency_id=body["agency_id"],
            actor=user.name,
            widen=_strings(body, "widen"),
            justification=body.get("justification"),
            summary=body.get("summary"),
        )
    _wake(app, [outcome])
    refuse_unless_disclosed(outcome)
    return web.json_response(_outcome_json(outcome), status=202)


@routes.get("/api/v1/held")
@staff("admin", "coordinator", "dpo")
async def get_held(request: web.Request) -> web.Response:
    """Disclosures held for review (``?status=all`` for decided ones too)."""
    status = request.query.get("status", "held")
    if status not in ("held", "approved", "rejected", "all"):
        raise ProtocolError("status is held, approved, rejected or all")
    async with request.app[ENGINE].connect() as conn:
        found = await list_held(conn, status=None if status == "all" else status)
    return web.json_response({"held": [h.to_json() for h in found]})


async def _resolve(request: web.Request, approving: bool) -> web.Response:
    app, user, hold_id = request.app, current_user(request), request.match_info["id"]
    async with app[ENGINE].begin() as conn:
        held = [h for h in await list_held(conn, status=None) if h.id == hold_id]
        for ref in held[0].case_refs if held else ():
            await require_area(conn, user, (await load_case(conn, app[KEYS], ref)).area, write=True)
        if approving:
            outcome: Outcome | None = await approve(conn, context(app), hold_id, by=user.name)
        else:
            await reject(conn, context(app), hold_id, by=user.name)
            outcome = None
    if outcome is None:
        return web.json_response({"id": hold_id, "status": "rejected"})
    _wake(app, [outcome])
    refuse_unless_disclosed(outcome)
    return web.json_response({"id": hold_id, **_outcome_json(outcome)})


@routes.post("/api/v1/held/{id}/approve")
@staff("admin", "coordinator")
async def approve_held(request: web.Request) -> web.Response:
    """Approve a held disclosure: checked again, then sealed, sent and logged."""
    return await _resolve(request, approving=True)


@routes.post("/api/v1/held/{id}/reject")
@staff("admin", "coordinator")
async def reject_held(request: web.Request) -> web.Response:
    """Reject a held disclosure: nothing is sent; the decision is logged."""
    return await _resolve(request, approving=False)


@routes.post("/api/v1/notices")
@staff("admin", "coordinator")
async def post_notice(request: web.Request) -> web.Response:
    """Seal a free-text notice to one agency or to every active agency."""
    body = await json_body(request)
    if not isinstance(body, dict) or not {"to", "text"} <= set(body) <= {"to", "text", "case_ref"}:
        raise ProtocolError("send exactly to, text, and optionally case_ref")
    if not all(isinstance(v, str) for v in body.values()):
        raise ProtocolError("every field must be a string", code="wrong-type")
    ids = await send_notice(
        request.app,
        body["to"],
        body["text"],
        body.get("case_ref"),
        sent_by=current_user(request).name,
    )
    return web.json_response({"envelopes": [{"id": e, "to": a} for e, a in ids]}, status=202)
