"""Case extracts, coordinator overrides and held disclosures over HTTP, on both engines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from conftest import Agent, assert_problem, staff_call
from sqlalchemy import select
from test_cases_api import REFERRAL

from hub.crypto.sealing import open_envelope
from hub.delivery.tables import outbox
from hub.disclosure.tables import overrides
from hub.log import parse_entry
from hub.log.tables import log_entries
from hub.service.appkeys import ENGINE

JUSTIFICATION = "Police need the victim's ethnicity to assign a specialist officer today."


async def _north(hub: Any, http: Any, make_agency: Any) -> tuple[str, str, dict[str, Agent]]:
    """Area north with coordinator nora, a referred case and four active agencies serving
    it."""
    agents = {
        "police-north": await make_agency("police-north", "police"),
        "housing-north": await make_agency("housing-north", "housing"),
        "refuge-north": await make_agency("refuge-north", "refuge"),
        "cafcass-north": await make_agency("cafcass-north", "cafcass"),
    }
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/areas", body={"id": "north", "name": "North MARAC"}
    )
    assert status == 201, doc
    for agency_id in agents:
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/areas/north/agencies", body={"agency": agency_id}
        )
        assert status == 201, doc
    nora = await hub.add_user("nora", "coordinator")
    await staff_call(hub, http, "POST", "/api/v1/areas/north/users", body={"user": "nora"})
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", nora, {"area": "north", "referral": REFERRAL}
    )
    assert status == 201, doc
    return nora, doc["case_ref"], agents


async def _entries(hub: Any) -> list[Any]:
    async with hub.app[ENGINE].connect() as conn:
        rows = await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))
        return [parse_entry(bytes(r.entry)) for r in rows]


async def _outbox_count(hub: Any) -> int:
    async with hub.app[ENGINE].connect() as conn:
        return len((await conn.execute(select(outbox.c.envelope_id))).all())


async def test_an_extract_is_the_policy_projection_sealed_and_logged(  # type: ignore[no-untyped-def]
    hub, http, make_agency
) -> None:
    nora, ref, agents = await _north(hub, http, make_agency)
    path = f"/api/v1/cases/{ref}/extracts"
    status, doc = await staff_call(hub, http, "POST", path, nora, {"agency_id": "police-north"})
    assert status == 202 and doc["status"] == "sent", doc
    police = agents["police-north"]
    (envelope,) = await police.poll()
    assert envelope.header.id == doc["envelope_id"] and envelope.header.case_ref == ref
    opened = open_envelope(envelope, recipient=police.keys[-1], sender=hub.keys.identity.public)
    extract = opened.payload
    assert extract["case_ref"] == ref and extract["lawful_basis"]["id"]
    assert extract["victim"]["name"] == "Alice Smith"
    (entry,) = [e for e in await _entries(hub) if e.kind == "disclosure"]
    assert entry.envelope_id == envelope.header.id
    assert entry.envelope_sha256 == envelope.digest()
    assert entry.recipient == "police-north" and entry.case_refs == (ref,)
    assert "victim.name" in (entry.fields or ())
    assert entry.basis is not None and entry.basis.id == extract["lawful_basis"]["id"]
    assert "Alice" not in entry.model_dump_json()

    # The DPO's subject access report finds it by name and date of birth.
    argv = ["--data-dir", str(hub.settings.data_dir)]
    if hub.settings.database_url:
        argv += ["--database-url", hub.settings.database_url]
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "marac-hub"),
        *argv,
        "log",
        "subject",
        "--name",
        "alice  SMITH",
        "--dob",
        REFERRAL["victim"]["date_of_birth"],
        env={**os.environ, "MARAC_HUB_KEY_PASSPHRASE": "marac-hub-testing"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err
    report = out.decode()
    assert envelope.header.id in report and "police-north" in report, report
    assert "case_extract" in report and entry.basis.id in report


async def test_a_refusal_sends_nothing_and_is_logged(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    nora, ref, _ = await _north(hub, http, make_agency)
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/agencies/refuge-north/suspend", body={}
    )
    assert status == 200, doc
    before = await _outbox_count(hub)
    status, doc = await staff_call(
        hub, http, "POST", f"/api/v1/cases/{ref}/extracts", nora, {"agency_id": "refuge-north"}
    )
    assert_problem(status, doc, 403, "agency-not-active")
    assert await _outbox_count(hub) == before
    refusal = (await _entries(hub))[-1]
    assert (refusal.kind, refusal.recipient, refusal.refusal_code) == (
        "refusal",
        "refuge-north",
        "agency-not-active",
    )


async def test_widening_needs_a_justification_and_is_flagged(  # type: ignore[no-untyped-def]
    hub, http, make_agency, tmp_path: Path
) -> None:
    nora, ref, agents = await _north(hub, http, make_agency)
    # With four eyes off in the area, an override is sent at once (tests/app: held).
    status, doc = await staff_call(
        hub, http, "PUT", "/api/v1/areas/north/four-eyes", body={"on": False}
    )
    assert status == 200 and doc == {"area": "north", "four_eyes": False}, doc
    path = f"/api/v1/cases/{ref}/extracts"
    widen = {"agency_id": "housing-north", "widen": ["victim.date_of_birth"]}
    before = await _outbox_count(hub)
    status, doc = await staff_call(hub, http, "POST", path, nora, widen)
    assert_problem(status, doc, 400, "missing-field")
    status, doc = await staff_call(hub, http, "POST", path, nora, widen | {"justification": " "})
    assert_problem(status, doc, 400, "missing-field")
    status, doc = await staff_call(
        hub, http, "POST", path, nora, widen | {"justification": "x" * 2001}
    )
    assert_problem(status, doc, 400, "field-too-large")
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        path,
        nora,
        {"agency_id": "housing-north", "widen": ["shoe.size"]} | {"justification": JUSTIFICATION},
    )
    assert status == 400, doc
    assert await _outbox_count(hub) == before

    status, doc = await staff_call(
        hub, http, "POST", path, nora, widen | {"justification": JUSTIFICATION}
    )
    assert status == 202 and doc["status"] == "sent", doc
    housing = agents["housing-north"]
    (envelope,) = await housing.poll()
    opened = open_envelope(envelope, recipient=housing.keys[-1], sender=hub.keys.identity.public)
    assert opened.payload["victim"]["date_of_birth"] == REFERRAL["victim"]["date_of_birth"]
    entries = await _entries(hub)
    override, disclosure = entries[-2], entries[-1]
    assert override.kind == "override" and override.fields == ("victim.date_of_birth",)
    assert disclosure.override == override.override and disclosure.override is not None
    async with hub.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(overrides))).one()
    assert JUSTIFICATION.encode() not in bytes(row.justification)
    assert row.justification_sha256 == disclosure.override.justification_sha256
    assert JUSTIFICATION not in json.dumps([e.model_dump(mode="json") for e in entries])


async def test_held_disclosures_wait_for_a_second_coordinator(  # type: ignore[no-untyped-def]
    hub, http, make_agency
) -> None:
    nora, ref, agents = await _north(hub, http, make_agency)
    nick = await hub.add_user("nick", "coordinator")
    await staff_call(hub, http, "POST", "/api/v1/areas/north/users", body={"user": "nick"})
    path = f"/api/v1/cases/{ref}/extracts"
    # The default policy holds a Cafcass case extract for a coordinator's review.
    cafcass = agents["cafcass-north"]
    held_ids = []
    for _ in range(2):
        body = {"agency_id": "cafcass-north"}
        status, doc = await staff_call(hub, http, "POST", path, nora, body)
        assert status == 202 and doc["status"] == "held", doc
        held_ids.append(doc["held_id"])
    assert await cafcass.poll() == []
    status, doc = await staff_call(hub, http, "GET", "/api/v1/held", nora)
    assert [h["id"] for h in doc["held"]] == held_ids
    assert "Alice" not in json.dumps(doc)

    status, doc = await staff_call(hub, http, "POST", f"/api/v1/held/{held_ids[0]}/approve", nora)
    assert_problem(status, doc, 403, "self-approval")
    status, doc = await staff_call(hub, http, "POST", f"/api/v1/held/{held_ids[0]}/approve", nick)
    assert status == 200 and doc["status"] == "sent", doc
    (envelope,) = await cafcass.poll()
    assert envelope.header.id == doc["envelope_id"]
    opened = open_envelope(envelope, recipient=cafcass.keys[-1], sender=hub.keys.identity.public)
    assert opened.payload["victim"]["name"] == "Alice Smith"
    status, _ = await cafcass.ack([envelope])
    assert status == 200
    status, doc = await staff_call(hub, http, "POST", f"/api/v1/held/{held_ids[0]}/reject", nora)
    assert_problem(status, doc, 409, "conflict")

    status, doc = await staff_call(hub, http, "POST", f"/api/v1/held/{held_ids[1]}/reject", nora)
    assert status == 200 and doc["status"] == "rejected", doc
    assert await cafcass.poll() == []
    status, doc = await staff_call(hub, http, "GET", "/api/v1/held", nora)
    assert doc["held"] == []
    entries = await _entries(hub)
    tail = [(e.kind, e.status) for e in entries[-5:]]
    assert tail == [
        ("review", "held"),
        ("review", "held"),
        ("review", "approved"),
        ("disclosure", None),
        ("review", "rejected"),
    ]
    assert entries[-2].envelope_id == envelope.header.id
    assert entries[-2].actor == entries[-3].actor == "coordinator:nick"
    assert entries[-3].requested_by == entries[-1].actor == "coordinator:nora"


async def test_extracts_are_refused_outside_the_coordinators_area(  # type: ignore[no-untyped-def]
    hub, http, make_agency
) -> None:
    _, ref, _ = await _north(hub, http, make_agency)
    sam = await hub.add_user("sam", "coordinator")
    dpo = await hub.add_user("dee", "dpo")
    body = {"agency_id": "police-north"}
    status, doc = await staff_call(hub, http, "POST", f"/api/v1/cases/{ref}/extracts", sam, body)
    assert_problem(status, doc, 403, "forbidden")
    status, doc = await staff_call(hub, http, "POST", f"/api/v1/cases/{ref}/extracts", dpo, body)
    assert_problem(status, doc, 403, "forbidden")
    for bad in ([], {"agency_id": 5}, {"agency_id": "x", "widen": "victim.name"}, {"other": 1}):
        status, doc = await staff_call(hub, http, "POST", f"/api/v1/cases/{ref}/extracts", body=bad)
        assert status == 400, (bad, doc)
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases/M-2026-9999/extracts", body=body
    )
    assert status == 404, doc
