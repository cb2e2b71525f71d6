"""Free text passes the disclosure policy: a carried-forward action's description reaches
only its owning agency and the IDVA (issue 20: 288 of 312 carried-forward summaries went
to agencies that did not own the action, and a description naming a victim reached 11).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from engines import ENGINES, hub_on

from hub.adapters.formats import FormatError, bounded, load_format
from hub.crypto.sealing import open_envelope
from hub.log.entries import parse_entry
from hub.log.store import entry, size
from hub.policy import check_policy, load_policy
from hub.policy.decide import Decision, Verdict
from hub.policy.fields import free_text_paths
from hub.protocol.messages import ActionSummary, Agenda, Message
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub


def _service_kit() -> Any:
    """tests/service/conftest.py's agency helpers, loaded under a name of their own."""
    name = "free_text_service_kit"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "service" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _service_kit()
TODAY = datetime.now(UTC).date()
VICTIM = "Victoria Freetext"
DESCRIPTION = f"Fit a door alarm at {VICTIM}'s flat before the perpetrator's release"
KINDS = {
    "police-north": "police",
    "idva-north": "idva",
    "housing-north": "housing",
    "probation-north": "probation",
    "drugs-north": "substance_misuse",
    "health-north": "health",
}
OWNER = "housing-north"
MAY_READ = {OWNER, "idva-north"}


@pytest.fixture(params=ENGINES)
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A running hub on each storage engine (PostgreSQL skipped if no server answers)."""
    async with hub_on(request.param, tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_agency(hub: RunningHub, http: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    """Invite, enrol and approve an agency of ``kind``; returns its Agent."""

    async def make(agency_id: str, kind: str) -> Any:
        agent = kit.Agent(hub, http, agency_id)
        status, doc = await kit.enrol(agent, await kit.invite(hub, http, agency_id, kind))
        assert status == 201, doc
        body = {"identity_fingerprint": agent.identity.fingerprint}
        path = f"/api/v1/agencies/{agency_id}/approve"
        await call(hub, http, "POST", path, hub.admin_token, body)
        return agent

    return make


async def call(hub: RunningHub, http: Any, method: str, path: str, token: str, body: Any = None):  # type: ignore[no-untyped-def]
    status, doc = await kit.staff_call(hub, http, method, path, token, body)
    assert status < 300, (method, path, doc)
    return doc


def referral(name: str) -> dict[str, Any]:
    return {
        "referring_agency": "police-north",
        "referred_on": (TODAY - timedelta(days=10)).isoformat(),
        "victim": {"name": name, "date_of_birth": "1990-04-02", "address": "1 Road"},
        "perpetrator": {"name": "Perry Freetext", "date_of_birth": "1988-01-20"},
        "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900123"},
        "perpetrator_must_not_know": False,
    }


def opened(hub: RunningHub, agent: Any, envelopes: list[Any]) -> list[Message]:
    return [
        open_envelope(e, recipient=agent.keys[-1], sender=hub.keys.identity.public).message()
        for e in envelopes
    ]


async def log_entries(hub: RunningHub, since: int) -> list[Any]:
    async with hub.app[ENGINE].connect() as conn:
        end = await size(conn)
        found = []
        for index in range(since, end):
            data = await entry(conn, index)
            assert data is not None
            found.append(parse_entry(data))
        return found


async def two_meetings(hub: RunningHub, http: Any, make: Any) -> dict[str, Any]:
    """Area north, six agencies of different kinds, coordinator nora; meeting 1 agrees an
    action for housing whose description names the victim; meeting 2 is published with
    the action still open. Returns the agents, the action id and where the log stood."""
    agents = {agency_id: await make(agency_id, kind) for agency_id, kind in KINDS.items()}
    admin = hub.admin_token
    await call(hub, http, "POST", "/api/v1/areas", admin, {"id": "north", "name": "North"})
    for agency_id in agents:
        await call(hub, http, "POST", "/api/v1/areas/north/agencies", admin, {"agency": agency_id})
    nora = await hub.add_user("nora", "coordinator")
    await call(hub, http, "POST", "/api/v1/areas/north/users", admin, {"user": "nora"})
    refs = []
    for name in (VICTIM, "Second Victim"):
        doc = await call(
            hub, http, "POST", "/api/v1/cases", nora, {"area": "north", "referral": referral(name)}
        )
        refs.append(doc["case_ref"])
    meetings = []
    for days in (7, 35):
        body = {"area": "north", "date": (TODAY + timedelta(days=days)).isoformat()}
        meetings.append((await call(hub, http, "POST", "/api/v1/meetings", nora, body))["id"])
    first, second = meetings
    await call(hub, http, "POST", f"/api/v1/meetings/{first}/cases", nora, {"case_ref": refs[0]})
    await call(hub, http, "POST", f"/api/v1/meetings/{first}/publish", nora, {})
    action = await call(
        hub,
        http,
        "POST",
        "/api/v1/actions",
        nora,
        {
            "meeting": first,
            "case_ref": refs[0],
            "owner": OWNER,
            "description": DESCRIPTION,
            "due_date": (TODAY + timedelta(days=20)).isoformat(),
        },
    )
    assert action["notice"]["outcome"] == "disclosed", action
    for agent in agents.values():  # meeting 1's agenda, requests and the action notice
        sent = opened(hub, agent, await agent.poll())
        if agent.id == OWNER:
            notice = next(m for m in sent if m.message_type == "action_notice")
            assert notice.action.description == DESCRIPTION  # type: ignore[attr-defined]
        await agent.ack(await agent.poll())
    async with hub.app[ENGINE].connect() as conn:
        before = await size(conn)
    await call(hub, http, "POST", f"/api/v1/meetings/{second}/cases", nora, {"case_ref": refs[1]})
    report = await call(hub, http, "POST", f"/api/v1/meetings/{second}/publish", nora, {})
    assert {a["outcome"] for a in report["agendas"]} == {"disclosed"}, report
    return {
        "agents": agents,
        "action": action["action"]["id"],
        "meeting": second,
        "before": before,
    }


async def test_carried_forward_description_reaches_only_owner_and_idva(
    hub, http, make_agency
) -> None:  # type: ignore[no-untyped-def]
    world = await two_meetings(hub, http, make_agency)
    seen: dict[str, Any] = {}
    for agency_id, agent in world["agents"].items():
        agendas = [
            m
            for m in opened(hub, agent, await agent.poll())
            if isinstance(m, Agenda) and m.meeting_id == world["meeting"]
        ]
        assert len(agendas) == 1, agency_id
        (carried,) = agendas[0].carried_forward
        # Every agency learns that the action exists, whose it is, when due, how it stands.
        assert carried.action_id == world["action"]
        assert carried.owner_agency == OWNER and carried.status == "open"
        seen[agency_id] = carried.description
        assert VICTIM not in agendas[0].model_dump_json() or agency_id in MAY_READ
    assert {a for a, text in seen.items() if text == DESCRIPTION} == MAY_READ
    assert all(text is None for a, text in seen.items() if a not in MAY_READ)

    # The log: one disclosure per agency, naming the coordinator; nothing of the text itself
    entries = [
        e
        for e in await log_entries(hub, world["before"])
        if e.kind == "disclosure" and e.purpose == "agenda"
    ]
    assert {e.recipient for e in entries} == set(KINDS)
    assert all(e.actor == "coordinator:nora" for e in entries)
    assert all(DESCRIPTION not in e.model_dump_json() for e in entries)
    # ... and each entry lists the description as disclosed exactly where it went.
    listing = {e.recipient for e in entries if "carried_forward.description" in (e.fields or ())}
    assert listing == MAY_READ


def test_free_text_paths_read_off_each_message_shape() -> None:
    assert free_text_paths({"carried_forward": [{"description": "x", "reason": None}]}) == {
        "carried_forward.description"
    }
    assert free_text_paths({"carried_forward": [{"action_id": "x"}]}) == frozenset()
    assert free_text_paths({"action": {"description": "x", "reason": "y"}}) == {
        "action.description",
        "action.reason",
    }
    minutes = {"items": [{"discussion": "d", "actions": [{"description": "x"}]}]}
    assert free_text_paths(minutes) == {"discussion", "actions.description"}
    assert free_text_paths({"items": [{"case_ref": "M-2026-0001", "position": 1}]}) == frozenset()


def test_the_default_policy_gives_each_free_text_its_own_rule() -> None:
    policy = load_policy()
    for kind in ("police", "housing", "probation", "substance_misuse", "health", "other"):
        rule = policy.rule("agenda", kind)
        assert rule is not None
        assert rule.owner_only(False) == {"carried_forward.description", "carried_forward.reason"}
    idva = policy.rule("agenda", "idva")
    assert idva is not None and idva.owner_only(False) == frozenset()
    assert {"carried_forward.description", "carried_forward.reason"} <= idva.fields
    for kind in ("housing", "police", "probation"):
        notice = policy.rule("action_notice", kind)
        assert notice is not None and "action.description" in notice.fields_for(True)
    minutes = policy.rule("minutes", "police")
    assert minutes is not None and {"discussion", "actions.description"} <= minutes.fields


def test_a_decision_sends_owner_fields_only_to_the_owner() -> None:
    decision = Decision(
        Verdict.PERMIT,
        purpose="agenda",
        policy_version="t",
        fields=("carried_forward.description", "victim.name"),
        owner_only=frozenset({"carried_forward.description"}),
    )
    path = "carried_forward.description"
    assert decision.sends(path, owner="housing", recipient="housing")
    assert not decision.sends(path, owner="housing", recipient="police")
    assert not decision.sends("carried_forward.reason", owner="housing", recipient="housing")
    assert decision.sends("victim.name")


def test_a_policy_names_owner_fields_only_where_an_action_has_an_owner() -> None:
    good = b"""version = "t"
[[rule]]
purpose = "agenda"
kinds = ["*"]
fields = ["victim.name"]
owner_fields = ["carried_forward.description"]
basis = "offence-data"
decision = "permit"
"""
    assert check_policy(good) == []
    bad = good.replace(b'"carried_forward.description"', b'"victim.address"')
    assert any("cannot carry victim.address" in e for e in check_policy(bad))
    notice = good.replace(b'purpose = "agenda"', b'purpose = "action_notice"').replace(
        b'"carried_forward.description"', b'"action.description"'
    )
    assert any("action.description" in e for e in check_policy(notice))


def _renders_without_description(name: str) -> bool:
    agenda = Agenda(
        meeting_id="01M94KPZ7W5ZE3GPGSBRZX8Z3H",
        area="north",
        meeting_date=TODAY,
        items=(),
        carried_forward=(
            ActionSummary(
                action_id="01M94KPZ7W5ZE3GPGSBRZX8Z3H",
                case_ref="M-2026-0001",
                owner_agency="housing-north",
                due_date=TODAY,
                status="open",
            ),
        ),
    )
    fmt = load_format(name)
    try:
        document = bounded(fmt.render(agenda), fmt.name)
    except FormatError:
        return False
    return "null" not in json.dumps(document)


@pytest.mark.parametrize("name", ["fhir-r4", "pole"])
def test_an_agenda_whose_carried_forward_text_is_withheld_renders_in_each_format(
    name: str,
) -> None:
    assert _renders_without_description(name)
