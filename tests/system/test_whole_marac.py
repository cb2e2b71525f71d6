"""A whole MARAC against a real hub with real agency clients (SQLite).

25 referrals (repeats, children, "perpetrator must not know"), 12 agencies of different
kinds, one meeting: agenda, research responses, attendance, actions and updates,
minutes. Then: each agency received only what its policy allows, attendees alone got
the minutes, and the disclosure log holds exactly one ``disclosure`` entry per envelope
sent, one to one by envelope id, with every receipt matching an envelope.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from agency_client.datadir import DataDir
from agency_client.hub_client import HubClient
from agency_client.outbound import action_update, fetch_hub_key, research_response, send_to_hub
from agency_client.rotation import KeyRotation
from agency_client.runner import Runner, RunnerSettings
from agency_client.store import Store
from hub.delivery.tables import outbox, receipts
from hub.disclosure.fields import disclosed_paths
from hub.log.tables import log_entries, log_index
from hub.protocol.messages import parse_message
from hub.service.appkeys import ENGINE, POLICY
from hub.testing import RunningHub, running_hub

PASS = "a long agency passphrase"
TODAY = datetime.now(UTC).date()
KINDS = {
    "police": "police",
    "idva": "idva",
    "csc": "childrens_social_care",
    "health": "health",
    "housing": "housing",
    "probation": "probation",
    "education": "education",
    "refuge": "refuge",
    "mental-health": "mental_health",
    "substance": "substance_misuse",
    "asc": "adult_social_care",
    "cafcass": "cafcass",
}
APOLOGIES = {"cafcass", "substance", "asc"}
PURPOSE = {
    "agenda": "agenda",
    "research_request": "research_request",
    "action_notice": "action_notice",
    "minutes": "minutes",
}


async def staff(
    http: aiohttp.ClientSession,
    hub: RunningHub,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {token or hub.admin_token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status < 300, (method, path, doc)
        return doc


class Client:
    """One agency's real client: data directory, keys, store, runner."""

    def __init__(self, agency_id: str, data: DataDir, store: Store, client: HubClient) -> None:
        self.id, self.data, self.store, self.client = agency_id, data, store, client
        hub_key = store.hub_key()
        assert hub_key is not None
        rotation = KeyRotation(client, store, data.keys, PASS, strength="interactive")
        self.runner = Runner(client, store, rotation, hub_key, None, settings=RunnerSettings())

    async def receive(self) -> None:
        while (report := await self.runner.cycle(wait=0)) is not None and report.received:
            pass

    async def send(self, message: Any) -> None:
        hub_key = self.store.hub_key()
        assert hub_key is not None
        await send_to_hub(self.client, message, await fetch_hub_key(self.client, hub_key))

    def messages(self) -> list[Any]:
        return [
            parse_message(info.type, self.store.message(info.envelope_id).payload)
            for info in self.store.messages()
        ]


async def enrol(http: aiohttp.ClientSession, hub: RunningHub, root: Path, agency_id: str) -> Client:
    doc = await staff(
        http,
        hub,
        "POST",
        "/api/v1/agencies",
        {
            "id": agency_id,
            "name": f"{agency_id} service",
            "kind": KINDS[agency_id],
            "isp_version": "2026.1",
            "isp_signed_by": "DMO",
            "isp_signed_on": "2026-01-01",
        },
    )
    data = DataDir(root / agency_id)
    identity, key = data.keys.create(PASS, strength="interactive")
    now = datetime.now(UTC)
    enrolment = await HubClient.enrol(hub.url, doc["enrolment_code"], identity, key.public, now)
    store = data.open_store(identity, create=True)
    store.record_enrolment(
        agency_id=agency_id, hub_url=hub.url, hub_key=enrolment.hub_key, key=key, now=now
    )
    await staff(
        http,
        hub,
        "POST",
        f"/api/v1/agencies/{agency_id}/approve",
        {"identity_fingerprint": identity.fingerprint},
    )
    await staff(http, hub, "POST", "/api/v1/areas/north/agencies", {"agency": agency_id})
    return Client(agency_id, data, store, HubClient(hub.url, agency_id, identity))


def referral(n: int) -> dict[str, Any]:
    person = n % 20  # 20-24 repeat the victims and perpetrators of 0-4
    return {
        "referring_agency": "police" if n % 3 else "idva",
        "referred_on": (TODAY - timedelta(days=5 + n if n < 20 else n - 19)).isoformat(),
        "victim": {
            "name": f"Victim Surname{person}",
            "date_of_birth": "1990-04-02",
            "address": f"{person} Victim Road",
        },
        "perpetrator": {
            "name": f"Perp Surname{person}",
            "date_of_birth": "1985-02-01",
            "address": f"{person} Perp Road",
        },
        "children": [
            {
                "name": f"Child Surname{person}",
                "date_of_birth": "2018-03-03",
                "school": "Northtown Primary",
            }
        ]
        if n % 4 == 0
        else [],
        "risk": {"tool": "DASH", "answers": ["yes"] * 15 + ["no"] * 9},
        "criterion": "visible_high_risk",
        "consent": {"status": "not_sought", "exception": "risk of serious harm"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900000"},
        "perpetrator_must_not_know": n % 5 == 0,
    }


async def test_a_whole_marac(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "hub") as hub, aiohttp.ClientSession() as http:
        await staff(http, hub, "POST", "/api/v1/areas", {"id": "north", "name": "Northtown"})
        nora = await hub.add_user("nora", "coordinator")
        await staff(http, hub, "POST", "/api/v1/areas/north/users", {"user": "nora"})
        clients = {a: await enrol(http, hub, tmp_path / "agencies", a) for a in KINDS}
        try:
            await _meeting(hub, http, nora, clients)
            await _check(hub, clients)
        finally:
            for c in clients.values():
                await c.client.close()
                c.store.close()


async def _meeting(
    hub: RunningHub, http: aiohttp.ClientSession, nora: str, clients: dict[str, Client]
) -> None:
    refs, repeats = [], 0
    for n in range(25):
        doc = await staff(
            http, hub, "POST", "/api/v1/cases", {"area": "north", "referral": referral(n)}, nora
        )
        refs.append(doc["case_ref"])
        repeats += doc["is_repeat"]
    assert repeats == 5
    meeting = await staff(
        http,
        hub,
        "POST",
        "/api/v1/meetings",
        {"area": "north", "date": (TODAY + timedelta(days=10)).isoformat()},
        nora,
    )
    mid = meeting["id"]
    for ref in refs:
        await staff(http, hub, "POST", f"/api/v1/meetings/{mid}/cases", {"case_ref": ref}, nora)
    report = await staff(http, hub, "POST", f"/api/v1/meetings/{mid}/publish", {}, nora)
    assert all(a["outcome"] == "disclosed" for a in report["agendas"]), report
    assert len(report["research_requests"]) == 25 * 12
    for c in clients.values():
        await c.receive()

    # Research: a few agencies answer a few cases, through the client's own library.
    for agency_id in ("police", "health", "csc", "education"):
        c = clients[agency_id]
        for ref in refs[:5]:
            answer = {
                "nothing_known": False,
                "items": [
                    {"text": "Known to us since 2024.", "kind": "fact"},
                    {"text": "Worried about escalation.", "kind": "opinion"},
                ],
                "withheld": [{"description": "a third party's record", "reason": "their consent"}],
            }
            await c.send(
                research_response(c.store, ref, answer, agency_id=c.id, now=datetime.now(UTC))
            )
    research = await staff(http, hub, "GET", f"/api/v1/meetings/{mid}/research", None, nora)
    first = next(x for x in research["cases"] if x["case_ref"] == refs[0])
    assert sorted(r["agency"] for r in first["responses"]) == [
        "csc",
        "education",
        "health",
        "police",
    ]
    assert len(first["not_responded"]) == 8

    for agency_id in KINDS:
        status = "apologies" if agency_id in APOLOGIES else "attended"
        await staff(
            http,
            hub,
            "POST",
            f"/api/v1/meetings/{mid}/attendance",
            {"agency": agency_id, "status": status},
            nora,
        )
    owners = ["housing", "police", "idva", "csc", "probation", "health", "refuge", "education"]
    action_ids = {}
    for i, owner in enumerate(owners):
        doc = await staff(
            http,
            hub,
            "POST",
            "/api/v1/actions",
            {
                "meeting": mid,
                "case_ref": refs[i],
                "owner": owner,
                "description": f"Safety step {i} for the victim",
                "due_date": (TODAY + timedelta(days=14)).isoformat(),
            },
            nora,
        )
        assert doc["notice"]["outcome"] == "disclosed", doc
        action_ids[owner] = doc["action"]["id"]
    for owner in owners:
        await clients[owner].receive()
    for owner, status in (
        ("housing", "in_progress"),
        ("police", "completed"),
        ("idva", "cancelled"),
    ):
        c = clients[owner]
        reason = "victim moved out of area" if status == "cancelled" else None
        await c.send(
            action_update(
                c.store,
                action_ids[owner],
                status=status,
                now=datetime.now(UTC),
                note="Update from the agency",
                reason=reason,
            )
        )
    listed = await staff(http, hub, "GET", "/api/v1/actions?area=north", None, nora)
    statuses = {a["owner"]: a["status"] for a in listed["actions"]}
    assert statuses["housing"] == "in_progress" and statuses["police"] == "completed"
    assert statuses["idva"] == "cancelled" and statuses["csc"] == "open"

    minutes = {
        "items": [
            {"case_ref": r, "discussion": f"Plan agreed for item {i}."} for i, r in enumerate(refs)
        ]
    }
    doc = await staff(http, hub, "POST", f"/api/v1/meetings/{mid}/minutes", minutes, nora)
    assert {m["agency"] for m in doc["minutes"]} == set(KINDS) - APOLOGIES
    for c in clients.values():
        await c.receive()


async def _check(hub: RunningHub, clients: dict[str, Client]) -> None:
    policy = hub.app[POLICY]
    got_minutes = set()
    for agency_id, c in clients.items():
        for message in c.messages():
            purpose = PURPOSE.get(message.message_type)
            paths = disclosed_paths(json.loads(message.model_dump_json(exclude_none=True)))
            if purpose is None:  # a notice: no case data at all
                assert not paths
                continue
            rule = policy.rule(purpose, KINDS[agency_id])
            assert rule is not None
            assert paths <= rule.fields | rule.restricted_fields, (agency_id, purpose, paths)
            if purpose == "minutes":
                got_minutes.add(agency_id)
    assert got_minutes == set(KINDS) - APOLOGIES

    async with hub.app[ENGINE].connect() as conn:
        sent = {r.envelope_id: r for r in await conn.execute(select(outbox))}
        logged = [
            r
            for r in await conn.execute(
                select(log_index.c.envelope_id, log_index.c.agency, log_entries.c.entry)
                .join(log_entries, log_entries.c.idx == log_index.c.idx)
                .where(log_index.c.kind == "disclosure")
            )
        ]
        acked = list(await conn.execute(select(receipts)))
    assert len(logged) == len(sent) > 25 * 12
    assert {r.envelope_id for r in logged} == set(sent)
    for row in logged:
        entry = json.loads(bytes(row.entry))
        assert entry["recipient"] == sent[row.envelope_id].agency_id
    assert len(acked) == len(sent)  # every client acknowledged everything
    for receipt in acked:
        envelope = sent[receipt.envelope_id]
        assert receipt.agency_id == envelope.agency_id
        assert json.loads(receipt.receipt)["envelope_sha256"] == envelope.digest
