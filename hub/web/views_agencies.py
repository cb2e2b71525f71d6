"""Agencies: invite into one's areas (the enrolment code shown once), compare
fingerprints and approve, suspend, reinstate, revoke (admins); ISP signatures and
delivery settings, read-only. A coordinator sees and administers the agencies serving
their areas only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Final

from aiohttp import web

from hub.app import Actor, Runtime
from hub.app import agencies as agency_app
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import ProtocolError
from hub.web.pages import field, form, page_for, render, see_other, web_actor

__all__ = ["routes"]

routes = web.RouteTableDef()
Change = Callable[[Runtime, Actor, str], Awaitable[None]]
_CHANGE: Final[dict[str, tuple[Change, str]]] = {
    "suspend": (agency_app.suspend_agency, "suspended"),
    "reinstate": (agency_app.reinstate_agency, "active"),
    "revoke": (agency_app.revoke_agency, "revoked"),
}
_DONE: Final = {
    "approved": "Agency approved: it now receives what the policy allows.",
    "suspended": "Agency suspended: it receives nothing, from any area, until reinstated.",
    "active": "Agency reinstated.",
    "revoked": "Agency revoked, with all its keys.",
}


async def _page(
    request: web.Request, *, code: str | None = None, status: int = 200
) -> web.Response:
    found = await agency_app.agency_page(request.app[RUNTIME], await web_actor(request))
    return render(
        request,
        "agencies.html",
        {
            "title": "Agencies",
            "agencies": found.listing.agencies,
            "served": found.listing.areas,
            "isp": found.isp,
            "signed": found.signed,
            "delivery": found.delivery,
            "my_areas": found.my_areas,
            "may_revoke": found.may_revoke,
            "kinds": agency_app.KINDS,
            "code": code,
            "today": date.today(),
            "notice": _DONE.get(request.query.get("done", "")),
        },
        status=status,
    )


@routes.get("/agencies")
@page_for("agency.page")
async def agencies_page(request: web.Request) -> web.StreamResponse:
    """The agencies (a coordinator's: those serving their areas): status, fingerprints,
    areas, ISP signature, delivery."""
    return await _page(request)


@routes.post("/agencies")
@page_for("agency.invite")
async def invite(request: web.Request) -> web.StreamResponse:
    """Invite an agency into the areas ticked; its one-time enrolment code is shown on
    the page, once."""
    try:
        signed_on = date.fromisoformat(field(request, "isp_signed_on") or "")
    except ValueError:
        raise ProtocolError("the ISP signature date must be a date") from None
    areas = [a for a in form(request).getall("area", []) if isinstance(a, str)]
    code = await agency_app.invite_agency(
        request.app[RUNTIME],
        await web_actor(request),
        agency_id=field(request, "id", limit=64) or "",
        name=field(request, "name", limit=200) or "",
        kind=field(request, "kind", limit=32) or "",
        isp_version=field(request, "isp_version", limit=32) or "",
        isp_signed_by=field(request, "isp_signed_by", limit=200) or "",
        isp_signed_on=signed_on,
        areas=areas[: agency_app.MAX_AREAS],
    )
    return await _page(request, code=code, status=201)


@routes.post("/agencies/{id}/approve")
@page_for("agency.approve")
async def approve(request: web.Request) -> web.StreamResponse:
    """Approve an enrolled agency once the fingerprint read out matches."""
    await agency_app.approve_agency(
        request.app[RUNTIME],
        await web_actor(request),
        request.match_info["id"],
        field(request, "fingerprint", limit=100) or "",
    )
    raise see_other("/agencies?done=approved")


@routes.post("/agencies/{id}/status")
@page_for("agency.suspend")
async def change_status(request: web.Request) -> web.StreamResponse:
    """Suspend or reinstate (an admin, or a coordinator as the rules say), or revoke
    (admins only): each change is its own use-case, which checks who may."""
    chosen = _CHANGE.get(field(request, "change", limit=20) or "")
    if chosen is None:
        raise ProtocolError("change is suspend, reinstate or revoke")
    change, status = chosen
    await change(request.app[RUNTIME], await web_actor(request), request.match_info["id"])
    raise see_other(f"/agencies?done={status}")
