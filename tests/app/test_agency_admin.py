"""Agency administration by area, through the API, the web UI and the CLI.

An acceptance run found that any coordinator could invite, approve, suspend, reinstate and
revoke any agency of any area and change its delivery, and that the API logged these with
the actor ``hub``. Here: who may and who may not (admin, a coordinator of the agency's
area, a coordinator of another area, a DPO) through each door that offers the action; a
refusal changes nothing and appends nothing to the log; the same action logs the same
entry through every door, differing only in the door and the time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from agencykit import ISP, HubThread, Kit, same_entries
from engines import ENGINES, hub_on
from sqlalchemy import select

from hub.agencies.tables import agencies
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.log.entries import parse_entry
from hub.log.store import entry, size
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub

DOORS = ("api", "web", "cli")


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    hub = HubThread(tmp_path_factory.mktemp("agency-admin"))
    try:
        made = Kit(hub)
        made.seed()
        yield made
    finally:
        hub.stop()


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARAC_HUB_POLICY_FILE", raising=False)
    monkeypatch.delenv("MARAC_HUB_CONFIG_FILE", raising=False)


def act(
    kit: Kit,
    capsys: pytest.CaptureFixture[str],
    door: str,
    who: str,
    verb: str,
    agency_id: str,
    fingerprint: str = "",
) -> str:
    """``verb`` (approve, suspend, reinstate, revoke) as ``who`` through ``door``: "ok", or
    the refusal's problem type (through the web, read from the error page)."""
    if door == "api":
        body = {"identity_fingerprint": fingerprint} if verb == "approve" else None
        status, doc = kit.api("POST", f"/api/v1/agencies/{agency_id}/{verb}", who, body)
        return "ok" if status == 200 else str(doc["type"]).rsplit("/", 1)[1]
    if door == "web":
        web = kit.web(who)
        try:
            if verb == "approve":
                status, body, _ = web.post(
                    f"/agencies/{agency_id}/approve", {"fingerprint": fingerprint}
                )
            else:
                status, body, _ = web.post(f"/agencies/{agency_id}/status", {"change": verb})
        finally:
            web.close()
        return "ok" if status == 303 else web_refusal(status, body)
    argv = ["agency", verb, agency_id]
    if verb == "approve":
        argv += ["--fingerprint", fingerprint]
    code, _, err = kit.cli(capsys, *argv, by=who)
    return "ok" if code == 0 else err.split(":")[1].strip()


def web_refusal(status: int, body: str) -> str:
    """The refusal an error page shows, as its problem type (a CSRF failure is not one)."""
    assert "this form was not sent from a page of this hub" not in body
    for text, code in (
        ("serves none of your areas", "agency-outside-area"),
        ("does not serve your areas only", "agency-outside-area"),
        ("you do not coordinate area", "agency-outside-area"),
        ("may not", "forbidden"),
        ("name the area", "missing-field"),
    ):
        if text in body:
            assert status == (400 if code == "missing-field" else 403), (status, code)
            return code
    return str(status)


def unchanged(kit: Kit, agency_id: str, status: str, log_size: int) -> None:
    assert kit.status(agency_id) == status
    assert kit.log_size() == log_size, kit.entries(log_size)


# -- approve, suspend, reinstate, revoke ------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_coordinator_of_south_cannot_approve_suspend_or_reinstate_north_agency(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    active, suspended, pending = (f"{s}-north-{door}" for s in ("act", "susp", "pend"))
    kit.agency(active, ("north",))
    kit.agency(suspended, ("north",), status="suspended")
    kit.agency(pending, ("north",), status="pending")
    fingerprint = kit.identities[pending].fingerprint
    before = kit.log_size()
    for verb, agency_id, status in (
        ("suspend", active, "active"),
        ("reinstate", suspended, "suspended"),
        ("approve", pending, "pending"),
    ):
        answer = act(kit, capsys, door, "sam", verb, agency_id, fingerprint)
        assert answer == "agency-outside-area", (verb, answer)
        unchanged(kit, agency_id, status, before)
        answer = act(kit, capsys, door, "dana", verb, agency_id, fingerprint)
        assert answer == "forbidden", (verb, answer)
        unchanged(kit, agency_id, status, before)


@pytest.mark.parametrize("door", DOORS)
def test_coordinator_of_south_cannot_revoke_north_agency(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    agency_id = f"revoke-north-{door}"
    kit.agency(agency_id, ("north",))
    before = kit.log_size()
    for who in ("sam", "nora", "bo", "dana"):  # irreversible: not even north's coordinator
        assert act(kit, capsys, door, who, "revoke", agency_id) == "forbidden"
        unchanged(kit, agency_id, "active", before)
    assert act(kit, capsys, door, "ada", "revoke", agency_id) == "ok"
    found = kit.entries(before)
    assert [e["kind"] for e in found] == ["key_revoked", "key_revoked", "agency_status"]
    assert {(e["actor"], e["door"], e["agency"]) for e in found} == {("admin:ada", door, agency_id)}
    assert kit.status(agency_id) == "revoked"


@pytest.mark.parametrize("door", DOORS)
def test_coordinator_of_north_approves_suspends_and_reinstates_north_agency(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    agency_id = f"own-north-{door}"
    kit.agency(agency_id, ("north",), status="pending")
    fingerprint = kit.identities[agency_id].fingerprint
    for verb, status in (("approve", "active"), ("suspend", "suspended"), ("reinstate", "active")):
        before = kit.log_size()
        assert act(kit, capsys, door, "nora", verb, agency_id, fingerprint) == "ok", verb
        assert kit.status(agency_id) == status
        (logged,) = kit.entries(before)
        assert logged["kind"] == "agency_status" and logged["status"] == status
        assert (logged["actor"], logged["door"], logged["agency"]) == (
            "coordinator:nora",
            door,
            agency_id,
        )


def test_the_same_suspension_logs_the_same_entry_through_every_door(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.agency("police-doors", ("north",))
    logged: dict[str, list[dict[str, Any]]] = {}
    for door in DOORS:
        before = kit.log_size()
        assert act(kit, capsys, door, "nora", "suspend", "police-doors") == "ok"
        logged[door] = kit.entries(before)
        assert act(kit, capsys, "api", "nora", "reinstate", "police-doors") == "ok"
    assert [e["door"] for door in DOORS for e in logged[door]] == list(DOORS)
    assert same_entries(logged["api"]) == same_entries(logged["web"]) == same_entries(logged["cli"])
    assert logged["api"][0]["actor"] == "coordinator:nora"


def test_api_suspension_is_logged_with_the_user_not_hub(kit: Kit) -> None:
    kit.agency("police-actor", ("north",))
    before = kit.log_size()
    assert kit.api("POST", "/api/v1/agencies/police-actor/suspend", "nora")[0] == 200
    (logged,) = kit.entries(before)
    assert logged["actor"] == "coordinator:nora"  # not "hub", as the API logged it before


@pytest.mark.parametrize("door", ("api", "cli"))
def test_agency_serving_two_areas_is_suspended_by_either_and_reinstated_only_by_both(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    agency_id = f"shared-{door}"
    kit.agency(agency_id, ("north", "south"))
    assert act(kit, capsys, door, "sam", "suspend", agency_id) == "ok"  # protective: either
    before = kit.log_size()
    for who in ("sam", "nora"):  # each is responsible for one of its two areas only
        assert act(kit, capsys, door, who, "reinstate", agency_id) == "agency-outside-area"
        unchanged(kit, agency_id, "suspended", before)
    assert act(kit, capsys, door, "bo", "reinstate", agency_id) == "ok"  # coordinates both
    assert act(kit, capsys, door, "nora", "suspend", agency_id) == "ok"
    assert act(kit, capsys, door, "ada", "reinstate", agency_id) == "ok"
    assert kit.status(agency_id) == "active"


def test_unlinked_agency_is_administered_by_admins_only(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.agency("police-nowhere", ())
    before = kit.log_size()
    for who in ("nora", "sam", "bo"):
        assert act(kit, capsys, "api", who, "suspend", "police-nowhere") == "agency-outside-area"
    unchanged(kit, "police-nowhere", "active", before)
    assert act(kit, capsys, "api", "ada", "suspend", "police-nowhere") == "ok"


# -- invite and list ---------------------------------------------------------------------


def invite(
    kit: Kit,
    capsys: pytest.CaptureFixture[str],
    door: str,
    who: str,
    agency_id: str,
    areas: tuple[str, ...],
) -> str:
    """Invite ``agency_id`` into ``areas`` as ``who`` through ``door``: "ok" or refusal."""
    fields = {"id": agency_id, "name": agency_id, "kind": "housing", **ISP}
    if door == "api":
        status, doc = kit.api("POST", "/api/v1/agencies", who, {**fields, "areas": list(areas)})
        return "ok" if status == 201 else str(doc["type"]).rsplit("/", 1)[1]
    if door == "web":
        web = kit.web(who)
        try:
            form = {**fields, **({"area": areas[0]} if areas else {})}
            status, body, _ = web.post("/agencies", form)
        finally:
            web.close()
        return "ok" if status == 201 else web_refusal(status, body)
    argv = ["agency", "invite", agency_id, "--name", agency_id, "--kind", "housing"]
    argv += ["--isp-version", "2026.1", "--isp-signed-by", "DMO", "--isp-signed-on", "2026-11-01"]
    for area in areas:
        argv += ["--area", area]
    code, _, err = kit.cli(capsys, *argv, by=who)
    return "ok" if code == 0 else err.split(":")[1].strip()


@pytest.mark.parametrize("door", DOORS)
def test_coordinator_invites_only_into_their_own_areas(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    agency_id = f"housing-{door}"
    before = kit.log_size()
    for who, areas, refusal in (
        ("nora", (), "missing-field"),
        ("nora", ("south",), "agency-outside-area"),
        ("sam", ("north",), "agency-outside-area"),
        ("dana", ("north",), "forbidden"),
    ):
        assert invite(kit, capsys, door, who, agency_id, areas) == refusal, who
        assert kit.status(agency_id) is None and kit.served(agency_id) == set()
    assert invite(kit, capsys, door, "nora", agency_id, ("north",)) == "ok"
    assert kit.status(agency_id) == "invited" and kit.served(agency_id) == {"north"}
    assert invite(kit, capsys, door, "ada", f"{agency_id}-any", ()) == "ok"  # admin: none
    assert kit.served(f"{agency_id}-any") == set()
    assert kit.log_size() == before


def test_admin_invites_into_any_existing_area(kit: Kit) -> None:
    body = {"id": "refuge-both", "name": "Refuge", "kind": "refuge", **ISP}
    status, doc = kit.api("POST", "/api/v1/agencies", "ada", {**body, "areas": ["nowhere"]})
    assert status == 404 and kit.status("refuge-both") is None, doc
    status, doc = kit.api("POST", "/api/v1/agencies", "ada", {**body, "areas": "north"})
    assert status == 400 and doc["type"].endswith("/wrong-type"), doc
    status, _ = kit.api("POST", "/api/v1/agencies", "ada", {**body, "areas": ["north", "south"]})
    assert status == 201 and kit.served("refuge-both") == {"north", "south"}


@pytest.mark.parametrize("door", DOORS)
def test_coordinators_list_only_the_agencies_serving_their_areas(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    kit.agency(f"list-north-{door}", ("north",))
    kit.agency(f"list-south-{door}", ("south",))
    north, south = f"list-north-{door}", f"list-south-{door}"

    def seen(who: str) -> str:
        if door == "api":
            status, doc = kit.api("GET", "/api/v1/agencies", who)
            assert status == 200
            return " ".join(f"{a['id']}={','.join(a['areas'])}" for a in doc["agencies"])
        if door == "web":
            web = kit.web(who)
            try:
                status, body, _ = web.get("/agencies")
            finally:
                web.close()
            return body if status == 200 else str(status)
        code, out, _ = kit.cli(capsys, "agency", "list", by=who)
        assert code == 0
        return out

    assert north in seen("nora") and south not in seen("nora")
    assert south in seen("sam") and north not in seen("sam")
    assert north in seen("bo") and south in seen("bo")
    assert north in seen("ada") and south in seen("ada")
    if door == "web":
        assert seen("dana") == "403"  # the page has forms; the DPO reads the API and CLI
    else:
        assert north in seen("dana") and south in seen("dana")
    if door == "api":
        assert f"{north}=north" in seen("ada")


def test_web_page_offers_revoke_to_admins_only(kit: Kit) -> None:
    kit.agency("police-buttons", ("north",))
    for who, shown in (("nora", False), ("ada", True)):
        web = kit.web(who)
        try:
            body = web.get("/agencies")[1]
        finally:
            web.close()
        assert ("Revoke for good" in body) is shown
        assert 'name="area" value="north"' in body


# -- delivery settings ----------------------------------------------------------------------

WEBHOOK = {"transport": "webhook", "format": "json", "config": {"url": "https://x.example/in"}}


@pytest.mark.parametrize("door", ("api", "cli"))
def test_only_admins_and_coordinators_of_a_served_area_see_and_choose_delivery(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str, tmp_path: Any
) -> None:
    agency_id = f"deliver-{door}"
    kit.agency(agency_id, ("north",))
    config = tmp_path / "webhook.json"
    config.write_text('{"url": "https://x.example/in"}')

    def choose(who: str) -> str:
        if door == "api":
            status, doc = kit.api("PUT", f"/api/v1/agencies/{agency_id}/delivery", who, WEBHOOK)
            return "ok" if status == 200 else str(doc["type"]).rsplit("/", 1)[1]
        argv = ["agency", "set-delivery", agency_id, "--transport", "webhook"]
        code, _, err = kit.cli(capsys, *argv, "--transport-config", str(config), by=who)
        return "ok" if code == 0 else err.split(":")[1].strip()

    def show(who: str) -> str:
        if door == "api":
            status, doc = kit.api("GET", f"/api/v1/agencies/{agency_id}/delivery", who)
            return "ok" if status == 200 else str(doc["type"]).rsplit("/", 1)[1]
        code, _, err = kit.cli(capsys, "agency", "delivery", agency_id, by=who)
        return "ok" if code == 0 else err.split(":")[1].strip()

    before = kit.log_size()
    for who, refusal in (("sam", "agency-outside-area"), ("dana", "forbidden")):
        assert choose(who) == refusal and show(who) == refusal
        assert kit.delivery_by(agency_id) is None
    assert choose("nora") == "ok" and show("nora") == "ok"
    assert kit.delivery_by(agency_id) == "coordinator:nora"
    assert choose("ada") == "ok" and kit.delivery_by(agency_id) == "admin:ada"
    assert kit.log_size() == before


# -- areas --------------------------------------------------------------------------------


def test_areas_are_listed_by_any_staff_and_changed_by_admins_only(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.agency("police-areas", ())
    status, doc = kit.api("GET", "/api/v1/areas", "nora")
    assert status == 200 and {a["id"] for a in doc["areas"]} == {"north"}
    for who in ("dana", "ada"):
        assert {a["id"] for a in kit.api("GET", "/api/v1/areas", who)[1]["areas"]} >= {
            "north",
            "south",
        }
    code, out, _ = kit.cli(capsys, "area", "list", by="sam")
    assert code == 0 and "south" in out and "north" not in out
    for who in ("nora", "dana"):
        for method, path, body in (
            ("POST", "/api/v1/areas", {"id": "east", "name": "East"}),
            ("POST", "/api/v1/areas/north/agencies", {"agency": "police-areas"}),
            ("POST", "/api/v1/areas/north/users", {"user": "sam"}),
        ):
            status, doc = kit.api(method, path, who, body)
            assert status == 403 and doc["type"].endswith("/forbidden"), (who, path)
        for argv in (
            ("area", "add", "east", "--name", "East"),
            ("area", "set", "north", "--name", "Renamed"),
            ("area", "add-agency", "north", "police-areas"),
            ("area", "add-user", "north", "sam"),
        ):
            code, _, err = kit.cli(capsys, *argv, by=who)
            assert code == 1 and "forbidden" in err, argv
    assert kit.served("police-areas") == set()
    status, _ = kit.api("POST", "/api/v1/areas/north/agencies", "ada", {"agency": "police-areas"})
    assert status == 201 and kit.served("police-areas") == {"north"}
    code, out, _ = kit.cli(capsys, "area", "add-agency", "south", "police-areas", by="ada")
    assert code == 0 and kit.served("police-areas") == {"north", "south"}


# -- the ISP and lawful bases --------------------------------------------------------------

BASIS = {
    "id": "borough-isa",
    "title": "Borough information sharing agreement",
    "art6": "6(1)(e)",
    "purposes": ["agenda"],
    "data_categories": ["identity"],
}


def test_isp_publication_and_lawful_bases_are_for_admins_only(
    kit: Kit, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    spec = tmp_path / "basis.toml"
    spec.write_text(
        'id = "borough-isa"\ntitle = "Borough ISA"\nart6 = "6(1)(e)"\n'
        'purposes = ["agenda"]\ndata_categories = ["identity"]\n'
    )
    for who in ("nora", "dana"):
        for method, path, body in (
            ("POST", "/api/v1/isp", {"version": "2099.1", "title": "Later"}),
            ("POST", "/api/v1/bases", BASIS),
            ("POST", "/api/v1/bases/public-task/retire", None),
        ):
            status, doc = kit.api(method, path, who, body)
            assert status == 403 and doc["type"].endswith("/forbidden"), (who, path)
        for argv in (
            ("isp", "publish", "2099.1", "--title", "Later"),
            ("basis", "add", "--file", str(spec)),
            ("basis", "retire", "public-task"),
        ):
            code, _, err = kit.cli(capsys, *argv, by=who)
            assert code == 1 and "forbidden" in err, argv
    status, doc = kit.api("GET", "/api/v1/isp", "dana")
    assert status == 200 and doc["current"]["version"] == "2026.1"
    status, doc = kit.api("GET", "/api/v1/bases?id=public-task", "nora")
    assert status == 200 and doc["bases"][0]["retired_at"] is None
    code, out, _ = kit.cli(capsys, "basis", "list", by="dana")
    assert code == 0 and "public-task" in out and "borough-isa" not in out
    status, doc = kit.api("POST", "/api/v1/bases", "ada", BASIS)
    assert status == 201 and doc["created_by"] == "admin:ada"
    status, doc = kit.api("POST", "/api/v1/bases/borough-isa/retire", "ada")
    assert status == 200


@pytest.mark.parametrize("door", ("api", "cli"))
def test_isp_signature_is_recorded_by_admins_and_coordinators_of_a_served_area(
    kit: Kit, capsys: pytest.CaptureFixture[str], door: str
) -> None:
    agency_id = f"signs-{door}"
    kit.agency(agency_id, ("north",))

    def sign(who: str) -> str:
        if door == "api":
            body = {"version": "2026.1", "signed_by": "DMO", "signed_on": "2026-11-02"}
            status, doc = kit.api("POST", f"/api/v1/agencies/{agency_id}/isp", who, body)
            return "ok" if status == 201 else str(doc["type"]).rsplit("/", 1)[1]
        argv = ["isp", "sign", agency_id, "--version", "2026.1", "--signed-by", "DMO"]
        code, _, err = kit.cli(capsys, *argv, "--actor", who, by=None)
        return "ok" if code == 0 else err.split(":")[1].strip()

    assert sign("sam") == "agency-outside-area"
    assert sign("dana") == "forbidden"
    assert sign("nora") == "ok" and sign("ada") == "ok"
    _, doc = kit.api("GET", "/api/v1/isp", "sam")
    assert agency_id not in {a["id"] for a in doc["agencies"]}
    _, doc = kit.api("GET", "/api/v1/isp", "nora")
    assert agency_id in {a["id"] for a in doc["agencies"]}
    code, out, _ = kit.cli(capsys, "isp", "status", by="sam")
    assert code == 0 and agency_id not in out


# -- staff users -------------------------------------------------------------------------


def test_staff_users_are_managed_by_admins_only(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    for who in ("nora", "dana"):
        for method, path, body in (
            ("GET", "/api/v1/users", None),
            ("POST", "/api/v1/users", {"name": "mallory", "role": "admin"}),
            ("DELETE", "/api/v1/users/sam", None),
        ):
            status, doc = kit.api(method, path, who, body)
            assert status == 403 and doc["type"].endswith("/forbidden"), (who, path)
        for argv in (
            ("user", "list"),
            ("user", "add", "mallory", "--role", "admin"),
            ("user", "revoke", "sam"),
        ):
            code, _, err = kit.cli(capsys, *argv, by=who)
            assert code == 1 and "forbidden" in err, argv
    names = {u["name"] for u in kit.api("GET", "/api/v1/users", "ada")[1]["users"]}
    assert "mallory" not in names and "sam" in names
    code, out, _ = kit.cli(capsys, "user", "add", "temp-cli", "--role", "dpo", by="ada")
    assert code == 0 and "token" in out
    code, _, _ = kit.cli(capsys, "user", "revoke", "temp-cli", by="ada")
    assert code == 0
    code, out, _ = kit.cli(capsys, "user", "list", by="ada")
    assert "temp-cli" in out and "revoked" in out
    code, _, err = kit.cli(capsys, "user", "list", by="temp-cli")
    assert code == 1 and "not an active member of staff" in err


# -- on each storage engine ----------------------------------------------------------------


@pytest.fixture(params=ENGINES)
async def engine_hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A running hub on each storage engine (PostgreSQL skipped if no server answers)."""
    async with hub_on(request.param, tmp_path) as running:
        yield running


async def test_coordinator_of_south_cannot_suspend_or_revoke_north_agency_on_each_engine(
    engine_hub: RunningHub,
) -> None:
    hub = engine_hub
    tokens = {"ada": hub.admin_token}
    tokens["nora"] = await hub.add_user("nora", "coordinator")
    tokens["sam"] = await hub.add_user("sam", "coordinator")
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json(content_type=None)

        for area, user in (("north", "nora"), ("south", "sam")):
            status, _ = await call("POST", "/api/v1/areas", "ada", {"id": area, "name": area})
            assert status == 201
            status, _ = await call("POST", f"/api/v1/areas/{area}/users", "ada", {"user": user})
            assert status == 201
        invitation = {"id": "police-north", "name": "Police", "kind": "police", **ISP}
        status, doc = await call(
            "POST", "/api/v1/agencies", "nora", {**invitation, "areas": ["north"]}
        )
        assert status == 201, doc
        identity = IdentityKeyPair.generate()
        signed = announce_key(
            identity, "police-north", EncryptionKeyPair.generate().public, now=datetime.now(UTC)
        )
        async with http.post(
            hub.url + "/api/v1/enrol",
            json={"code": doc["enrolment_code"], "announcement": signed.to_json()},
        ) as resp:
            assert resp.status == 201
        approve = {"identity_fingerprint": identity.fingerprint}
        path = "/api/v1/agencies/police-north"

        async def log_size() -> int:
            async with hub.app[ENGINE].connect() as conn:
                return await size(conn)

        before = await log_size()
        for verb, body, code in (
            ("approve", approve, "agency-outside-area"),
            ("revoke", None, "forbidden"),
        ):
            status, doc = await call("POST", f"{path}/{verb}", "sam", body)
            assert status == 403 and doc["type"].endswith(f"/{code}"), doc
        assert await log_size() == before
        assert (await call("POST", f"{path}/approve", "nora", approve))[0] == 200
        for verb, code in (("suspend", "agency-outside-area"), ("revoke", "forbidden")):
            status, doc = await call("POST", f"{path}/{verb}", "sam")
            assert status == 403 and doc["type"].endswith(f"/{code}"), doc
        assert await log_size() == before + 1
        async with hub.app[ENGINE].connect() as conn:
            logged = parse_entry(await entry(conn, before) or b"")
            state = await conn.scalar(
                select(agencies.c.status).where(agencies.c.id == "police-north")
            )
        assert (logged.kind, logged.status, logged.actor, logged.door) == (
            "agency_status",
            "active",
            "coordinator:nora",
            "api",
        )
        assert state == "active"
