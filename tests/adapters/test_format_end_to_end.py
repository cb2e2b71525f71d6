"""End to end with the real agency client: a health trust set to ``fhir-r4`` receives its
case extract as a FHIR R4 Bundle, a police force set to ``pole`` a POLE document, and a
``json`` agency the typed message as before; the log records each format."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from fhir.resources.R4B.bundle import Bundle

from agency_client.cli import main
from agency_client.datadir import DataDir
from hub.adapters.formats.pole import schema
from hub.delivery.settings import DeliverySettings, set_delivery
from hub.protocol.canonical import b64decode
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub, running_hub

PASS = "a long agency passphrase"
VICTIM = "Philippa Quennell-Ashdown"
PERPETRATOR = "Desmond Harrow-Vance"
ANSWERS = ["yes"] * 15 + ["no"] * 9


def _referral() -> dict[str, Any]:
    return {
        "referring_agency": "police-north",
        "referred_on": (date.today() - timedelta(days=5)).isoformat(),
        "victim": {"name": VICTIM, "date_of_birth": "1990-04-02", "address": "1 Quiet Road"},
        "perpetrator": {
            "name": PERPETRATOR,
            "date_of_birth": "1988-01-20",
            "address": "99 Elsewhere Street",
        },
        "children": [{"name": "Tobias Quennell", "date_of_birth": "2019-06-01"}],
        "risk": {"tool": "DASH", "answers": ANSWERS},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900123"},
        "perpetrator_must_not_know": False,
    }


async def _client(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return status, out, err


async def _call(
    hub: RunningHub, http: aiohttp.ClientSession, method: str, path: str, token: str, body: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status < 300, doc
        return doc


@pytest.fixture
async def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[RunningHub, aiohttp.ClientSession, str]]:
    """A hub, three enrolled and approved agencies with their formats, and a case."""
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    async with running_hub(tmp_path / "hub") as hub, aiohttp.ClientSession() as http:
        admin = hub.admin_token
        await _call(hub, http, "POST", "/api/v1/areas", admin, {"id": "north", "name": "N"})
        agencies = {"health-north": "health", "police-north": "police", "idva-north": "idva"}
        for agency_id, kind in agencies.items():
            invited = await _call(
                hub,
                http,
                "POST",
                "/api/v1/agencies",
                admin,
                {
                    "id": agency_id,
                    "name": agency_id,
                    "kind": kind,
                    "isp_version": "2026.1",
                    "isp_signed_by": "DMO",
                    "isp_signed_on": "2026-11-01",
                },
            )
            data = tmp_path / agency_id
            identity, _ = DataDir(data).keys.create(PASS, strength="interactive")
            status, _, err = await _client(
                capsys,
                "enrol",
                "--hub",
                hub.url,
                "--code",
                invited["enrolment_code"],
                "--dir",
                str(data),
            )
            assert status == 0, err
            await _call(
                hub,
                http,
                "POST",
                f"/api/v1/agencies/{agency_id}/approve",
                admin,
                {"identity_fingerprint": identity.fingerprint},
            )
            await _call(
                hub, http, "POST", "/api/v1/areas/north/agencies", admin, {"agency": agency_id}
            )
        async with hub.app[ENGINE].begin() as conn:
            now = datetime.now(UTC)
            for agency_id, fmt in (("health-north", "fhir-r4"), ("police-north", "pole")):
                await set_delivery(conn, agency_id, DeliverySettings(format=fmt), now=now, by="t")
        case = await _call(
            hub, http, "POST", "/api/v1/cases", admin, {"area": "north", "referral": _referral()}
        )
        yield hub, http, case["case_ref"]


async def _receive(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    agency_id: str,
    case_ref: str,
) -> tuple[str, Any, str, str]:
    """Send the agency an extract; run its client once into a folder sink; show it."""
    sent = await _call(
        hub,
        http,
        "POST",
        f"/api/v1/cases/{case_ref}/extracts",
        hub.admin_token,
        {"agency_id": agency_id, "summary": "Discussed at the December MARAC."},
    )
    envelope_id = sent["envelope_id"]
    data, out = str(tmp_path / agency_id), tmp_path / f"{agency_id}-sink"
    status, _, err = await _client(
        capsys, "run", "--dir", data, "--once", "--sink", f"folder:{out}"
    )
    assert status == 0, err
    handed = json.loads((out / f"{envelope_id}.json").read_text())
    status, shown, header = await _client(capsys, "show", envelope_id, "--dir", data)
    assert status == 0, header
    document = handed if handed.get("type") != "case_extract" else handed["payload"]
    assert json.loads(shown) == document  # show prints what the sink was handed
    return envelope_id, handed, header, shown


async def _logged_format(hub: RunningHub, http: aiohttp.ClientSession, envelope_id: str) -> str:
    dpo = await hub.add_user(f"dpo-{envelope_id.lower()}", "dpo")
    proof = await _call(
        hub, http, "GET", f"/api/v1/log/inclusion?envelope_id={envelope_id}", dpo, None
    )
    entry = json.loads(b64decode(proof["entry"]))
    assert entry["message_type"] == "case_extract"
    return str(entry["format"])


async def test_formats_end_to_end(
    world: tuple[RunningHub, aiohttp.ClientSession, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub, http, ref = world

    # health: a FHIR R4 Bundle, as the policy allows health to see
    envelope_id, bundle, header, shown = await _receive(
        hub, http, capsys, tmp_path, "health-north", ref
    )
    assert "case_extract (fhir-r4)" in header
    Bundle.model_validate(bundle)
    kinds = sorted({e["resource"]["resourceType"] for e in bundle["entry"]})
    assert kinds == ["Communication", "Flag", "Patient", "RelatedPerson"]
    names = [
        n["text"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
        for n in e["resource"].get("name", [])
    ]
    assert VICTIM in names and "Tobias Quennell" in names
    assert "99 Elsewhere Street" not in shown  # perpetrator.address: not for health
    assert "referral" not in shown and '"q1"' not in shown  # nor the referral, the answers
    assert await _logged_format(hub, http, envelope_id) == "fhir-r4"

    # police: a POLE document that validates against the published schema
    envelope_id, pole, header, shown = await _receive(
        hub, http, capsys, tmp_path, "police-north", ref
    )
    assert "case_extract (pole)" in header
    jsonschema.Draft202012Validator(schema()).validate(pole)
    assert {p["name"] for p in pole["persons"]} >= {VICTIM, PERPETRATOR}
    assert any(loc["address"] == "99 Elsewhere Street" for loc in pole["locations"])
    assert await _logged_format(hub, http, envelope_id) == "pole"

    # idva (json, the default): the typed message as before, in the sink's usual wrapper
    envelope_id, wrapped, header, _ = await _receive(hub, http, capsys, tmp_path, "idva-north", ref)
    assert wrapped["type"] == "case_extract" and wrapped["payload"]["victim"]["name"] == VICTIM
    assert await _logged_format(hub, http, envelope_id) == "json"
