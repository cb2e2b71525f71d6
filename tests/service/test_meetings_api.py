"""A meeting over HTTP: agenda, research, attendance, actions, chasing and minutes, by role."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from conftest import Agent, assert_problem, enrol, invite, staff_call

from hub.crypto.sealing import open_envelope, seal
from hub.protocol.messages import (
    ActionUpdate,
    Message,
    ResearchItem,
    ResearchResponse,
    WithheldItem,
)
from hub.testing import running_hub

TODAY = datetime.now(UTC).date()


def referral(
    n: int, *, children: int = 0, days_ago: int = 10, secret: bool = False
) -> dict[str, Any]:
    return {
        "referring_agency": "police-north",
        "referred_on": (TODAY - timedelta(days=days_ago)).isoformat(),
        "victim": {"name": f"Victim Number{n}", "date_of_birth": "1990-04-02", "address": "1 Road"},
        "perpetrator": {"name": f"Perp Number{n}", "date_of_birth": "1988-01-20"},
        "children": [
            {"name": f"Child{n} Number{k}", "date_of_birth": "2019-06-01"} for k in range(children)
        ],
        "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900123"},
        "perpetrator_must_not_know": secret,
    }


async def setup(hub: Any, http: Any, make_agency: Any) -> dict[str, Any]:
    agents = {
        "police-north": await make_agency("police-north", "police"),
        "idva-north": await make_agency("idva-north", "idva"),
        "housing-north": await make_agency("housing-north", "housing"),
        "health-north": await make_agency("health-north", "health"),
    }
    for area in ("north", "south"):
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/areas", body={"id": area, "name": area}
        )
        assert status == 201, doc
    for agency_id in agents:
        status, doc = await staff_call(
            hub, http, "POST", "/api/v1/areas/north/agencies", body={"agency": agency_id}
        )
        assert status == 201, doc
    tokens = {"dpo": await hub.add_user("dee", "dpo")}
    for name, area in (("nora", "north"), ("sam", "south")):
        tokens[name] = await hub.add_user(name, "coordinator")
        status, doc = await staff_call(
            hub, http, "POST", f"/api/v1/areas/{area}/users", body={"user": name}
        )
        assert status == 201, doc
    refs = []
    for n, (kids, ago, secret) in enumerate([(0, 30, False), (1, 10, True), (0, 50, False)]):
        status, doc = await staff_call(
            hub,
            http,
            "POST",
            "/api/v1/cases",
            tokens["nora"],
            {"area": "north", "referral": referral(n, children=kids, days_ago=ago, secret=secret)},
        )
        assert status == 201, doc
        refs.append(doc["case_ref"])
    return {"agents": agents, "tokens": tokens, "refs": refs}


def opened(hub: Any, agent: Agent, envelopes: list[Any]) -> list[Message]:
    return [
        open_envelope(e, recipient=agent.keys[-1], sender=hub.keys.identity.public).message()
        for e in envelopes
    ]


async def inbound(hub: Any, agent: Agent, message: Message, case_ref: str) -> tuple[int, Any]:
    envelope = seal(
        message,
        sender=agent.identity,
        sender_id=agent.id,
        recipient_id="hub",
        recipient_key=hub.keys.encryption.public,
        now=datetime.now(UTC),
        case_ref=case_ref,
    )
    body = json.dumps({"envelope": envelope.to_json()}).encode()
    return await agent.call("POST", "/api/v1/messages", body)


async def test_a_meeting_from_agenda_to_minutes(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    world = await setup(hub, http, make_agency)
    agents, tokens, refs = world["agents"], world["tokens"], world["refs"]
    nora, sam, dpo = tokens["nora"], tokens["sam"], tokens["dpo"]
    meeting_date = TODAY + timedelta(days=7)
    body = {"area": "north", "date": meeting_date.isoformat(), "location": "Town Hall"}
    for token, code in ((sam, "forbidden"), (dpo, "forbidden")):
        assert_problem(
            *await staff_call(hub, http, "POST", "/api/v1/meetings", token, body), 403, code
        )
    status, meeting = await staff_call(hub, http, "POST", "/api/v1/meetings", nora, body)
    assert status == 201, meeting
    mid = meeting["id"]

    # Candidates: children's case first, then by referral date; the clocks run from referral.
    status, doc = await staff_call(hub, http, "GET", f"/api/v1/meetings/{mid}/candidates", nora)
    assert status == 200, doc
    assert [c["case_ref"] for c in doc["cases"]] == [refs[1], refs[2], refs[0]]
    by_ref = {c["case_ref"]: c for c in doc["cases"]}
    assert by_ref[refs[2]]["days_to_meeting"] == 57 and by_ref[refs[2]]["breached"]
    assert by_ref[refs[0]]["days_left"] == 42 - 37 and not by_ref[refs[0]]["breached"]
    assert "Number" not in json.dumps(doc)

    for ref in refs[:2]:
        status, doc = await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, {"case_ref": ref}
        )
        assert status == 201, doc
    assert_problem(
        *await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/cases", sam, {"case_ref": refs[2]}
        ),
        403,
        "forbidden",
    )
    assert_problem(
        *await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, {"case_ref": refs[0]}
        ),
        409,
        "conflict",
    )
    # Another area's coordinator can neither see nor publish; the DPO sees but cannot publish.
    assert_problem(
        *await staff_call(hub, http, "GET", f"/api/v1/meetings/{mid}", sam), 403, "forbidden"
    )
    for token in (sam, dpo):
        assert_problem(
            *await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", token, {}),
            403,
            "forbidden",
        )
    status, doc = await staff_call(hub, http, "GET", f"/api/v1/meetings/{mid}", dpo)
    assert status == 200 and [c["case_ref"] for c in doc["agenda"]] == [refs[1], refs[0]]

    # Health is suspended: it is refused (and the refusal logged), everyone else is sent.
    status, _ = await staff_call(hub, http, "POST", "/api/v1/agencies/health-north/suspend")
    assert status == 200
    status, report = await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {}
    )
    assert status == 200, report
    outcomes = {a["agency"]: a["outcome"] for a in report["agendas"]}
    assert outcomes == {
        "police-north": "disclosed",
        "idva-north": "disclosed",
        "housing-north": "disclosed",
        "health-north": "refused",
    }
    refused = next(a for a in report["agendas"] if a["outcome"] == "refused")
    assert refused["code"] == "agency-not-active"
    assert len(report["research_requests"]) == 8
    police = agents["police-north"]
    messages = opened(hub, police, await police.poll())
    agenda = next(m for m in messages if m.message_type == "agenda")
    requests = [m for m in messages if m.message_type == "research_request"]
    assert [i.case_ref for i in agenda.items] == [refs[1], refs[0]]
    assert [i.position for i in agenda.items] == [1, 2]
    assert agenda.items[0].has_children and agenda.items[0].children
    assert len(requests) == 2 and {r.case_ref for r in requests} == set(refs[:2])
    assert all(r.respond_by < meeting_date for r in requests)
    # The perpetrator-must-not-know case's research request withholds the victim's address.
    secret = next(r for r in requests if r.case_ref == refs[1])
    assert all(s.address is None for s in secret.subjects if s.role == "victim")
    await police.ack([e for e in await police.poll()])

    # Publishing again sends nothing new; a late addition sends only itself.
    status, again = await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {})
    assert status == 200
    assert [a["outcome"] for a in again["agendas"]] == ["refused"]  # health, tried again
    status, doc = await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, {"case_ref": refs[2]}
    )
    assert status == 201, doc
    status, late = await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {})
    sent = [a for a in late["agendas"] if a["outcome"] == "disclosed"]
    assert len(sent) == 3 and all(a["cases"] == [refs[2]] for a in sent)
    assert {r["case_ref"] for r in late["research_requests"] if r["outcome"] == "disclosed"} == {
        refs[2]
    }

    # Research: the police answer their own request; the IDVA cannot answer police's.
    police_msgs = opened(hub, police, await police.poll())
    all_requests = requests + [m for m in police_msgs if m.message_type == "research_request"]
    request = next(r for r in all_requests if r.case_ref == refs[0])
    answer = ResearchResponse(
        request_id=request.request_id,
        case_ref=refs[0],
        agency_id="police-north",
        responded_at=datetime.now(UTC),
        nothing_known=False,
        items=(
            ResearchItem(text="Two call-outs in March.", kind="fact"),
            ResearchItem(text="Risk seems to be rising.", kind="opinion"),
        ),
        withheld=(WithheldItem(description="an intelligence report", reason="live operation"),),
    )
    status, doc = await inbound(hub, police, answer, refs[0])
    assert status == 202, doc
    idva = agents["idva-north"]
    forged = answer.model_copy(update={"agency_id": "idva-north"})
    assert_problem(*await inbound(hub, idva, forged, refs[0]), 403, "not-requested")
    # Research answers are decrypted case data: the area's coordinator reads them (logged as
    # an access entry), a DPO does not.
    assert_problem(
        *await staff_call(hub, http, "GET", f"/api/v1/meetings/{mid}/research", dpo),
        403,
        "forbidden",
    )
    status, research = await staff_call(hub, http, "GET", f"/api/v1/meetings/{mid}/research", nora)
    assert status == 200, research
    case0 = next(c for c in research["cases"] if c["case_ref"] == refs[0])
    assert [r["agency"] for r in case0["responses"]] == ["police-north"]
    response = case0["responses"][0]
    assert [f["text"] for f in response["facts"]] == ["Two call-outs in March."]
    assert [o["text"] for o in response["opinions"]] == ["Risk seems to be rising."]
    assert response["withheld"] == [
        {"description": "an intelligence report", "reason": "live operation"}
    ]
    assert case0["not_responded"] == ["housing-north", "idva-north"]

    # Attendance.
    for agency_id, presence in (
        ("police-north", "attended"),
        ("idva-north", "attended"),
        ("housing-north", "apologies"),
    ):
        status, doc = await staff_call(
            hub,
            http,
            "POST",
            f"/api/v1/meetings/{mid}/attendance",
            nora,
            {"agency": agency_id, "status": presence},
        )
        assert status == 200, doc
    assert_problem(
        *await staff_call(
            hub,
            http,
            "POST",
            f"/api/v1/meetings/{mid}/attendance",
            nora,
            {"agency": "idva-north", "status": "late"},
        ),
        400,
        "malformed",
    )

    # An action for housing, already overdue: the notice carries only what policy allows.
    due = (TODAY - timedelta(days=1)).isoformat()
    action_body = {
        "meeting": mid,
        "case_ref": refs[0],
        "owner": "housing-north",
        "description": "Fit a door alarm at the victim's home",
        "due_date": due,
    }
    assert_problem(
        *await staff_call(hub, http, "POST", "/api/v1/actions", dpo, action_body), 403, "forbidden"
    )
    status, doc = await staff_call(hub, http, "POST", "/api/v1/actions", nora, action_body)
    assert status == 201 and doc["notice"]["outcome"] == "disclosed", doc
    action_id = doc["action"]["id"]
    housing = agents["housing-north"]
    notices = [
        m for m in opened(hub, housing, await housing.poll()) if m.message_type == "action_notice"
    ]
    assert len(notices) == 1 and notices[0].action.action_id == action_id
    assert notices[0].victim is not None and notices[0].victim.date_of_birth is None

    # Overdue: chased once today, not twice.
    status, doc = await staff_call(hub, http, "GET", "/api/v1/actions?overdue=true", nora)
    assert [a["id"] for a in doc["actions"]] == [action_id]
    status, doc = await staff_call(hub, http, "POST", "/api/v1/actions/chase", nora, {})
    assert [c["action_id"] for c in doc["chased"]] == [action_id], doc
    status, doc = await staff_call(hub, http, "POST", "/api/v1/actions/chase", nora, {})
    assert doc["chased"] == []
    chases = [m for m in opened(hub, housing, await housing.poll()) if m.message_type == "notice"]
    assert len(chases) == 1 and action_id in chases[0].text and "Number" not in chases[0].text

    # Updates: the owner (a reason is due: it is overdue), not another agency; the coordinator.
    update = ActionUpdate(
        action_id=action_id,
        case_ref=refs[0],
        status="in_progress",
        updated_at=datetime.now(UTC),
        note="Contractor booked",
    )
    assert_problem(*await inbound(hub, housing, update, refs[0]), 400, "reason-required")
    assert_problem(*await inbound(hub, police, update, refs[0]), 403, "not-action-owner")
    with_reason = update.model_copy(update={"reason": "contractor delayed"})
    status, doc = await inbound(hub, housing, with_reason, refs[0])
    assert status == 202 and doc["result"]["status"] == "in_progress", doc
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        f"/api/v1/actions/{action_id}/updates",
        nora,
        {"status": "completed", "note": "Alarm fitted"},
    )
    assert status == 200 and doc["action"]["status"] == "completed", doc
    status, doc = await staff_call(
        hub, http, "POST", f"/api/v1/actions/{action_id}/updates", nora, {"status": "open"}
    )
    assert_problem(status, doc, 409, "conflict")
    # An action's free text is case data: a DPO lists actions without it, reads no history.
    status, doc = await staff_call(hub, http, "GET", "/api/v1/actions", dpo)
    assert status == 200 and [a["id"] for a in doc["actions"]] == [action_id]
    assert doc["actions"][0]["description"] == "" and doc["actions"][0]["reason"] is None
    assert_problem(
        *await staff_call(hub, http, "GET", f"/api/v1/actions/{action_id}", dpo), 403, "forbidden"
    )
    status, doc = await staff_call(hub, http, "GET", f"/api/v1/actions/{action_id}", nora)
    assert [(h["status"], h["by"]) for h in doc["history"]] == [
        ("open", "coordinator:nora"),
        ("in_progress", "agency:housing-north"),
        ("completed", "coordinator:nora"),
    ]
    assert doc["history"][1]["reason"] == "contractor delayed"

    # Minutes: only to those who attended; the cases are heard; the meeting is closed.
    minutes = {"items": [{"case_ref": refs[0], "discussion": "Safety plan agreed."}]}
    assert_problem(
        *await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/minutes", dpo, minutes),
        403,
        "forbidden",
    )
    status, doc = await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{mid}/minutes", nora, minutes
    )
    assert status == 200, doc
    assert {m["agency"]: m["outcome"] for m in doc["minutes"]} == {
        "idva-north": "disclosed",
        "police-north": "disclosed",
    }
    got = [m for m in opened(hub, police, await police.poll()) if m.message_type == "minutes"]
    assert len(got) == 1 and got[0].attended == ("idva-north", "police-north")
    item = next(i for i in got[0].items if i.case_ref == refs[0])
    assert item.discussion == "Safety plan agreed." and item.actions[0].action_id == action_id
    assert not [
        m for m in opened(hub, housing, await housing.poll()) if m.message_type == "minutes"
    ]
    status, doc = await staff_call(hub, http, "GET", "/api/v1/cases?area=north&status=heard", nora)
    assert sorted(c["ref"] for c in doc["cases"]) == sorted(refs)
    assert_problem(
        *await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {}),
        409,
        "meeting-closed",
    )


async def test_carried_forward_actions_reach_the_next_agenda(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    world = await setup(hub, http, make_agency)
    nora, refs, police = world["tokens"]["nora"], world["refs"], world["agents"]["police-north"]
    ids = []
    for days in (7, 21):
        status, doc = await staff_call(
            hub,
            http,
            "POST",
            "/api/v1/meetings",
            nora,
            {"area": "north", "date": (TODAY + timedelta(days=days)).isoformat()},
        )
        ids.append(doc["id"])
    first, second = ids
    await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{first}/cases", nora, {"case_ref": refs[0]}
    )
    await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{second}/cases", nora, {"case_ref": refs[1]}
    )
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        "/api/v1/actions",
        nora,
        {
            "meeting": first,
            "case_ref": refs[0],
            "owner": "police-north",
            "description": "Check bail conditions",
            "due_date": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    assert status == 201, doc
    action_id = doc["action"]["id"]
    await police.poll()
    status, doc = await staff_call(
        hub,
        http,
        "POST",
        f"/api/v1/actions/{action_id}/updates",
        nora,
        {"status": "in_progress", "reason": "awaiting the court listing"},
    )
    assert status in (200, 201), doc
    status, doc = await staff_call(
        hub, http, "POST", f"/api/v1/meetings/{second}/publish", nora, {}
    )
    assert status == 200, doc
    envelopes = await police.poll()
    agenda = next(m for m in opened(hub, police, envelopes) if m.message_type == "agenda")
    assert [i.case_ref for i in agenda.items] == [refs[1]]
    assert [(a.action_id, a.status, a.reason) for a in agenda.carried_forward] == [
        (action_id, "in_progress", "awaiting the court listing")
    ]


async def test_bad_input_is_refused(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    world = await setup(hub, http, make_agency)
    nora = world["tokens"]["nora"]
    for body in (
        {"area": "north"},
        {"area": "north", "date": "tomorrow"},
        {"area": "north", "date": "2026-13-40"},
        {"area": "north", "date": "2027-01-01", "location": "x" * 101},
        {"area": "north", "date": "2027-01-01", "extra": 1},
        {"area": ["north"], "date": "2027-01-01"},
        [],
        "north",
    ):
        status, doc = await staff_call(hub, http, "POST", "/api/v1/meetings", nora, body)
        assert status == 400, (body, doc)
    assert_problem(
        *await staff_call(hub, http, "GET", "/api/v1/meetings/not-a-ulid", nora), 404, "not-found"
    )
    status, doc = await staff_call(
        hub, http, "POST", "/api/v1/meetings", nora, {"area": "north", "date": "2027-01-01"}
    )
    mid = doc["id"]
    for body in ({"case_ref": "'; DROP TABLE cases; --"}, {"case_ref": "M-2026-" + "9" * 200}):
        status, doc = await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, body
        )
        assert status == 400, doc
    assert_problem(
        *await staff_call(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {}),
        400,
        "malformed",
    )
    for minutes in (
        {"items": "x"},
        {"items": [{"case_ref": "M-2026-0001"}]},
        {"items": [{"case_ref": "M-2026-0001", "discussion": "x" * 20_001}]},
        {"items": [{"case_ref": "M-2026-0001", "discussion": "a"}] * 501},
        {"items": [], "more": 1},
    ):
        status, doc = await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/minutes", nora, minutes
        )
        assert status in (400, 413), doc
    status, doc = await staff_call(hub, http, "GET", "/api/v1/actions?overdue=maybe", nora)
    assert_problem(status, doc, 400, "malformed")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/actions?status=done", nora)
    assert_problem(status, doc, 400, "malformed")
    assert date.fromisoformat(TODAY.isoformat()) == TODAY


async def test_the_housekeeping_loop_chases_overdue_actions(tmp_path, http) -> None:  # type: ignore[no-untyped-def]
    async with running_hub(tmp_path, expiry_sweep_seconds=0.2) as hub:

        async def make(agency_id: str, kind: str) -> Agent:
            agent = Agent(hub, http, agency_id)
            status, doc = await enrol(agent, await invite(hub, http, agency_id, kind))
            assert status == 201, doc
            body = {"identity_fingerprint": agent.identity.fingerprint}
            path = f"/api/v1/agencies/{agency_id}/approve"
            assert (await staff_call(hub, http, "POST", path, body=body))[0] == 200
            return agent

        world = await setup(hub, http, make)
        nora, ref, police = (
            world["tokens"]["nora"],
            world["refs"][0],
            world["agents"]["police-north"],
        )
        status, doc = await staff_call(
            hub,
            http,
            "POST",
            "/api/v1/meetings",
            nora,
            {"area": "north", "date": TODAY.isoformat()},
        )
        mid = doc["id"]
        await staff_call(
            hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, {"case_ref": ref}
        )
        status, doc = await staff_call(
            hub,
            http,
            "POST",
            "/api/v1/actions",
            nora,
            {
                "meeting": mid,
                "case_ref": ref,
                "owner": "police-north",
                "description": "Review bail",
                "due_date": (TODAY - timedelta(days=2)).isoformat(),
            },
        )
        assert status == 201, doc
        chases: list[Message] = []
        for _ in range(30):
            envelopes = await police.poll(wait=0.5)
            chases += [m for m in opened(hub, police, envelopes) if m.message_type == "notice"]
            await police.ack(envelopes)
            if chases:
                break
        assert len(chases) == 1 and doc["action"]["id"] in chases[0].text
        await asyncio.sleep(0.6)  # several more sweeps: no second chase today
        assert not await police.poll()
