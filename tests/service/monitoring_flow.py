"""A whole MARAC run over HTTP for the monitoring tests: referral -> agenda -> receipts.

Works against any hub reachable at a URL with an admin token (``hub.testing.running_hub``
or a ``marac-hub serve`` process). The referral carries personal data the tests then look
for in the logs and the metrics: it must appear in neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from conftest import Agent, enrol, invite, staff_call

TODAY = datetime.now(UTC).date()
ISP = "2026.1"  # the version conftest's invite names
COORDINATOR = "quillon-coordinator"
VICTIM = {
    "name": "Hermione Quaggleton",
    "date_of_birth": "1987-03-14",
    "address": "42 Larkspur Crescent, Pemberly PB7 3QX",
}
PERPETRATOR = {
    "name": "Bartholomew Snodgrass",
    "date_of_birth": "1985-11-29",
    "address": "9 Thistlewood Row",
}
CHILD = {"name": "Wilhelmina Quaggleton", "date_of_birth": "2018-07-05"}
PHONE = "07700 900461"
PERSONAL_DATA = (
    *(VICTIM.values()),
    *(PERPETRATOR.values()),
    *(CHILD.values()),
    PHONE,
    "Quaggleton",
    "Snodgrass",
    "Larkspur",
    "Thistlewood",
    COORDINATOR,
)


@dataclass
class Hub:
    """Enough of a hub for ``conftest``'s helpers: its URL and an admin token."""

    url: str
    admin_token: str


@dataclass
class Run:
    """What a run made: the case references, the agencies and the staff tokens."""

    case_refs: list[str] = field(default_factory=list)
    agencies: dict[str, Agent] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    received: dict[str, int] = field(default_factory=dict)


def referral() -> dict[str, Any]:
    return {
        "referring_agency": "police-north",
        "referred_on": (TODAY - timedelta(days=5)).isoformat(),
        "victim": VICTIM,
        "perpetrator": PERPETRATOR,
        "children": [CHILD],
        "risk": {"tool": "DASH", "answers": ["yes"] * 15 + ["no"] * 9},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": True, "phone": PHONE},
        "perpetrator_must_not_know": False,
    }


async def _ok(
    hub: Hub,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
) -> Any:
    status, doc = await staff_call(hub, http, method, path, token, body)
    assert status in (200, 201), (method, path, status, doc)
    return doc


async def referral_agenda_receipts(
    hub: Hub, http: aiohttp.ClientSession, *, publish_isp: bool = False
) -> Run:
    """Two agencies, a coordinator, a referral, a meeting's agenda published and every
    envelope acknowledged with a signed receipt (``publish_isp``: publish the ISP first,
    as a hub fresh from ``marac-hub init`` has none; ``running_hub`` has)."""
    run = Run(tokens=[hub.admin_token])
    if publish_isp:
        await _ok(hub, http, "POST", "/api/v1/isp", body={"version": ISP, "title": "Test ISP"})
    await _ok(hub, http, "POST", "/api/v1/areas", body={"id": "north", "name": "North"})
    for agency_id, kind in (("police-north", "police"), ("idva-north", "idva")):
        agent = Agent(hub, http, agency_id)
        status, doc = await enrol(agent, await invite(hub, http, agency_id, kind))
        assert status == 201, doc
        await _ok(
            hub,
            http,
            "POST",
            f"/api/v1/agencies/{agency_id}/approve",
            body={"identity_fingerprint": agent.identity.fingerprint},
        )
        await _ok(hub, http, "POST", "/api/v1/areas/north/agencies", body={"agency": agency_id})
        run.agencies[agency_id] = agent
    added = await _ok(
        hub, http, "POST", "/api/v1/users", body={"name": COORDINATOR, "role": "coordinator"}
    )
    coordinator = added["token"]
    run.tokens.append(coordinator)
    await _ok(hub, http, "POST", "/api/v1/areas/north/users", body={"user": COORDINATOR})
    case = await _ok(
        hub, http, "POST", "/api/v1/cases", coordinator, {"area": "north", "referral": referral()}
    )
    run.case_refs.append(case["case_ref"])
    meeting = await _ok(
        hub,
        http,
        "POST",
        "/api/v1/meetings",
        coordinator,
        {"area": "north", "date": (TODAY + timedelta(days=7)).isoformat(), "location": "Town Hall"},
    )
    mid = meeting["id"]
    await _ok(
        hub,
        http,
        "POST",
        f"/api/v1/meetings/{mid}/cases",
        coordinator,
        {"case_ref": case["case_ref"]},
    )
    report = await _ok(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", coordinator, {})
    assert {a["outcome"] for a in report["agendas"]} == {"disclosed"}, report
    for agency_id, agent in run.agencies.items():
        envelopes = await agent.poll()
        assert envelopes, agency_id
        status, doc = await agent.ack(envelopes)
        assert status == 200, doc
        run.received[agency_id] = len(envelopes)
    return run
