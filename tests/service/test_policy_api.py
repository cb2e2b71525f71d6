"""Lawful bases, the ISP and the policy over the HTTP API, and decide on the hub's database."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_problem, staff_call

from hub.agencies import get_agency
from hub.policy.decide import decide
from hub.protocol.errors import PolicyError
from hub.service.appkeys import ENGINE, POLICY
from hub.testing import RunningHub, running_hub

BASIS: dict[str, Any] = {
    "id": "local-protocol",
    "title": "Borough information sharing agreement",
    "art6": "6(1)(e)",
    "art9": "9(2)(g) substantial public interest",
    "dpa_schedule1": "DPA 2018 Sch. 1 para 18",
    "purposes": ["agenda", "minutes"],
    "data_categories": ["identity", "special_category"],
}


async def _decide(hub: RunningHub, agency_id: str, purpose: str = "agenda") -> Any:
    async with hub.app[ENGINE].connect() as conn:
        agency = await get_agency(conn, agency_id)
        assert agency is not None
        return await decide(
            conn, hub.app[POLICY], purpose=purpose, agency=agency, now=datetime.now(UTC)
        )


async def test_bases_are_listed_added_versioned_and_retired_by_role(hub, http) -> None:  # type: ignore[no-untyped-def]
    dpo = await hub.add_user("dpo", "dpo")
    coordinator = await hub.add_user("coord", "coordinator")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/bases", dpo)
    assert status == 200
    assert {b["id"] for b in doc["bases"]} >= {
        "public-task",
        "safeguarding",
        "cda-1998-s115",
        "children-act-2004-s11",
        "care-act-2014",
        "offence-data",
    }
    for token in (dpo, coordinator):  # lawful bases are hub-wide: admins only
        assert_problem(
            *await staff_call(hub, http, "POST", "/api/v1/bases", token, BASIS), 403, "forbidden"
        )
    status, doc = await staff_call(hub, http, "POST", "/api/v1/bases", body=BASIS)
    assert (status, doc["version"], doc["created_by"]) == (201, 1, "admin:admin"), doc
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/bases", body={**BASIS, "title": "Amended agreement"}
    )
    assert (status, doc["version"]) == (201, 2)
    status, doc = await staff_call(hub, http, "GET", "/api/v1/bases?id=local-protocol", dpo)
    assert [b["version"] for b in doc["bases"]] == [2, 1]
    path = "/api/v1/bases/local-protocol/retire"
    for token in (dpo, coordinator):
        assert_problem(*await staff_call(hub, http, "POST", path, token), 403, "forbidden")
    status, doc = await staff_call(hub, http, "POST", path)
    assert (status, doc["retired_versions"]) == (200, 2)
    assert_problem(*await staff_call(hub, http, "POST", path), 409, "conflict")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/bases", dpo)
    assert "local-protocol" not in {b["id"] for b in doc["bases"]}
    status, doc = await staff_call(hub, http, "GET", "/api/v1/bases?all=1", dpo)
    retired = next(b for b in doc["bases"] if b["id"] == "local-protocol")
    assert retired["retired_by"] == "admin:admin"
    assert_problem(
        *await staff_call(hub, http, "POST", "/api/v1/bases/nothing/retire"), 404, "not-found"
    )
    assert_problem(
        *await staff_call(hub, http, "GET", "/api/v1/bases?id=nothing"), 404, "not-found"
    )


BAD_BASES: list[Any] = [
    {**BASIS, "art9": None},  # special category data without an Art. 9 condition
    {**BASIS, "data_categories": ["offence"]},  # offence data without an Art. 10 condition
    {**BASIS, "art6": "6(1)(z)"},
    {**BASIS, "id": "../../etc/passwd"},
    {**BASIS, "purposes": ["gossip"]},
    {**BASIS, "purposes": []},
    {**BASIS, "title": "x" * 5000},
    {**BASIS, "colour": "red"},
    {k: v for k, v in BASIS.items() if k != "title"},
    [BASIS],
    "basis",
]


async def test_a_bad_basis_is_refused_with_a_clear_error(hub, http) -> None:  # type: ignore[no-untyped-def]
    for body in BAD_BASES:
        status, doc = await staff_call(hub, http, "POST", "/api/v1/bases", body=body)
        assert_problem(status, doc, 400, "malformed")
        assert "x" * 50 not in doc["detail"]


async def test_malformed_and_oversized_bodies(hub, http) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {hub.admin_token}", "Content-Type": "application/json"}
    for path in ("/api/v1/bases", "/api/v1/isp", "/api/v1/agencies/x/isp"):
        async with http.post(hub.url + path, data=b"{not json", headers=headers) as resp:
            assert_problem(resp.status, await resp.json(content_type=None), 400, "malformed-json")
        big = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        async with http.post(hub.url + path, data=io.BytesIO(big), headers=headers) as resp:
            assert_problem(
                resp.status, await resp.json(content_type=None), 413, "payload-too-large"
            )
        async with http.post(
            hub.url + path, data=b"{}", headers={**headers, "Content-Type": "text/plain"}
        ) as resp:
            assert resp.status == 415


async def test_isp_publish_sign_and_status_drive_the_decision(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    await make_agency("housing-east", "housing")
    dpo = await hub.add_user("dpo", "dpo")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/isp", dpo)
    assert status == 200 and doc["current"]["version"] == "2026.1"
    assert doc["agencies"][0]["current"] is True
    assert (await _decide(hub, "housing-east", "action_notice")).outcome == "permit"
    new = {"version": "2027.1", "title": "ISP 2027", "document_sha256": "ab" * 32}
    assert_problem(*await staff_call(hub, http, "POST", "/api/v1/isp", dpo, new), 403, "forbidden")
    status, doc = await staff_call(hub, http, "POST", "/api/v1/isp", body=new)
    assert status == 201 and doc["document_sha256"] == "ab" * 32
    assert_problem(*await staff_call(hub, http, "POST", "/api/v1/isp", body=new), 409, "conflict")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/isp", dpo)
    assert doc["current"]["version"] == "2027.1"
    assert [v["version"] for v in doc["versions"]] == ["2027.1", "2026.1"]
    assert doc["agencies"][0]["current"] is False
    refused = await _decide(hub, "housing-east", "action_notice")
    assert (refused.outcome, refused.code) == ("deny", "isp-not-signed")
    path = "/api/v1/agencies/housing-east/isp"
    sign = {"version": "2027.1", "signed_by": "Designated MARAC Officer", "signed_on": "2026-01-05"}
    assert_problem(*await staff_call(hub, http, "POST", path, dpo, sign), 403, "forbidden")
    status, doc = await staff_call(hub, http, "POST", path, body=sign)
    assert status == 201, doc
    assert (await _decide(hub, "housing-east", "action_notice")).outcome == "permit"
    status, doc = await staff_call(hub, http, "GET", "/api/v1/agencies")
    assert doc["agencies"][0]["isp_version"] == "2027.1"
    assert doc["agencies"][0]["isp_signed_on"] == "2026-01-05"


BAD_ISP: list[tuple[str, Any, int, str]] = [
    ("/api/v1/isp", {"version": "../x", "title": "t"}, 400, "malformed"),
    ("/api/v1/isp", {"version": "2027.1", "title": ""}, 400, "malformed"),
    (
        "/api/v1/isp",
        {"version": "2027.1", "title": "t", "document_sha256": "zz"},
        400,
        "malformed",
    ),
    ("/api/v1/isp", {"version": 2027, "title": "t"}, 400, "wrong-type"),
    ("/api/v1/isp", {"version": "2027.1"}, 400, "missing-field"),
    ("/api/v1/isp", {"version": "2027.1", "title": "t", "x": "y"}, 400, "unknown-field"),
    ("/api/v1/agencies/nobody/isp", {"version": "2026.1", "signed_by": "A"}, 404, "not-found"),
    ("/api/v1/agencies/p1/isp", {"version": "1999.9", "signed_by": "A"}, 404, "not-found"),
    ("/api/v1/agencies/p1/isp", {"version": "2026.1", "signed_by": ""}, 400, "malformed"),
    (
        "/api/v1/agencies/p1/isp",
        {"version": "2026.1", "signed_by": "A", "signed_on": "2999-01-01"},
        400,
        "malformed",
    ),
    (
        "/api/v1/agencies/p1/isp",
        {"version": "2026.1", "signed_by": "A", "signed_on": "yesterday"},
        400,
        "malformed",
    ),
]


async def test_bad_isp_requests(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    await make_agency("p1")
    for path, body, status, code in BAD_ISP:
        assert_problem(*await staff_call(hub, http, "POST", path, body=body), status, code)


async def test_a_suspended_agency_is_denied(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    await make_agency("police-west")
    assert (await _decide(hub, "police-west")).outcome == "permit"
    status, _ = await staff_call(hub, http, "POST", "/api/v1/agencies/police-west/suspend")
    assert status == 200
    refused = await _decide(hub, "police-west")
    assert (refused.outcome, refused.code) == ("deny", "agency-not-active")


async def test_policy_and_explain(hub, http) -> None:  # type: ignore[no-untyped-def]
    dpo = await hub.add_user("dpo", "dpo")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/policy", dpo)
    assert status == 200 and doc["version"] == "2026.1" and len(doc["rules"]) > 10
    query = "/api/v1/policy/explain?purpose=action_notice&kind=housing"
    status, doc = await staff_call(hub, http, "GET", query, dpo)
    assert status == 200 and doc["decision"] == "permit"
    sent = {f["field"] for f in doc["sent"]}
    assert "victim.address" in sent and "safe_contact.phone" in sent
    assert doc["basis"]["id"] == "public-task" and "6(1)(e)" in doc["basis"]["references"]
    status, doc = await staff_call(hub, http, "GET", query + "&restricted=1", dpo)
    assert "victim.address" in {f["field"] for f in doc["not_sent"]}
    for bad in (
        "purpose=gossip&kind=police",
        "purpose=agenda&kind=x",
        "purpose=agenda&kind=police&restricted=2",
        "",
    ):
        status, doc = await staff_call(hub, http, "GET", f"/api/v1/policy/explain?{bad}", dpo)
        assert_problem(status, doc, 400, "malformed")


async def test_explain_says_when_a_retired_basis_leaves_a_rule_without_cover(hub, http) -> None:  # type: ignore[no-untyped-def]
    await staff_call(hub, http, "POST", "/api/v1/bases/public-task/retire")
    status, doc = await staff_call(
        hub, http, "GET", "/api/v1/policy/explain?purpose=minutes&kind=police"
    )
    assert status == 200
    assert doc["decision"] == "deny" and "retired" in doc["reason"]


async def test_the_hub_serves_its_configured_policy_and_refuses_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'version = "area-7"\n[[rule]]\npurpose = "minutes"\nkinds = ["*"]\n'
        'fields = ["victim.name"]\nbasis = "public-task"\ndecision = "review"\n'
    )
    async with running_hub(tmp_path / "a", policy_file=good) as hub:
        assert hub.app[POLICY].version == "area-7"
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("public-task", "gut-feeling"))
    with pytest.raises(PolicyError, match="rule 1 \\(minutes\\): unknown lawful basis"):
        async with running_hub(tmp_path / "b", policy_file=bad):
            pass
