"""Agencies: invite (the enrolment code shown once), compare fingerprints and approve,
suspend, reinstate, revoke; ISP signatures and delivery settings, read-only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from aiohttp import web

from hub import agencies as agency_ops
from hub.delivery.settings import delivery_of
from hub.policy.isp import isp_status
from hub.protocol.errors import ProtocolError
from hub.service.appkeys import ENGINE
from hub.web.pages import current, field, page, render, see_other

__all__ = ["routes"]

routes = web.RouteTableDef()
COORDINATORS: Final = ("admin", "coordinator")
_STATUS: Final = {"suspend": "suspended", "reinstate": "active", "revoke": "revoked"}
_DONE: Final = {
    "approved": "Agency approved: it now receives what the policy allows.",
    "suspended": "Agency suspended: it receives nothing until reinstated.",
    "active": "Agency reinstated.",
    "revoked": "Agency revoked, with all its keys.",
}


async def _page(
    request: web.Request, *, code: str | None = None, status: int = 200
) -> web.Response:
    engine = request.app[ENGINE]
    found = await agency_ops.list_agencies(engine, datetime.now(UTC))
    async with engine.connect() as conn:
        current_isp, signatures = await isp_status(conn)
        delivery = {a.id: await delivery_of(conn, a.id) for a in found}
    return render(
        request,
        "agencies.html",
        {
            "title": "Agencies",
            "agencies": found,
            "isp": current_isp,
            "signed": {s.agency_id: s for s in signatures},
            "delivery": delivery,
            "kinds": agency_ops.KINDS,
            "code": code,
            "today": date.today(),
            "notice": _DONE.get(request.query.get("done", "")),
        },
        status=status,
    )


@routes.get("/agencies")
@page(*COORDINATORS)
async def agencies_page(request: web.Request) -> web.StreamResponse:
    """Every agency: status, fingerprints, ISP signature, delivery."""
    return await _page(request)


@routes.post("/agencies")
@page(*COORDINATORS)
async def invite(request: web.Request) -> web.StreamResponse:
    """Invite an agency; its one-time enrolment code is shown on the page, once."""
    try:
        signed_on = date.fromisoformat(field(request, "isp_signed_on") or "")
    except ValueError:
        raise ProtocolError("the ISP signature date must be a date") from None
    code = await agency_ops.invite(
        request.app[ENGINE],
        agency_id=field(request, "id", limit=64) or "",
        name=field(request, "name", limit=200) or "",
        kind=field(request, "kind", limit=32) or "",
        isp_version=field(request, "isp_version", limit=32) or "",
        isp_signed_by=field(request, "isp_signed_by", limit=200) or "",
        isp_signed_on=signed_on,
        now=datetime.now(UTC),
    )
    return await _page(request, code=code, status=201)


@routes.post("/agencies/{id}/approve")
@page(*COORDINATORS)
async def approve(request: web.Request) -> web.StreamResponse:
    """Approve an enrolled agency once the fingerprint read out matches."""
    await agency_ops.approve(
        request.app[ENGINE],
        request.match_info["id"],
        field(request, "fingerprint", limit=100) or "",
        by=current(request).name,
        now=datetime.now(UTC),
    )
    raise see_other("/agencies?done=approved")


@routes.post("/agencies/{id}/status")
@page(*COORDINATORS)
async def change_status(request: web.Request) -> web.StreamResponse:
    """Suspend, reinstate or revoke."""
    status = _STATUS.get(field(request, "change", limit=20) or "")
    if status is None:
        raise ProtocolError("change is suspend, reinstate or revoke")
    await agency_ops.set_status(
        request.app[ENGINE],
        request.match_info["id"],
        status,
        now=datetime.now(UTC),
        actor=current(request).name,
    )
    raise see_other(f"/agencies?done={status}")
