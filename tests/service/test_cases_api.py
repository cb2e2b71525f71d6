"""Areas and cases over HTTP: a coordinator works only in their own areas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import assert_problem, invite, staff_call

REFERRAL: dict[str, Any] = {
    "referring_agency": "police-north",
    "referred_on": (datetime.now(UTC) - timedelta(days=3)).date().isoformat(),
    "victim": {"name": "Alice Smith", "date_of_birth": "1990-04-02", "gender": "female"},
    "perpetrator": {"name": "Bob Smith", "date_of_birth": "1988-01-20"},
    "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
    "criterion": "visible_high_risk",
    "consent": {"status": "sought_given"},
    "safe_contact": {"safe_to_contact": False},
    "perpetrator_must_not_know": False,
}


async def _setup(hub: Any, http: Any) -> dict[str, str]:
    await invite(hub, http, "police-north")
    for area in ("north", "south"):
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/areas", body={"id": area, "name": f"{area} MARAC"}
        )
        assert status == 201 and doc["target_days"] == 42, doc
    tokens = {"dpo": await hub.add_user("dee", "dpo")}
    for name, area in (("nora", "north"), ("sam", "south")):
        tokens[name] = await hub.add_user(name, "coordinator")
        status, doc = await staff_call(
            hub, http, "POST", f"/api/v1/areas/{area}/users", body={"user": name}
        )
        assert status == 201, doc
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/areas/north/agencies", body={"agency": "police-north"}
    )
    assert status == 201, doc
    return tokens


async def test_coordinators_work_only_in_their_areas(hub, http) -> None:  # type: ignore[no-untyped-def]
    tokens = await _setup(hub, http)
    nora, sam = tokens["nora"], tokens["sam"]
    status, doc = await staff_call(hub, http, "GET", "/api/v1/areas", nora)
    assert [a["id"] for a in doc["areas"]] == ["north"]
    status, doc = await staff_call(hub, http, "GET", "/api/v1/areas", tokens["dpo"])
    assert [a["id"] for a in doc["areas"]] == ["north", "south"]

    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", nora, {"area": "north", "referral": REFERRAL}
    )
    assert status == 201, doc
    ref = doc["case_ref"]
    assert (doc["is_repeat"], doc["yes_count"], doc["level"]) == (False, 14, "high")

    status, doc = await staff_call(hub, http, "GET", f"/api/v1/cases/{ref}", nora)
    assert status == 200 and doc["view"]["victim"]["name"] == "Alice Smith"
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=north", nora)
    assert [c["ref"] for c in doc["cases"]] == [ref] and "Alice" not in str(doc)

    # Sam works in the south: he can neither see nor refer into the north.
    status, doc = await staff_call(hub, http, "GET", f"/api/v1/cases/{ref}", sam)
    assert_problem(status, doc, 403, "forbidden")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=north", sam)
    assert_problem(status, doc, 403, "forbidden")
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", sam, {"area": "north", "referral": REFERRAL}
    )
    assert_problem(status, doc, 403, "forbidden")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=south", sam)
    assert status == 200 and doc["cases"] == []

    # A DPO may list (nothing personal) but neither refer nor read a case.
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=north", tokens["dpo"])
    assert status == 200 and len(doc["cases"]) == 1
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", tokens["dpo"], {"area": "north", "referral": REFERRAL}
    )
    assert_problem(status, doc, 403, "forbidden")
    # The admin may refer into any area (here, a repeat recognised across areas), from an
    # agency enrolled in that area.
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", body={"area": "south", "referral": REFERRAL}
    )
    assert_problem(status, doc, 400, "invalid-referral")
    assert "referring_agency" in doc["detail"] and "Alice" not in str(doc)
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/areas/south/agencies", body={"agency": "police-north"}
    )
    assert status == 201, doc
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", body={"area": "south", "referral": REFERRAL}
    )
    assert status == 201 and doc["previous_ref"] == ref, doc


async def test_bad_requests_are_problems(hub, http) -> None:  # type: ignore[no-untyped-def]
    tokens = await _setup(hub, http)
    nora = tokens["nora"]
    bad = {**REFERRAL, "risk": {"tool": "DASH", "answers": ["yes"] * 23}}
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", nora, {"area": "north", "referral": bad}
    )
    assert_problem(status, doc, 400, "invalid-referral")
    assert "risk.answers" in doc["detail"]
    for body in (
        {"area": "north"},
        [],
        {"area": 3, "referral": {}},
        {"area": "x", "referral": 1, "y": 2},
    ):
        status, doc = await staff_call(hub, http, "POST", "/api/v1/cases", nora, body)
        assert status == 400, doc
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/cases", body={"area": "west", "referral": REFERRAL}
    )
    assert_problem(status, doc, 404, "not-found")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases", nora)
    assert_problem(status, doc, 400, "malformed")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=north&status=x", nora)
    assert_problem(status, doc, 400, "malformed")
    for ref in ("M-2026-9999", "nonsense", "M-2026-0001%27--"):
        status, doc = await staff_call(hub, http, "GET", f"/api/v1/cases/{ref}", nora)
        assert status in (400, 404), doc
    for body in (
        {"id": "North!", "name": "x"},
        {"id": "north", "name": "again"},
        {"id": "west", "name": "x", "target_days": 0},
        {"id": "west", "name": "x", "retention_years": "6"},
        {"id": "west", "name": "x" * 201},
        {"id": "west"},
    ):
        status, doc = await staff_call(hub, http, "POST", "/api/v1/areas", body=body)
        assert status in (400, 409), (body, doc)
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/areas/north/users", body={"user": "dee"}
    )
    assert_problem(status, doc, 400, "malformed")
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/areas/north/agencies", body={"agency": "nobody"}
    )
    assert_problem(status, doc, 404, "not-found")
