"""Every endpoint states who may call it; everyone else gets 401 or 403."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Agent, assert_problem

from hub.service.appkeys import SETTINGS

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v1/hub"),
    ("POST", "/api/v1/enrol"),
    ("GET", "/api/v1/schemas/pole.json"),  # a published schema: no data
    ("GET", "/api/v1/openapi.json"),  # the API's description: no data
}
CALLERS = ("anonymous", "bad-token", "admin", "coordinator", "dpo", "revoked", "agency")


def _routes(app: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for route in app.router.routes():
        if route.method == "HEAD" or hasattr(route.handler, "web_roles"):
            continue  # web pages (hub.web) redirect or render; tests/web checks who may use them
        path = route.resource.canonical
        roles = getattr(route.handler, "roles", None)
        if (route.method, path) in PUBLIC:
            assert roles is None
            continue
        assert roles, f"{route.method} {path} does not state who may call it"
        found.append((route.method, path, tuple(roles)))
    return found


async def test_every_endpoint_refuses_everyone_it_does_not_name(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agency: Agent = await make_agency("police-north")
    tokens = {role: await hub.add_user(f"{role}-user", role) for role in ("coordinator", "dpo")}
    tokens["admin"] = hub.admin_token
    revoked = await hub.add_user("gone", "coordinator")
    async with http.delete(
        f"{hub.url}/api/v1/users/gone", headers={"Authorization": f"Bearer {hub.admin_token}"}
    ) as resp:
        assert resp.status == 200
    tokens["revoked"] = revoked
    tokens["bad-token"] = hub.admin_token[:-4] + "AAAA"
    routes = _routes(hub.app)
    assert len(routes) >= 12
    checked = 0
    for method, template, roles in routes:
        path = re.sub(r"\{[^}]+\}", "nobody", template)
        for caller in CALLERS:
            if caller in roles:
                continue
            if caller == "agency":
                status, doc = await agency.call(method, path, b"{}")
            else:
                headers = (
                    {} if caller == "anonymous" else {"Authorization": f"Bearer {tokens[caller]}"}
                )
                async with http.request(method, hub.url + path, json={}, headers=headers) as resp:
                    status, doc = resp.status, await resp.json(content_type=None)
            if roles == ("agency",):  # staff credentials mean nothing here: no signature
                assert_problem(status, doc, 401, "bad-signature")
            elif caller in ("anonymous", "bad-token", "revoked", "agency"):
                assert_problem(status, doc, 401, "unauthorized")
            else:
                assert_problem(status, doc, 403, "forbidden")
            checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/api/v1/hub", "/api/v1/schemas/pole.json"]
)
async def test_public_endpoints_answer_anyone(hub, http, path: str) -> None:  # type: ignore[no-untyped-def]
    async with http.get(hub.url + path) as resp:
        assert resp.status == 200


async def test_hub_info_names_the_hub_key(hub, http) -> None:  # type: ignore[no-untyped-def]
    async with http.get(hub.url + "/api/v1/hub") as resp:
        doc = await resp.json()
    assert doc["fingerprint"] == hub.keys.identity.fingerprint
    assert doc["hub_id"] == hub.app[SETTINGS].hub_id
