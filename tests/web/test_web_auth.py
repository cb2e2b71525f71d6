"""Sign-in, sessions and CSRF, and who may use which page: plain HTTP against the shared
hub (the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from webkit import PASSWORD, HubThread, WebClient, enrolled, meeting_date

from hub.cases.areas import add_agency
from hub.disclosure.review import list_held
from hub.meetings.tables import meetings
from hub.service.appkeys import ENGINE
from hub.signin.tables import web_sessions

COORDINATOR_PAGES = ["/dashboard", "/referrals/new", "/meetings", "/actions", "/agencies"]
DPO_PAGES = [
    "/log",
    "/log/integrity",
    "/log/charts",
    "/log/subject",
    "/log/reviews",
    "/retention",
]


def _web_routes(hub: HubThread) -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for route in hub.hub.app.router.routes():
        roles = getattr(route.handler, "web_roles", None)
        if roles is not None and route.method != "HEAD":
            found.append((route.method, route.resource.canonical, roles))
    return found


def test_anonymous_is_sent_to_sign_in_from_every_page(web_hub: HubThread, client: Any) -> None:
    anonymous = client()
    routes = _web_routes(web_hub)
    assert len(routes) > 25
    checked = 0
    for method, template, roles in routes:
        if not roles:
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        status, _, resp = anonymous.request(method, path, {"csrf": "x"})
        assert status == 303, (method, path)
        assert resp.headers["Location"].startswith("/login?next="), (method, path)
        checked += 1
    assert checked > 25
    status, body, _ = anonymous.request("GET", "/dashboard", follow=True)
    assert status == 200 and "<h1>Sign in</h1>" in body


def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_password_fails(client: Any) -> None:
    web: WebClient = client()
    _, body, _ = web.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', body)
    assert token
    status, body, _ = web.request(
        "POST",
        "/login",
        {"login_token": token.group(1), "username": "casey", "password": "nope" * 4},
    )
    assert status == 401 and "do not match" in body
    assert web.login("nobody-here") == 401
    status, _, resp = web.request(
        "POST", "/login", {"login_token": "forged", "username": "casey", "password": PASSWORD}
    )
    assert status == 403
    _, body, _ = web.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', body)
    assert token
    status, _, resp = web.request(
        "POST",
        "/login",
        {
            "login_token": token.group(1),
            "username": "casey",
            "password": PASSWORD,
            "next": "//evil",
        },
    )
    assert status == 303 and resp.headers["Location"] == "/dashboard"
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and "marac_session" in v)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; see the TLS-proxy test
    status, body, resp = web.get("/dashboard")
    assert status == 200 and "Northtown MARAC" in body
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_every_form_needs_the_session_csrf_token(web_hub: HubThread, client: Any) -> None:
    casey: WebClient = client("casey")
    area_meetings = _count_meetings(web_hub)
    form = {"area": "north", "date": meeting_date(30).isoformat(), "location": "Town hall"}
    for forged in ({"csrf": "forged-token"}, {"csrf": ""}):
        status, body, _ = casey.post("/meetings", {**form, **forged})
        assert status == 403 and "not sent from a page of this hub" in body
    other: WebClient = client("sam")  # another session's valid token is no good either
    status, _, _ = casey.post("/meetings", {**form, "csrf": other.csrf})
    assert status == 403
    assert _count_meetings(web_hub) == area_meetings
    status, _, resp = casey.post("/meetings", form)
    assert status == 303 and resp.headers["Location"].startswith("/meetings/")
    assert _count_meetings(web_hub) == area_meetings + 1


def _count_meetings(hub: HubThread) -> int:
    async def count() -> int:
        async with hub.hub.app[ENGINE].connect() as conn:
            return len((await conn.execute(select(meetings.c.id))).all())

    return hub.run(count())


def test_a_dpo_cannot_publish_an_agenda_or_use_coordinator_pages(
    web_hub: HubThread, client: Any
) -> None:
    casey: WebClient = client("casey")
    _, _, resp = casey.post(
        "/meetings", {"area": "north", "date": meeting_date(21).isoformat(), "location": ""}
    )
    meeting = resp.headers["Location"].split("?")[0]
    assert casey.post(f"{meeting}/cases", {"case_ref": web_hub.seeded.north_ref})[0] == 303
    dana: WebClient = client("dana")
    for path in [*COORDINATOR_PAGES, meeting, f"/cases/{web_hub.seeded.north_ref}"]:
        status, body, _ = dana.get(path)
        assert status == 403 and "Not allowed" in body, path
    status, _, _ = dana.post(f"{meeting}/publish", {})
    assert status == 403
    status, body, _ = casey.get(meeting)
    assert "not yet published" in body
    for path in DPO_PAGES:
        assert dana.get(path)[0] == 200, path
        assert casey.get(path)[0] == 403, path


def test_a_coordinator_sees_only_their_own_area(web_hub: HubThread, client: Any) -> None:
    sam: WebClient = client("sam")
    north, south = web_hub.seeded.north_ref, web_hub.seeded.south_ref
    status, body, _ = sam.get(f"/cases/{north}")
    assert status == 403 and "Nora Seed" not in body
    status, body, _ = sam.get(f"/cases/{south}")
    assert status == 200 and "Sophie Seed" in body
    status, body, _ = sam.get("/dashboard")
    assert "Southtown MARAC" in body and "Northtown MARAC" not in body and north not in body
    status, body, _ = sam.post(
        "/referrals/new", {"area": "north", "victim.name": "Nobody", "perpetrator.name": "X"}
    )
    assert status == 403
    status, _, _ = sam.post(
        "/meetings", {"area": "north", "date": meeting_date(40).isoformat(), "location": ""}
    )
    assert status == 403
    ada: WebClient = client("ada")  # the admin works in every area and reads the log
    assert ada.get(f"/cases/{north}")[0] == 200 and ada.get("/log")[0] == 200


def test_sign_out_after_inactivity_and_by_hand(web_hub: HubThread, client: Any) -> None:
    web: WebClient = client("casey")
    assert web.get("/dashboard")[0] == 200

    async def idle(minutes: int) -> None:
        async with web_hub.hub.app[ENGINE].begin() as conn:
            await conn.execute(
                update(web_sessions)
                .where(web_sessions.c.user_name == "casey")
                .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=minutes))
            )

    web_hub.run(idle(14))
    assert web.get("/dashboard")[0] == 200  # 14 minutes idle: still signed in
    web_hub.run(idle(16))
    status, _, resp = web.get("/dashboard")
    assert status == 303 and resp.headers["Location"] == "/login?next=/dashboard&expired=1"
    status, body, _ = web.request("GET", resp.headers["Location"])
    assert "signed out after 15 minutes without activity" in body
    assert web.login("casey") == 303
    status, _, resp = web.post("/logout", {})
    assert status == 303 and resp.headers["Location"] == "/login?signed_out=1"
    assert web.get("/dashboard")[0] == 303


def test_bad_form_input_gets_a_page_not_a_crash(web_hub: HubThread, client: Any) -> None:
    casey: WebClient = client("casey")
    status, body, _ = casey.post("/meetings", {"area": "north", "date": "not a date"})
    assert status == 400 and "date must be a date" in body
    status, body, _ = casey.post("/referrals/new", {"area": "north", "victim.name": "A B"})
    assert status == 400 and "The referral was not taken" in body and 'value="A B"' in body
    status, body, _ = casey.post("/meetings", {"area": "north", "date": "x" * 30_000})
    assert status == 400
    status, body, _ = casey.get("/cases/M-0000-0000")
    assert status == 404
    status, body, _ = casey.get("/meetings/not-a-meeting")
    assert status == 404
    dana: WebClient = client("dana")
    assert dana.get("/log?since=yesterday")[0] == 400
    assert dana.get("/log?case=%3Cscript%3E")[0] == 400
    assert dana.get("/log/entries/999999")[0] == 404
    assert dana.get("/log/integrity/runs/nope")[0] == 404
    status, body, _ = dana.post(
        "/log/subject", {"name": "Nobody Known", "date_of_birth": "1990-01-01"}
    )
    assert status == 200 and "No case holds a person" in body
    assert dana.post("/log/subject", {"name": "X", "date_of_birth": "soon"})[0] == 400
    assert casey.get("/static/../pyproject.toml")[0] == 404
    assert casey.get("/static/site.css")[0] == 200


def test_held_disclosures_are_approved_or_rejected_from_the_dashboard(
    web_hub: HubThread, client: Any
) -> None:
    ref = web_hub.seeded.north_ref

    async def hold_two() -> list[str]:
        hub = web_hub.hub
        if "cafcass-north" not in web_hub.seeded.agencies:
            web_hub.seeded.agencies["cafcass-north"] = await enrolled(
                web_hub.http, hub, web_hub.root / "agencies", "cafcass-north", "cafcass"
            )
            async with hub.app[ENGINE].begin() as conn:  # an extract goes to its area only
                await add_agency(conn, "north", "cafcass-north")
        ids = []
        for _ in range(2):
            async with web_hub.http.post(
                f"{hub.url}/api/v1/cases/{ref}/extracts",
                json={"agency_id": "cafcass-north"},
                headers={"Authorization": f"Bearer {hub.admin_token}"},
            ) as resp:
                doc = await resp.json()
                assert resp.status == 202 and doc["status"] == "held", doc
                ids.append(doc["held_id"])
        return ids

    first, second = web_hub.run(hold_two())
    casey: WebClient = client("casey")
    _, body, _ = casey.get("/dashboard")
    assert f"/held/{first}/approve" in body and f"/held/{second}/reject" in body
    sam: WebClient = client("sam")
    assert sam.post(f"/held/{first}/approve", {})[0] == 403  # another area's case
    assert casey.post(f"/held/{first}/approve", {"csrf": "forged"})[0] == 403
    assert casey.post(f"/held/{first}/approve", {})[0] == 303
    assert casey.post(f"/held/{second}/reject", {})[0] == 303
    assert casey.post(f"/held/{second}/approve", {})[0] == 409  # decided already (as the API)

    async def decided() -> dict[str, str]:
        async with web_hub.hub.app[ENGINE].connect() as conn:
            return {h.id: h.status for h in await list_held(conn, status=None)}

    states = web_hub.run(decided())
    assert states[first] == "approved" and states[second] == "rejected"
    dana: WebClient = client("dana")
    _, body, _ = dana.get("/log/reviews")
    assert "approved" in body and "rejected" in body and "casey" in body


def test_agencies_are_invited_compared_approved_suspended_and_revoked(
    web_hub: HubThread, client: Any
) -> None:
    casey: WebClient = client("casey")
    status, body, _ = casey.post(
        "/agencies",
        {
            "id": "housing-web",
            "name": "Housing (web)",
            "kind": "housing",
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-11-01",
            "area": "north",  # a coordinator invites into their own areas
        },
    )
    assert status == 201 and "Enrolment code (shown once)" in body
    assert re.search(r'id="enrolment-code">housing-web:[A-Za-z0-9_-]{40,}<', body)
    assert "Enrolment code (shown once)" not in casey.get("/agencies")[1]
    assert casey.post("/agencies/housing-web/status", {"change": "revoke"})[0] == 403
    ada: WebClient = client("ada")  # revoking cannot be undone: admins only
    ada.get("/agencies")
    assert ada.post("/agencies/housing-web/status", {"change": "revoke"})[0] == 303

    pending = web_hub.run(
        enrolled(
            web_hub.http,
            web_hub.hub,
            web_hub.root / "agencies",
            "probation-web",
            "probation",
            approved=False,
        )
    )

    async def serve_north() -> None:
        async with web_hub.hub.app[ENGINE].begin() as conn:
            await add_agency(conn, "north", "probation-web")

    web_hub.run(serve_north())
    status, body, _ = casey.post("/agencies/probation-web/approve", {"fingerprint": "ab" * 32})
    assert status == 409 and "do not approve" in body
    fingerprint = pending.identity.fingerprint
    assert casey.post("/agencies/probation-web/approve", {"fingerprint": fingerprint})[0] == 303
    for change, shown in (("suspend", "suspended"), ("reinstate", "active")):
        status, _, resp = casey.post("/agencies/probation-web/status", {"change": change})
        assert status == 303 and resp.headers["Location"] == f"/agencies?done={shown}"
    assert casey.post("/agencies/probation-web/status", {"change": "explode"})[0] == 400
    body = casey.get("/agencies")[1]
    assert fingerprint in body and "housing-web" in body
    web_hub.run(pending.client.close())
    pending.store.close()
