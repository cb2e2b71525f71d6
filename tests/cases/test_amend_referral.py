"""Amending a referral, through the API, the web UI and the CLI: who may, every version
kept, the amendment logged with field names only, the amended extract re-sent (sealed,
logged) only to agencies that had the case on a published agenda and whose agenda rule
covers a changed field; hostile input refused with nothing written."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from agencykit import HubThread, Kit
from casekit import referral

TODAY = date.today()
_made = iter(range(1, 10_000))


def _doc(**changes: Any) -> dict[str, Any]:
    """A referral of a new pair (so none is a repeat), the perpetrator may know."""
    n = next(_made)
    doc = referral(referred_on=(TODAY - timedelta(days=5)).isoformat())
    doc["victim"]["name"], doc["perpetrator"]["name"] = f"Alice Number{n}", f"Bob Number{n}"
    doc["perpetrator_must_not_know"] = False
    doc.update(changes)
    return doc


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """Areas north and south, their staff; police-north and idva-north serve north
    (both police by kind in the kit), police-south serves south."""
    hub = HubThread(tmp_path_factory.mktemp("amend"))
    try:
        made = Kit(hub)
        made.seed()
        made.agency("police-north", ("north",))
        made.agency("idva-north", ("north",))
        made.agency("police-south", ("south",))
        yield made
    finally:
        hub.stop()


def _refer(kit: Kit, **changes: Any) -> str:
    status, doc = kit.api(
        "POST", "/api/v1/cases", "nora", {"area": "north", "referral": _doc(**changes)}
    )
    assert status == 201, doc
    return str(doc["case_ref"])


def _published(kit: Kit, ref: str) -> str:
    when = (TODAY + timedelta(days=20)).isoformat()
    status, meeting = kit.api("POST", "/api/v1/meetings", "nora", {"area": "north", "date": when})
    assert status == 201, meeting
    mid = meeting["id"]
    assert kit.api("POST", f"/api/v1/meetings/{mid}/cases", "nora", {"case_ref": ref})[0] == 201
    status, doc = kit.api("POST", f"/api/v1/meetings/{mid}/publish", "nora", {})
    assert status == 200, doc
    return str(mid)


def _amend(kit: Kit, ref: str, changes: Any, who: str = "nora") -> tuple[int, Any]:
    status, doc = kit.api("POST", f"/api/v1/cases/{ref}/amendments", who, {"changes": changes})
    return status, doc


def _type(doc: Any) -> str:
    return str(doc.get("type", "")).rsplit("/", 1)[-1] if isinstance(doc, dict) else ""


def test_an_amendment_keeps_every_version_and_logs_field_names_only(kit: Kit) -> None:
    ref = _refer(kit)
    before = kit.log_size()
    status, doc = _amend(kit, ref, {"victim": {"address": "2 New Street, Northtown"}})
    assert status == 201, doc
    assert doc["version"] == 2 and doc["fields"] == ["victim.address"] and doc["resent"] == []
    status, doc = _amend(
        kit, ref, {"safe_contact": {"phone": "07700 900999"}, "police_callouts_12m": 4}
    )
    assert status == 201 and doc["version"] == 3, doc
    assert doc["fields"] == ["referral.police_callouts_12m", "safe_contact.phone"]

    status, case = kit.api("GET", f"/api/v1/cases/{ref}", "nora")
    assert case["view"]["victim"]["address"] == "2 New Street, Northtown"
    assert case["view"]["safe_contact"]["phone"] == "07700 900999"
    status, history = kit.api("GET", f"/api/v1/cases/{ref}/amendments", "dana")  # a DPO reads
    assert status == 200, history
    assert [(a["version"], a["amended_by"], a["door"]) for a in history["amendments"]] == [
        (2, "coordinator:nora", "api"),
        (3, "coordinator:nora", "api"),
    ]
    logged = [e for e in kit.entries(before) if e["kind"] == "amendment"]
    assert [(e["fields"], e["status"], e["case_refs"]) for e in logged] == [
        (["victim.address"], "version 2", [ref]),
        (["referral.police_callouts_12m", "safe_contact.phone"], "version 3", [ref]),
    ]
    text = json.dumps(kit.entries(before))
    assert "New Street" not in text and "900999" not in text  # no values in the log


def test_the_amended_extract_goes_only_where_the_agenda_rule_covers_a_changed_field(
    kit: Kit,
) -> None:
    ref = _refer(kit)
    _published(kit, ref)
    # The agenda rule sends names and dates of birth: an address change is re-sent to no one.
    before = kit.log_size()
    status, doc = _amend(kit, ref, {"victim": {"address": "3 Other Road"}})
    assert status == 201 and doc["resent"] == [], doc
    assert [e["kind"] for e in kit.entries(before)] == ["amendment"]
    # A name change is: to each agency sent the agenda, sealed, logged with its basis.
    before = kit.log_size()
    status, doc = _amend(kit, ref, {"victim": {"name": "Alice Smythe"}})
    assert status == 201, doc
    assert {(o["agency"], o["outcome"]) for o in doc["resent"]} == {
        ("police-north", "disclosed"),
        ("idva-north", "disclosed"),
    }
    sent = [e for e in kit.entries(before) if e["kind"] == "disclosure"]
    assert {e["recipient"] for e in sent} == {"police-north", "idva-north"}
    for entry in sent:
        assert entry["purpose"] == "agenda" and entry["message_type"] == "case_extract"
        assert entry["basis"]["id"] == "offence-data" and entry["case_refs"] == [ref]
        assert "victim.name" in entry["fields"] and "victim.address" not in entry["fields"]


def test_a_repeat_amendment_of_nothing_and_hostile_amendments_are_refused(kit: Kit) -> None:
    ref = _refer(kit)
    before = kit.log_size()
    cases: list[tuple[Any, str]] = [
        ({"victim": {"gender": "female"}}, "invalid-referral"),  # the same: no change
        ({"unknown": 1}, "invalid-referral"),
        ({"victim": {"nickname": "x"}}, "invalid-referral"),
        ({"victim": {"name": "x" * 100_000}}, "invalid-referral"),
        ({"children": [{"name": f"Child {n}"} for n in range(16)]}, "invalid-referral"),
        ({"referring_agency": "police-south"}, "invalid-referral"),  # not of this area
        ({"referring_agency": "nobody"}, "invalid-referral"),
        ({"referred_on": (TODAY + timedelta(days=3)).isoformat()}, "invalid-referral"),
        ({"criterion": "repeat"}, "invalid-referral"),
        ([], "invalid-referral"),
        ({}, "invalid-referral"),
    ]
    for changes, code in cases:
        status, doc = _amend(kit, ref, changes)
        assert status == 400 and _type(doc) == code, (changes, doc)
        assert "x" * 50 not in json.dumps(doc)  # the problem names fields, not values
    status, doc = kit.api("POST", f"/api/v1/cases/{ref}/amendments", "nora", {"victim": {}})
    assert status == 400, doc  # the body is {"changes": ...}, nothing else
    assert kit.log_size() == before
    status, history = kit.api("GET", f"/api/v1/cases/{ref}/amendments", "nora")
    assert history["amendments"] == []


def test_fifteen_children_may_be_amended_in_and_one_taken_off(kit: Kit) -> None:
    ref = _refer(kit)
    kids = [{"name": f"Child Number{n}", "date_of_birth": "2018-01-01"} for n in range(15)]
    status, doc = _amend(kit, ref, {"children": kids})
    assert status == 201 and "children.name" in doc["fields"], doc
    status, case = kit.api("GET", f"/api/v1/cases/{ref}", "nora")
    assert len(case["view"]["children"]) == 15
    first = case["view"]["children"][0]["subject_id"]
    status, doc = _amend(kit, ref, {"children": kids[:14]})
    assert status == 201, doc
    status, case = kit.api("GET", f"/api/v1/cases/{ref}", "nora")
    assert len(case["view"]["children"]) == 14
    assert case["view"]["children"][0]["subject_id"] == first  # a child keeps its id


def test_who_may_amend_through_the_api(kit: Kit) -> None:
    ref = _refer(kit)
    before = kit.log_size()
    change = {"victim": {"gender": "female"}}
    for who, status_code, code in (
        ("sam", 403, "forbidden"),  # a coordinator of another area
        ("dana", 403, "forbidden"),  # a DPO never writes
        (None, 401, "unauthorized"),
    ):
        status, doc = _amend(kit, ref, change, who=who)  # type: ignore[arg-type]
        assert (status, _type(doc)) == (status_code, code), (who, doc)
    assert kit.log_size() == before
    for who in ("bo", "ada"):  # a coordinator of both areas, an admin
        status, doc = _amend(kit, ref, {"victim": {"gender": f"g-{who}"}}, who=who)
        assert status == 201, (who, doc)
    status, doc = _amend(kit, "M-2026-9999", change)
    assert status == 404, doc


def test_a_new_referral_names_an_agency_enrolled_in_its_area(kit: Kit) -> None:
    for agency, code in (("police-south", "invalid-referral"), ("nobody", "invalid-referral")):
        status, doc = kit.api(
            "POST",
            "/api/v1/cases",
            "nora",
            {"area": "north", "referral": _doc(referring_agency=agency)},
        )
        assert (status, _type(doc)) == (400, code), doc
        assert re.search("referring_agency", doc["detail"]), doc
