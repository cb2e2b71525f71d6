"""Cancelling and moving a meeting, through the API, the web UI and the CLI: each agency
sent the agenda is told by a sealed notice (opened here with its own key); a cancelled
meeting cannot be published, minuted, cancelled again or moved; a moved meeting keeps its
agenda; who may not, may not; nothing is written by a refusal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.request_signing import sign_request
from hub.crypto.sealing import open_envelope
from hub.protocol.envelope import parse_envelope
from hub.protocol.messages import Message, Notice

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from agencykit import ISP, HubThread, Kit
from casekit import referral

TODAY = date.today()


class Agency:
    """An agency enrolled by hand, keeping its keys, so that it can open what it is sent."""

    def __init__(self, kit: Kit, agency_id: str, areas: tuple[str, ...]) -> None:
        self.kit, self.id = kit, agency_id
        self.identity, self.key = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
        status, doc = kit.api(
            "POST",
            "/api/v1/agencies",
            body={"id": agency_id, "name": agency_id, "kind": "police", **ISP, "areas": areas},
        )
        assert status == 201, doc
        signed = announce_key(self.identity, agency_id, self.key.public, now=datetime.now(UTC))

        async def enrol() -> int:
            async with kit.hub.http.post(
                f"{kit.hub.url}/api/v1/enrol",
                json={"code": doc["enrolment_code"], "announcement": signed.to_json()},
            ) as resp:
                return resp.status

        assert kit.hub.run(enrol()) == 201
        body = {"identity_fingerprint": self.identity.fingerprint}
        assert kit.api("POST", f"/api/v1/agencies/{agency_id}/approve", body=body)[0] == 200

    def inbox(self) -> list[Message]:
        """Everything waiting in its mailbox, opened with its own key (not acknowledged)."""

        async def go() -> Any:
            path, query = "/api/v1/mailbox", "wait=0"
            headers = sign_request(
                self.identity, self.id, "GET", path, query, b"", now=datetime.now(UTC)
            )
            async with self.kit.hub.http.get(
                f"{self.kit.hub.url}{path}?{query}", headers=dict(headers)
            ) as resp:
                assert resp.status == 200
                return await resp.json()

        doc = self.kit.hub.run(go())
        hub_key = self.kit.hub.hub.keys.identity.public
        return [
            open_envelope(parse_envelope(e), recipient=self.key, sender=hub_key).message()
            for e in doc["envelopes"]
        ]


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    for name in ("DATABASE_URL", "POLICY_FILE", "CONFIG_FILE"):
        monkeypatch.delenv(f"MARAC_HUB_{name}", raising=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kit, dict[str, Agency]]]:
    hub = HubThread(tmp_path_factory.mktemp("cancel"), mfa_required_roles=())
    try:
        kit = Kit(hub)
        kit.seed()
        agencies = {a: Agency(kit, a, ("north",)) for a in ("police-north", "idva-north")}
        yield kit, agencies
    finally:
        hub.stop()


_made = iter(range(1, 10_000))


def _meeting(kit: Kit, *, publish: bool, days: int = 20) -> tuple[str, str]:
    """A north meeting with one case on its agenda (published or not): (meeting, case)."""
    n = next(_made)
    doc = referral(referred_on=(TODAY - timedelta(days=3)).isoformat())
    doc["victim"]["name"], doc["perpetrator"]["name"] = f"Ann Number{n}", f"Ben Number{n}"
    status, case = kit.api("POST", "/api/v1/cases", "nora", {"area": "north", "referral": doc})
    assert status == 201, case
    when = (TODAY + timedelta(days=days)).isoformat()
    status, meeting = kit.api(
        "POST", "/api/v1/meetings", "nora", {"area": "north", "date": when, "location": "Hall"}
    )
    assert status == 201, meeting
    mid = meeting["id"]
    body = {"case_ref": case["case_ref"]}
    assert kit.api("POST", f"/api/v1/meetings/{mid}/cases", "nora", body)[0] == 201
    if publish:
        status, doc = kit.api("POST", f"/api/v1/meetings/{mid}/publish", "nora", {})
        assert status == 200, doc
    return mid, case["case_ref"]


def _type(doc: Any) -> str:
    return str(doc.get("type", "")).rsplit("/", 1)[-1] if isinstance(doc, dict) else ""


def _notices(agency: Agency, meeting_id: str) -> list[str]:
    return [m.text for m in agency.inbox() if isinstance(m, Notice) and meeting_id in m.text]


def test_a_cancelled_meeting_tells_each_agency_sent_its_agenda_and_closes(
    world: tuple[Kit, dict[str, Agency]],
) -> None:
    kit, agencies = world
    mid, _ = _meeting(kit, publish=True)
    before = kit.log_size()
    status, doc = kit.api("POST", f"/api/v1/meetings/{mid}/cancel", "nora", {})
    assert status == 200 and doc["cancelled_at"], doc
    assert {(o["agency"], o["outcome"]) for o in doc["told"]} == {
        ("police-north", "disclosed"),
        ("idva-north", "disclosed"),
    }
    for agency in agencies.values():
        (text,) = _notices(agency, mid)
        assert "is cancelled" in text and "Ann" not in text  # no person named
    logged = kit.entries(before)
    assert {(e["kind"], e["purpose"], e["recipient"]) for e in logged} == {
        ("disclosure", "notice", "police-north"),
        ("disclosure", "notice", "idva-north"),
    }
    size = kit.log_size()
    for path, body in (
        (f"/api/v1/meetings/{mid}/cancel", {}),
        (f"/api/v1/meetings/{mid}/publish", {}),
        (f"/api/v1/meetings/{mid}/minutes", {"items": []}),
        (f"/api/v1/meetings/{mid}/move", {"date": (TODAY + timedelta(days=30)).isoformat()}),
    ):
        status, doc = kit.api("POST", path, "nora", body)
        assert (status, _type(doc)) == (409, "meeting-closed"), (path, doc)
    assert kit.log_size() == size


def test_a_moved_meeting_keeps_its_agenda_and_tells_the_agencies(
    world: tuple[Kit, dict[str, Agency]],
) -> None:
    kit, agencies = world
    mid, ref = _meeting(kit, publish=True)
    later = TODAY + timedelta(days=40)
    status, doc = kit.api(
        "POST",
        f"/api/v1/meetings/{mid}/move",
        "nora",
        {"date": later.isoformat(), "location": "Civic Centre"},
    )
    assert status == 200, doc
    assert doc["date"] == later.isoformat() and doc["location"] == "Civic Centre"
    assert doc["moved_from"] == (TODAY + timedelta(days=20)).isoformat()
    status, shown = kit.api("GET", f"/api/v1/meetings/{mid}", "nora")
    assert [e["case_ref"] for e in shown["agenda"]] == [ref]
    for agency in agencies.values():
        (text,) = _notices(agency, mid)
        assert f"to {later.isoformat()} at Civic Centre" in text
    # Not into the past, not to where it already is; a malformed date is refused.
    size = kit.log_size()
    for body, code in (
        ({"date": (TODAY - timedelta(days=1)).isoformat()}, "malformed"),
        ({"date": later.isoformat(), "location": "Civic Centre"}, "malformed"),
        ({"date": "soon"}, "malformed"),
        ({"date": later.isoformat(), "location": "x" * 101}, "malformed"),
        ({"date": later.isoformat(), "when": "now"}, "malformed"),
    ):
        status, doc = kit.api("POST", f"/api/v1/meetings/{mid}/move", "nora", body)
        assert (status, _type(doc)) == (400, code), (body, doc)
    assert kit.log_size() == size
    # A meeting never published tells no one.
    quiet, _ = _meeting(kit, publish=False)
    status, doc = kit.api("POST", f"/api/v1/meetings/{quiet}/cancel", "nora", {})
    assert status == 200 and doc["told"] == [], doc
    assert kit.log_size() == size


def test_who_may_cancel_or_move_through_the_api(world: tuple[Kit, dict[str, Agency]]) -> None:
    kit, _ = world
    mid, _ = _meeting(kit, publish=False)
    body = {"date": (TODAY + timedelta(days=25)).isoformat()}
    size = kit.log_size()
    for who, status_code, code in (
        ("sam", 403, "forbidden"),
        ("dana", 403, "forbidden"),
        (None, 401, "unauthorized"),
    ):
        for verb in ("cancel", "move"):
            status, doc = kit.api("POST", f"/api/v1/meetings/{mid}/{verb}", who, body)  # type: ignore[arg-type]
            assert (status, _type(doc)) == (status_code, code), (who, verb, doc)
    status, shown = kit.api("GET", f"/api/v1/meetings/{mid}", "nora")
    assert shown["cancelled_at"] is None and shown["moved_from"] is None
    assert kit.log_size() == size
    assert kit.api("POST", f"/api/v1/meetings/{mid}/move", "bo", body)[0] == 200
    assert kit.api("POST", f"/api/v1/meetings/{mid}/cancel", "ada", {})[0] == 200


def test_the_web_moves_and_cancels_a_meeting(world: tuple[Kit, dict[str, Agency]]) -> None:
    kit, agencies = world
    mid, _ = _meeting(kit, publish=True)
    later = (TODAY + timedelta(days=50)).isoformat()
    for who in ("sam", "dana"):
        web = kit.web(who)
        try:
            assert web.post(f"/meetings/{mid}/cancel", {"confirm": "yes"})[0] == 403
            assert web.post(f"/meetings/{mid}/move", {"date": later})[0] == 403
        finally:
            web.close()
    web = kit.web("nora")
    try:
        status, page, _ = web.get(f"/meetings/{mid}")
        assert f'action="/meetings/{mid}/cancel"' in page and "Move the meeting" in page
        status, _, resp = web.post(f"/meetings/{mid}/move", {"date": later, "location": ""})
        assert status == 303 and resp.headers["Location"].endswith("?done=moved")
        status, _, _ = web.post(f"/meetings/{mid}/cancel", {})  # the box not ticked
        assert status == 400
        status, _, resp = web.post(f"/meetings/{mid}/cancel", {"confirm": "yes"})
        assert status == 303 and resp.headers["Location"].endswith("?done=cancelled")
        status, page, _ = web.get(f"/meetings/{mid}?done=cancelled")
        assert "Meeting cancelled" in page and "Publish the agenda" not in page
        assert f'action="/meetings/{mid}/cancel"' not in page
        status, page, _ = web.post(f"/meetings/{mid}/cancel", {"confirm": "yes"})
        assert status == 409 and "cancelled" in page
    finally:
        web.close()
    texts = _notices(agencies["police-north"], mid)
    assert any("is moved" in t for t in texts) and any("is cancelled" in t for t in texts)


def test_the_cli_moves_and_cancels_a_meeting(
    world: tuple[Kit, dict[str, Agency]], capsys: pytest.CaptureFixture[str]
) -> None:
    kit, _ = world
    mid, _ = _meeting(kit, publish=True)
    later = (TODAY + timedelta(days=45)).isoformat()
    past = (TODAY - timedelta(days=2)).isoformat()
    for who in ("sam", "dana"):
        status, _, err = kit.cli(capsys, "meeting", "cancel", mid, by=who)
        assert status == 1 and "forbidden" in err and "Traceback" not in err, err
    status, out, err = kit.cli(capsys, "meeting", "move", mid, "--date", past, by="nora")
    assert status == 1 and "past" in err and len(err.strip().splitlines()) == 1, err
    status, out, err = kit.cli(capsys, "meeting", "move", mid, "--date", later, by="nora")
    assert status == 0, err
    assert f"moved to {later}" in out and "notice of the move to police-north: disclosed" in out
    status, out, err = kit.cli(capsys, "meeting", "cancel", mid, by="nora")
    assert status == 0 and "2 of 2 agencies sent its agenda told" in out, (out, err)
    status, out, err = kit.cli(capsys, "meeting", "cancel", mid, by="nora")
    assert status == 1 and "meeting-closed" in err and "Traceback" not in err, err
