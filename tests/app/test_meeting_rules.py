"""Meetings and actions are one set of use-cases: through the API, the web UI and the CLI a
coordinator of another area is refused every meeting action, a DPO reads the lists and
changes nothing, and a refusal stores, sends and logs nothing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engines import SyncPostgres
from sqlalchemy import func, select

from hub.cli import main
from hub.delivery.tables import outbox
from hub.log.entries import parse_entry
from hub.log.store import entry, size
from hub.meetings.tables import action_updates, actions, attendance, meeting_cases, meetings
from hub.service.appkeys import ENGINE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from webkit import HubThread, WebClient

TODAY = datetime.now(UTC).date()
MEETING_DAY = (TODAY + timedelta(days=10)).isoformat()


class World:
    """The web tests' seeded hub (casey: north, sam: south, dana: DPO, ada: admin; police
    and IDVA serving north; a case in each area), with API tokens for nell (north), stu
    (south) and dee (DPO), and a north meeting with the north case on its agenda."""

    def __init__(self, hub: HubThread, database_url: str | None = None) -> None:
        self.hub = hub
        self.flags = ["--data-dir", str(hub.hub.settings.data_dir)]
        if database_url is not None:
            self.flags += ["--database-url", database_url]
        hub.run(hub.seed(), timeout=120)
        self.tokens = {"admin": hub.hub.admin_token}
        for name, role in (("nell", "coordinator"), ("stu", "coordinator"), ("dee", "dpo")):
            self.tokens[name] = hub.run(hub.hub.add_user(name, role))
        for name, area in (("nell", "north"), ("stu", "south")):
            assert (
                self.api("POST", f"/api/v1/areas/{area}/users", "admin", {"user": name})[0] == 201
            )
        self.ref = hub.seeded.north_ref
        status, doc = self.api(
            "POST", "/api/v1/meetings", "nell", {"area": "north", "date": MEETING_DAY}
        )
        assert status == 201, doc
        self.meeting = doc["id"]
        path = f"/api/v1/meetings/{self.meeting}/cases"
        assert self.api("POST", path, "nell", {"case_ref": self.ref})[0] == 201
        body = {
            "meeting": self.meeting,
            "case_ref": self.ref,
            "owner": "police-north",
            "description": "Check the bail conditions of Nora Seed's ex-partner",
            "due_date": (TODAY + timedelta(days=20)).isoformat(),
        }
        status, doc = self.api("POST", "/api/v1/actions", "nell", body)
        assert status == 201, doc
        self.action = doc["action"]["id"]

    def api(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {self.tokens[who]}"}
            async with self.hub.http.request(
                method, self.hub.url + path, json=body, headers=headers
            ) as resp:
                return resp.status, await resp.json(content_type=None)

        return self.hub.run(go())

    def web(self, who: str) -> WebClient:
        client = WebClient(self.hub)
        assert client.login(who) == 303
        return client

    def cli(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([*self.flags, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    def state(self) -> dict[str, int]:
        """Rows of every meeting table and the outbox, and the log's size."""

        async def go() -> dict[str, int]:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                counts = {
                    t.name: int(await conn.scalar(select(func.count()).select_from(t)) or 0)
                    for t in (meetings, meeting_cases, attendance, actions, action_updates, outbox)
                }
                counts["log"] = await size(conn)
                return counts

        return self.hub.run(go())

    def entries(self, since: int) -> list[Any]:
        async def go() -> list[Any]:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                found = []
                for index in range(since, await size(conn)):
                    data = await entry(conn, index)
                    assert data is not None
                    found.append(parse_entry(data))
                return found

        return self.hub.run(go())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    database = SyncPostgres() if request.param == "postgresql" else None
    url = database.url if database is not None else None
    hub = HubThread(
        tmp_path_factory.mktemp("meeting-rules"), **({"database_url": url} if url else {})
    )
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARAC_HUB_KEY_PASSPHRASE", raising=False)
    try:
        yield World(hub, url)
    finally:
        monkeypatch.undo()
        hub.stop()
        if database is not None:
            database.close()


def _refused_by_api(world: World, who: str, code: str = "forbidden") -> None:
    m, ref, action = world.meeting, world.ref, world.action
    calls: list[tuple[str, str, Any]] = [
        ("POST", "/api/v1/meetings", {"area": "north", "date": MEETING_DAY}),
        ("POST", f"/api/v1/meetings/{m}/cases", {"case_ref": ref}),
        ("DELETE", f"/api/v1/meetings/{m}/cases/{ref}", None),
        (
            "POST",
            f"/api/v1/meetings/{m}/attendance",
            {"agency": "police-north", "status": "attended"},
        ),
        ("POST", f"/api/v1/meetings/{m}/publish", {}),
        ("GET", f"/api/v1/meetings/{m}/research", None),
        (
            "POST",
            f"/api/v1/meetings/{m}/minutes",
            {"items": [{"case_ref": ref, "discussion": "x"}]},
        ),
        (
            "POST",
            "/api/v1/actions",
            {
                "meeting": m,
                "case_ref": ref,
                "owner": "police-north",
                "description": "x",
                "due_date": MEETING_DAY,
            },
        ),
        ("POST", f"/api/v1/actions/{action}/updates", {"status": "completed"}),
        ("GET", f"/api/v1/actions/{action}", None),
    ]
    for method, path, body in calls:
        status, doc = world.api(method, path, who, body)
        assert status == 403, (who, method, path, doc)
        assert doc["type"].endswith(f"/{code}"), (who, method, path, doc)


def _refused_by_web(world: World, who: str) -> None:
    web = world.web(who)
    m, ref, action = world.meeting, world.ref, world.action
    try:
        assert web.get(f"/meetings/{m}")[0] == 403
        assert web.get(f"/actions/{action}")[0] == 403
        for path, form in (
            ("/meetings", {"area": "north", "date": MEETING_DAY, "location": ""}),
            (f"/meetings/{m}/cases", {"case_ref": ref}),
            (f"/meetings/{m}/cases/remove", {"case_ref": ref}),
            (f"/meetings/{m}/attendance", {"attend:police-north": "attended"}),
            (f"/meetings/{m}/publish", {}),
            (f"/meetings/{m}/minutes", {f"discussion:{ref}": "x"}),
            (
                f"/meetings/{m}/actions",
                {
                    "case_ref": ref,
                    "owner": "police-north",
                    "description": "x",
                    "due_date": MEETING_DAY,
                },
            ),
            (f"/actions/{action}", {"status": "completed"}),
        ):
            status, body, _ = web.post(path, form)
            assert status == 403, (who, path, body[:300])
    finally:
        web.close()


def _refused_by_cli(world: World, capsys: pytest.CaptureFixture[str], who: str, text: str) -> None:
    """Refused before the hub's keys are asked for (no passphrase is set here)."""
    m, ref, action = world.meeting, world.ref, world.action
    for argv in (
        ["meeting", "create", "--area", "north", "--date", MEETING_DAY],
        ["meeting", "add", m, ref],
        ["meeting", "remove", m, ref],
        ["meeting", "attend", m, "police-north", "--status", "attended"],
        ["meeting", "publish", m],
        ["meeting", "research", m],
        [
            *("action", "add", "--meeting", m, "--case", ref, "--owner", "police-north"),
            *("--description", "x", "--due", MEETING_DAY),
        ],
        ["action", "update", action, "--status", "completed"],
        ["action", "history", action],
    ):
        status, out, err = world.cli(capsys, *argv, "--by", who)
        assert status == 1 and text in err, (who, argv, out, err)


def test_another_areas_coordinator_is_refused_every_meeting_action_through_every_door(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = world.state()
    _refused_by_api(world, "stu")
    assert world.api("GET", f"/api/v1/meetings/{world.meeting}", "stu")[0] == 403
    assert world.api("GET", "/api/v1/meetings?area=north", "stu")[0] == 403
    _refused_by_web(world, "sam")
    _refused_by_cli(world, capsys, "sam", "you do not work in this area")
    status, _, err = world.cli(capsys, "meeting", "show", world.meeting, "--by", "sam")
    assert status == 1 and "you do not work in this area" in err
    assert world.state() == before  # nothing stored, nothing queued, nothing logged


def test_a_dpo_reads_the_meeting_lists_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = world.state()
    _refused_by_api(world, "dee")
    status, doc = world.api("GET", f"/api/v1/meetings/{world.meeting}", "dee")
    assert status == 200 and [e["case_ref"] for e in doc["agenda"]] == [world.ref]
    assert world.api("GET", "/api/v1/meetings?area=north", "dee")[0] == 200
    status, doc = world.api("GET", "/api/v1/actions?area=north", "dee")
    assert status == 200 and [a["id"] for a in doc["actions"]] == [world.action]
    assert doc["actions"][0]["description"] == ""  # the free text is case data
    web = world.web("dana")
    try:
        assert web.get("/meetings")[0] == 403
        assert web.get("/actions")[0] == 403
        assert web.post(f"/meetings/{world.meeting}/publish", {})[0] == 403
    finally:
        web.close()
    _refused_by_cli(world, capsys, "dana", "role dpo may not do this")
    status, out, _ = world.cli(capsys, "meeting", "list", "--area", "north", "--by", "dana")
    assert status == 0 and world.meeting in out
    assert world.state() == before


def test_the_meetings_coordinator_acts_and_the_log_names_them_whatever_the_door(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    before = world.state()["log"]
    status, _out, err = world.cli(capsys, "meeting", "publish", world.meeting, "--by", "casey")
    assert status == 0, err
    sent = [e for e in world.entries(before) if e.kind in ("disclosure", "refusal")]
    assert sent and {e.actor for e in sent} == {"coordinator:casey"}
    before = world.state()["log"]
    status, doc = world.api("GET", f"/api/v1/actions/{world.action}", "nell")
    assert status == 200 and doc["action"]["description"].startswith("Check the bail")
    (access,) = world.entries(before)
    assert access.kind == "access" and access.actor == "coordinator:nell"
    assert access.door == "api" and access.case_refs == (world.ref,)
    assert "Check" not in access.model_dump_json()


def test_attendance_names_only_agencies_serving_the_meetings_area(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {
        "id": "police-south",
        "name": "Police South",
        "kind": "police",
        "isp_version": "2026.1",
        "isp_signed_by": "Designated MARAC Officer",
        "isp_signed_on": "2026-11-01",
        "areas": ["south"],
    }
    status, doc = world.api("POST", "/api/v1/agencies", "admin", body)
    assert status == 201, doc
    before = world.state()
    path = f"/api/v1/meetings/{world.meeting}/attendance"
    status, doc = world.api("POST", path, "nell", {"agency": "police-south", "status": "attended"})
    assert status == 403 and doc["type"].endswith("/recipient-outside-area"), doc
    web = world.web("casey")
    try:
        web.get(f"/meetings/{world.meeting}")
        form = {"attend:police-south": "attended", "attend:police-north": "attended"}
        assert web.post(f"/meetings/{world.meeting}/attendance", form)[0] == 403
    finally:
        web.close()
    argv = ["meeting", "attend", world.meeting, "police-south", "--status", "attended"]
    status, _, err = world.cli(capsys, *argv, "--by", "casey")
    assert status == 1 and "does not serve area north" in err
    # Nor may an action (and its notice) be given to an agency of another area.
    action = {
        "meeting": world.meeting,
        "case_ref": world.ref,
        "owner": "police-south",
        "description": "x",
        "due_date": MEETING_DAY,
    }
    status, doc = world.api("POST", "/api/v1/actions", "nell", action)
    assert status == 403 and doc["type"].endswith("/recipient-outside-area"), doc
    after = world.state()
    assert after == {**before, "log": after["log"]}
    assert [e.kind for e in world.entries(before["log"])] == ["access"]  # the page view
