"""The disclosure rules of ``hub.app.disclosures`` and ``hub.app.notices``, through each door
that offers them (API, web dashboard, CLI ``--by``): a recipient serves the case's area, a
notice cites only the sender's areas' cases, a coordinator lists only their areas' holds,
and a hold or an override is approved by a second person unless the area turned four eyes
off. Every refusal leaves the outbox, the mailboxes and the log as they were."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from disclosurekit import JUSTIFICATION, World, world_on


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """The two-area hub (tests/app/disclosurekit.py) on each storage engine."""
    seeding = world_on(request.param, tmp_path)
    try:
        seeded = await seeding.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield seeded
    finally:
        await seeding.__aexit__(None, None, None)


def problem(status: int, doc: object, code: str) -> None:
    assert status == 403, doc
    assert isinstance(doc, dict) and doc["type"] == f"https://marac-hub.org/problems/{code}", doc


async def nothing_sent(world: World, before: tuple[int, int], *agencies: str) -> None:
    """Nothing queued or logged since ``before``; nothing in the agencies' mailboxes."""
    assert await world.state() == before
    for agency_id in agencies:
        assert await world.poll(agency_id) == []


async def test_north_coordinator_cannot_send_north_case_to_south_only_agency(
    world: World,
) -> None:
    before = await world.state()
    path = f"/api/v1/cases/{world.north_ref}/extracts"
    for who in ("nora", "admin"):  # an admin too: the rule is the case's, not the sender's
        status, doc = await world.call("POST", path, who, {"agency_id": "refuge-south"})
        problem(status, doc, "recipient-outside-area")
    code, _, err = await world.cli(
        "extract", world.north_ref, "--to", "refuge-south", "--by", "nora"
    )
    assert code == 1 and "recipient-outside-area" in err and err.count("\n") == 1, err
    await nothing_sent(world, before, "refuge-south")

    # To an agency serving the case's area it goes, and only there.
    status, doc = await world.call("POST", path, "nora", {"agency_id": "police-north"})
    assert status == 202 and doc["status"] == "sent", doc
    (envelope,) = await world.poll("police-north")
    assert world.opened("police-north", envelope)["victim"]["name"] == "Alice Smith"
    assert (await world.entries())[-1].actor == "coordinator:nora"


async def test_notice_citing_another_areas_case_is_refused(world: World) -> None:
    before = await world.state()
    for body in (
        {"to": "all", "text": "Strategy meeting at 10:00", "case_ref": world.south_ref},
        {"to": "refuge-south", "text": "Call the IDVA", "case_ref": world.south_ref},
    ):
        status, doc = await world.call("POST", "/api/v1/notices", "nora", body)
        problem(status, doc, "case-outside-area")
    code, _, err = await world.cli(
        "send", "--all", "--text", "Strategy meeting", "--case-ref", world.south_ref, "--by", "nora"
    )
    assert code == 1 and "case-outside-area" in err, err
    await nothing_sent(world, before, "refuge-south", "cafcass-south", "police-north")


async def test_a_notice_about_a_case_goes_only_to_agencies_serving_its_area(
    world: World,
) -> None:
    before = await world.state()
    body = {"to": "refuge-south", "text": "Case discussed", "case_ref": world.north_ref}
    for who in ("nora", "admin"):
        status, doc = await world.call("POST", "/api/v1/notices", who, body)
        problem(status, doc, "recipient-outside-area")
    await nothing_sent(world, before, "refuge-south")

    status, doc = await world.call("POST", "/api/v1/notices", "admin", body | {"to": "all"})
    assert status == 202, doc
    assert sorted(e["to"] for e in doc["envelopes"]) == [
        "cafcass-north",
        "housing-north",
        "police-north",
    ]
    assert await world.poll("refuge-south") == []
    entries = (await world.entries())[-3:]
    assert {e.case_refs for e in entries} == {(world.north_ref,)}
    assert {e.actor for e in entries} == {"admin:admin"}


async def test_a_coordinators_notice_reaches_only_agencies_of_their_areas(world: World) -> None:
    before = await world.state()
    status, doc = await world.call(
        "POST", "/api/v1/notices", "nora", {"to": "refuge-south", "text": "Hello"}
    )
    problem(status, doc, "agency-outside-area")
    code, _, err = await world.cli("send", "--to", "refuge-south", "--text", "Hi", "--by", "nora")
    assert code == 1 and "agency-outside-area" in err, err
    await nothing_sent(world, before, "refuge-south")

    status, doc = await world.call("POST", "/api/v1/notices", "sam", {"to": "all", "text": "S"})
    assert status == 202 and sorted(e["to"] for e in doc["envelopes"]) == [
        "cafcass-south",
        "refuge-south",
    ]
    code, out, err = await world.cli("send", "--all", "--text", "N", "--by", "nora")
    assert code == 0, err
    assert sorted(line.split()[-1] for line in out.splitlines()) == [
        "cafcass-north",
        "housing-north",
        "police-north",
    ]
    status, doc = await world.call("POST", "/api/v1/notices", "admin", {"to": "all", "text": "A"})
    assert status == 202 and len(doc["envelopes"]) == 5
    status, doc = await world.call("POST", "/api/v1/notices", "dee", {"to": "all", "text": "D"})
    assert status == 403, doc


async def test_held_list_shows_a_coordinator_only_their_areas_holds(world: World) -> None:
    north = await world.hold("nora", world.north_ref, "cafcass-north")
    south = await world.hold("sam", world.south_ref, "cafcass-south")
    for who, expected in (
        ("nora", [north]),
        ("nick", [north]),
        ("sam", [south]),
        ("dee", [north, south]),
        ("admin", [north, south]),
    ):
        status, doc = await world.call("GET", "/api/v1/held", who)
        assert status == 200 and [h["id"] for h in doc["held"]] == expected, (who, doc)
    status, doc = await world.call("GET", "/api/v1/held", "sam")
    assert doc["held"][0]["areas"] == ["south"]

    sam = await world.web("sam")
    _, page = await sam.request("GET", "/dashboard")
    assert f"/held/{south}/reject" in page and north not in page  # his own: no approve
    nick = await world.web("nick")
    _, page = await nick.request("GET", "/dashboard")
    assert f"/held/{north}/approve" in page and south not in page

    code, out, err = await world.cli("held", "list", "--by", "sam")
    assert code == 0 and south in out and north not in out, (out, err)
    code, out, err = await world.cli("held", "list", "--by", "dee")
    assert code == 0 and south in out and north in out, (out, err)


async def test_coordinator_cannot_approve_the_hold_they_asked_for(world: World) -> None:
    by_api, by_web, by_cli = [
        await world.hold("nora", world.north_ref, "cafcass-north") for _ in range(3)
    ]
    before = await world.state()
    status, doc = await world.call("POST", f"/api/v1/held/{by_api}/approve", "nora")
    problem(status, doc, "self-approval")
    nora = await world.web("nora")
    _, page = await nora.request("GET", "/dashboard")  # her own: reject, no approve
    assert f"/held/{by_web}/reject" in page and f"/held/{by_web}/approve" not in page
    assert "another coordinator of the area approves it" in page
    status, page = await nora.post(f"/held/{by_web}/approve")
    assert status == 403 and "second person" in page
    code, _, err = await world.cli("held", "approve", by_cli, "--by", "nora")
    assert code == 1 and "self-approval" in err, err
    sam = await world.web("sam")  # another area's coordinator may not decide it at all
    assert (await sam.post(f"/held/{by_web}/approve"))[0] == 403
    await nothing_sent(world, before, "cafcass-north")

    # A second coordinator of the area approves, through each door.
    status, doc = await world.call("POST", f"/api/v1/held/{by_api}/approve", "nick")
    assert status == 200 and doc["status"] == "sent", doc
    nick = await world.web("nick")
    assert (await nick.post(f"/held/{by_web}/approve"))[0] == 303
    code, out, err = await world.cli("held", "approve", by_cli, "--by", "nick")
    assert code == 0 and "queued" in out, err
    assert len(await world.poll("cafcass-north")) == 3
    entries = await world.entries()
    approvals = [e for e in entries if e.kind == "review" and e.status == "approved"]
    assert [(e.actor, e.requested_by) for e in approvals] == [
        ("coordinator:nick", "coordinator:nora")
    ] * 3
    sent = [e for e in entries if e.kind == "disclosure"]
    assert [e.actor for e in sent] == ["coordinator:nick"] * 3


async def test_coordinator_cannot_approve_their_own_override(world: World) -> None:
    widen = {"widen": ["victim.date_of_birth"], "justification": JUSTIFICATION}
    held = await world.hold("nora", world.north_ref, "housing-north", **widen)
    assert await world.poll("housing-north") == []  # held, not sent
    code, out, err = await world.cli(
        "extract",
        world.north_ref,
        "--to",
        "housing-north",
        "--widen",
        "victim.date_of_birth",
        "--justification",
        JUSTIFICATION,
        "--by",
        "nora",
    )
    assert code == 0 and out.startswith("held "), (out, err)
    by_cli = out.split()[1]
    before = await world.state()
    status, doc = await world.call("POST", f"/api/v1/held/{held}/approve", "nora")
    problem(status, doc, "self-approval")
    code, _, err = await world.cli("held", "approve", by_cli, "--by", "nora")
    assert code == 1 and "self-approval" in err, err
    await nothing_sent(world, before, "housing-north")

    status, doc = await world.call("POST", f"/api/v1/held/{held}/approve", "nick")
    assert status == 200 and doc["status"] == "sent", doc
    (envelope,) = await world.poll("housing-north")
    assert world.opened("housing-north", envelope)["victim"]["date_of_birth"] == "1990-04-02"
    entries = await world.entries()
    override = next(e for e in entries if e.kind == "override")
    approval, disclosure = entries[-2:]
    assert override.actor == "coordinator:nora" and override.fields == ("victim.date_of_birth",)
    assert (approval.kind, approval.status, approval.actor, approval.requested_by) == (
        "review",
        "approved",
        "coordinator:nick",
        "coordinator:nora",
    )
    assert disclosure.kind == "disclosure" and disclosure.actor == "coordinator:nick"
    assert disclosure.override is not None and disclosure.override.id in {
        e.override.id for e in entries if e.kind == "override" and e.override
    }


async def test_four_eyes_off_lets_the_requester_approve_and_sends_overrides_at_once(
    world: World,
) -> None:
    held = await world.hold("nora", world.north_ref, "cafcass-north")
    status, doc = await world.call("PUT", "/api/v1/areas/north/four-eyes", "nora", {"on": False})
    assert status == 403, doc  # an admin's decision
    status, doc = await world.call("PUT", "/api/v1/areas/north/four-eyes", body={"on": False})
    assert status == 200 and doc == {"area": "north", "four_eyes": False}, doc
    switched = (await world.entries())[-1]
    assert (switched.purpose, switched.status, switched.actor) == (
        "four-eyes",
        "off",
        "admin:admin",
    )

    status, doc = await world.call("POST", f"/api/v1/held/{held}/approve", "nora")
    assert status == 200 and doc["status"] == "sent", doc
    web_held = await world.hold("nora", world.north_ref, "cafcass-north")
    nora = await world.web("nora")
    assert (await nora.post(f"/held/{web_held}/approve"))[0] == 303
    assert len(await world.poll("cafcass-north")) == 2

    path = f"/api/v1/cases/{world.north_ref}/extracts"
    body = {
        "agency_id": "housing-north",
        "widen": ["victim.date_of_birth"],
        "justification": JUSTIFICATION,
    }
    status, doc = await world.call("POST", path, "nora", body)
    assert status == 202 and doc["status"] == "sent", doc
    override, disclosure = (await world.entries())[-2:]
    assert override.kind == "override" and disclosure.override == override.override

    # The CLI turns it on again; then the requester may not approve (only the CLI's admin).
    code, out, err = await world.cli("held", "four-eyes", "north", "on")
    assert code == 0 and "four eyes on" in out, err
    code, _, err = await world.cli("held", "four-eyes", "north", "off", "--by", "nora")
    assert code == 1 and "forbidden" in err, err
    widen = {k: body[k] for k in ("widen", "justification")}
    cli_held = await world.hold("nora", world.north_ref, "housing-north", **widen)
    code, _, err = await world.cli("held", "approve", cli_held, "--by", "nora")
    assert code == 1 and "self-approval" in err, err


async def test_anyone_who_may_decide_a_hold_may_reject_it_and_is_logged(world: World) -> None:
    by_api, by_web, by_cli = [
        await world.hold("nora", world.north_ref, "cafcass-north") for _ in range(3)
    ]
    status, doc = await world.call("POST", f"/api/v1/held/{by_api}/reject", "nora")
    assert status == 200 and doc["status"] == "rejected", doc
    status, doc = await world.call("POST", f"/api/v1/held/{by_web}/reject", "sam")
    assert status == 403, doc  # not of the hold's area
    nora = await world.web("nora")
    assert (await nora.post(f"/held/{by_web}/reject"))[0] == 303
    code, out, err = await world.cli("held", "reject", by_cli, "--by", "nick")
    assert code == 0 and "rejected" in out, err
    assert await world.poll("cafcass-north") == []
    rejections = [e for e in await world.entries() if e.status == "rejected"]
    assert [(e.actor, e.requested_by) for e in rejections] == [
        ("coordinator:nora", "coordinator:nora"),
        ("coordinator:nora", "coordinator:nora"),
        ("coordinator:nick", "coordinator:nora"),
    ]
