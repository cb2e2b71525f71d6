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
from html.parser import HTMLParser
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


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    for name in ("DATABASE_URL", "POLICY_FILE", "CONFIG_FILE"):
        monkeypatch.delenv(f"MARAC_HUB_{name}", raising=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """Areas north and south, their staff; police-north and idva-north serve north
    (both police by kind in the kit), police-south serves south."""
    hub = HubThread(tmp_path_factory.mktemp("amend"), mfa_required_roles=())
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


# -- the web UI: the amendment form is the referral form, prefilled ---------------------


class _Form(HTMLParser):
    """The fields a browser would send from the form posting to ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("radio", "checkbox"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("name") and "checked" in a:
            self.values[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str, action: str) -> dict[str, str]:
    """What the form posting to ``action`` would send as the page stands."""
    parser = _Form(action)
    parser.feed(html)
    return parser.values


def test_the_web_amend_form_is_prefilled_and_amends(kit: Kit) -> None:
    ref = _refer(kit)
    child = {"name": "Carl Smith", "date_of_birth": "2019-06-01", "gender": "male"}
    assert _amend(kit, ref, {"children": [{**child, "address": "7 Other Place"}]})[0] == 201
    web = kit.web("nora")
    try:
        status, page, _ = web.get(f"/cases/{ref}")
        assert status == 200 and f'href="/cases/{ref}/amend"' in page
        status, page, _ = web.get(f"/cases/{ref}/amend")
        assert status == 200, page
        values = form_values(page, f"/cases/{ref}/amend")
        assert values["victim.address"] == "1 High Street, Northtown"
        assert values["referring_agency"] == "police-north" and values["q1"] == "yes"
        before = kit.log_size()
        values["victim.address"] = "4 Web Lane"
        status, page, resp = web.post(f"/cases/{ref}/amend", values)
        assert status == 303 and resp.headers["Location"] == f"/cases/{ref}?done=amended", page
        logged = [e for e in kit.entries(before) if e["kind"] == "amendment"]
        assert [(e["fields"], e["door"]) for e in logged] == [(["victim.address"], "web")]
        status, page, _ = web.get(f"/cases/{ref}?done=amended")
        assert "Referral amended." in page and "<code>victim.address</code>" in page
        assert "4 Web Lane" in page
        _, case = kit.api("GET", f"/api/v1/cases/{ref}", "nora")
        assert case["view"]["children"][0]["address"] == "7 Other Place"  # kept by the form

        # Sixteen children: refused with the reason, nothing changed.
        many = {f"child{n}.name": f"Kid Number{n}" for n in range(16)}
        before = kit.log_size()
        status, page, _ = web.post(f"/cases/{ref}/amend", {**values, **many})
        assert status == 400 and "children" in page and "The referral was not amended" in page
        assert kit.log_size() == before
        # "Add another child" shows one more row and amends nothing.
        status, page, _ = web.post(f"/cases/{ref}/amend", {**values, "add_child": "1"})
        assert status == 200 and 'name="child3.name"' in page and 'name="child4.name"' not in page
        assert kit.log_size() == before
    finally:
        web.close()


def test_who_may_amend_through_the_web(kit: Kit) -> None:
    ref = _refer(kit)
    nora = kit.web("nora")
    _, page, _ = nora.get(f"/cases/{ref}/amend")
    values = {**form_values(page, f"/cases/{ref}/amend"), "victim.gender": "f"}
    nora.close()
    before = kit.log_size()
    for who in ("sam", "dana"):
        web = kit.web(who)
        try:
            assert web.get(f"/cases/{ref}/amend")[0] == 403, who
            status, _, _ = web.post(f"/cases/{ref}/amend", {**values, "csrf": web.csrf})
            assert status == 403, who
        finally:
            web.close()
    assert kit.log_size() == before


def test_the_web_referral_form_offers_the_areas_agencies_and_up_to_fifteen_children(
    kit: Kit,
) -> None:
    web = kit.web("nora")
    try:
        status, page, _ = web.get("/referrals/new")
        assert status == 200
        assert '<select id="referring_agency" name="referring_agency"' in page
        assert 'value="police-north"' in page and 'value="police-south"' not in page
        assert 'name="child2.name"' in page and 'name="child3.name"' not in page
        values = {**form_values(page, "/referrals/new"), "add_child": "1"}
        for rows in range(4, 16):  # one more row a press, without JavaScript
            status, page, _ = web.post("/referrals/new", values)
            assert status == 200 and f'name="child{rows - 1}.name"' in page
            values = {**form_values(page, "/referrals/new"), "add_child": "1"}
        assert 'name="child15.name"' not in page and "Add another child" not in page
        doc = _doc()
        filled = {
            **form_values(page, "/referrals/new"),
            "area": "north",
            "referring_agency": "police-south",  # typed in: not an agency of north
            "referred_on": doc["referred_on"],
            "victim.name": doc["victim"]["name"],
            "perpetrator.name": doc["perpetrator"]["name"],
            "criterion": "professional_judgement",
            "rationale": "judgement",
            "consent.status": "sought_given",
        }
        before = kit.log_size()
        status, page, _ = web.post("/referrals/new", filled)
        assert status == 400 and "referring_agency" in page
        kids = {f"child{n}.name": f"Kid Number{n}" for n in range(16)}
        status, page, _ = web.post(
            "/referrals/new", {**filled, "referring_agency": "police-north", **kids}
        )
        assert status == 400 and "children" in page
        kids.pop("child15.name")
        status, page, resp = web.post(
            "/referrals/new", {**filled, "referring_agency": "police-north", **kids}
        )
        assert status == 303, page
        ref = resp.headers["Location"].split("/")[2].split("?")[0]
        assert kit.log_size() == before  # a referral is no disclosure
        _, case = kit.api("GET", f"/api/v1/cases/{ref}", "nora")
        assert len(case["view"]["children"]) == 15
    finally:
        web.close()


# -- the CLI ----------------------------------------------------------------------------


def test_the_cli_amends_by_field_or_file_and_refuses_what_it_must(
    kit: Kit, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = _refer(kit)
    before = kit.log_size()
    status, out, err = kit.cli(
        capsys,
        *("case", "amend", ref, "--set", "victim.address=5 Cli Close"),
        *("--set", "police_callouts_12m=7", "--set", "safe_contact.safe_to_contact=false"),
        by="nora",
    )
    assert status == 0, err
    assert out.splitlines()[0] == (
        f"{ref} amended (version 2): referral.police_callouts_12m, safe_contact.safe_to_contact, "
        "victim.address"
    )
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"victim": {"gender": "f"}, "rationale": None}))
    status, out, err = kit.cli(capsys, "case", "amend", ref, "--file", str(patch), by="bo")
    assert status == 0 and "version 3" in out, err
    status, out, err = kit.cli(capsys, "case", "amendments", ref, by="dana")
    assert status == 0 and "version 2" in out and "by coordinator:nora (cli)" in out, err
    assert "Cli Close" not in out
    logged = [e for e in kit.entries(before) if e["kind"] == "amendment"]
    assert [e["door"] for e in logged] == ["cli", "cli"]

    before = kit.log_size()
    kids = json.dumps([{"name": f"Kid Number{n}"} for n in range(16)])
    for argv, who, word in (
        (["--set", f"children={kids}"], "nora", "children"),
        (["--set", "victim.nickname=x"], "nora", "invalid-referral"),
        (["--set", "no equals sign"], "nora", "FIELD=VALUE"),
        (["--set", "referring_agency=police-south"], "nora", "referring_agency"),
        ([], "nora", "say what to change"),
        (["--set", "victim.gender=m"], "sam", "forbidden"),
        (["--set", "victim.gender=m"], "dana", "forbidden"),
    ):
        status, out, err = kit.cli(capsys, "case", "amend", ref, *argv, by=who)
        assert status == 1 and word in err, (argv, who, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"rationale": "x" * (1024 * 1024)}))
    status, _, err = kit.cli(capsys, "case", "amend", ref, "--file", str(big), by="nora")
    assert status == 1 and "larger than 1 MiB" in err, err
    assert kit.log_size() == before
