"""The coordinator's dashboard: per area, the next meeting, the cases awaiting listing with
their referral-to-meeting clocks, overdue actions by agency, and disclosures held for
review (approve or reject; four eyes: not one's own request)."""

from __future__ import annotations

from aiohttp import web

from hub.app import dashboard as dashboard_app
from hub.app import disclosures as disclosures_app
from hub.http.appkeys import RUNTIME
from hub.web.pages import page_for, render, see_other, web_actor

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/dashboard")
@page_for("dashboard.show")
async def dashboard(request: web.Request) -> web.StreamResponse:
    """The coordinator's first page: each of their areas, with the holds they may decide."""
    shown = await dashboard_app.show_dashboard(request.app[RUNTIME], await web_actor(request))
    return render(
        request,
        "dashboard.html",
        {
            "title": "Dashboard",
            "boards": shown.boards,
            "held_notices": shown.held_elsewhere,
            "dashboard": shown,
        },
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
