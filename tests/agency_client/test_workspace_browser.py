"""The agency workspace in a real headless Chromium against a real hub on loopback.

A coordinator refers a case, lists it, publishes the agenda (the agency receives the
agenda and a research request) and gives the agency an action. The DMO opens the
workspace's one-time link, unlocks it, checks for new messages, reads the agenda and the
case, drafts and sends the research response (the hub files it in the meeting's
research), updates the action (the hub records it in the action's history) and reads a
FHIR and a POLE case extract as readable pages. Every page is checked with axe-core: no
serious or critical violation. Screenshots go to a temporary folder, or to
``docs/screenshots`` with ``MARAC_SCREENSHOTS`` set (as ``make screenshots`` does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agency_helpers import FAST, PASS, approve, invite, staff

from agency_client.datadir import DataDir
from agency_client.hub_client import HubClient
from agency_client.workspace.app import serve
from agency_client.workspace.guard import Guard
from hub.adapters.formats.fhir import FhirR4Format
from hub.adapters.formats.pole import PoleFormat
from hub.crypto.sealing import open_envelope, seal
from hub.protocol.messages import BasisRef, CaseExtract, PersonDetails, Rendered

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from webkit import AXE, CHROMIUM, HubThread

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AGENCY = "police-north"
VICTIM, PERPETRATOR = "Rowena Brightwater", "Garrick Brightwater"


@dataclass
class World:
    hub: HubThread
    data: DataDir
    coordinator: str
    meeting_id: str
    case_ref: str
    action_id: str
    guard: Guard
    runner: Any


def _referral() -> dict[str, Any]:
    return {
        "referring_agency": AGENCY,
        "referred_on": (date.today() - timedelta(days=6)).isoformat(),
        "victim": {"name": VICTIM, "date_of_birth": "1989-05-14", "address": "12 Mill Lane"},
        "perpetrator": {"name": PERPETRATOR, "date_of_birth": "1986-11-02"},
        "children": [{"name": "Ada Brightwater", "date_of_birth": "2017-03-09"}],
        "risk": {"tool": "DASH", "answers": ["yes"] * 15 + ["no"] * 9},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900321", "times": "weekdays"},
        "perpetrator_must_not_know": True,
    }


async def _build(hub: HubThread, root: Path) -> World:
    """Enrol the agency as the CLI would, refer, publish, assign an action; serve the
    workspace on the hub thread's loop."""
    http, running = hub.http, hub.hub
    data = DataDir(root / AGENCY)
    identity, key = data.keys.create(PASS, strength=FAST)
    now = datetime.now(UTC)
    enrolment = await HubClient.enrol(
        running.url, await invite(http, running, AGENCY, "police"), identity, key.public, now
    )
    with data.open_store(identity, create=True) as store:
        store.record_enrolment(
            agency_id=AGENCY, hub_url=running.url, hub_key=enrolment.hub_key, key=key, now=now
        )
    await approve(http, running, AGENCY, identity.fingerprint)
    await staff(http, running, "POST", "/api/v1/areas", {"id": "north", "name": "Northtown"})
    await staff(http, running, "POST", "/api/v1/areas/north/agencies", {"agency": AGENCY})
    nora = await running.add_user("nora", "coordinator")
    await staff(http, running, "POST", "/api/v1/areas/north/users", {"user": "nora"})
    case = await staff(
        http, running, "POST", "/api/v1/cases", {"area": "north", "referral": _referral()}, nora
    )
    ref = case["case_ref"]
    day = (date.today() + timedelta(days=7)).isoformat()
    meeting = await staff(
        http, running, "POST", "/api/v1/meetings", {"area": "north", "date": day}, nora
    )
    mid = meeting["id"]
    await staff(http, running, "POST", f"/api/v1/meetings/{mid}/cases", {"case_ref": ref}, nora)
    await staff(http, running, "POST", f"/api/v1/meetings/{mid}/publish", {}, nora)
    action = await staff(
        http,
        running,
        "POST",
        "/api/v1/actions",
        {
            "meeting": mid,
            "case_ref": ref,
            "owner": AGENCY,
            "description": "Place a marker on the address for an urgent response",
            "due_date": (date.today() + timedelta(days=14)).isoformat(),
        },
        nora,
    )
    guard = Guard(data)
    runner = await serve(guard)
    return World(hub, data, nora, mid, ref, action["action"]["id"], guard, runner)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One hub, one agency, one workspace for the module."""
    hub = HubThread(tmp_path_factory.mktemp("workspace-hub"))
    try:
        built = hub.run(_build(hub, tmp_path_factory.mktemp("agencies")), timeout=120)
        yield built
        hub.run(built.runner.cleanup())
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module (skipped where it or axe-core is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: run `make browser`")
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when a browser runs

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--lang=en-GB"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("MARAC_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def deliver_rendered(world: World) -> list[str]:
    """A FHIR R4 and a POLE case extract for the case, sealed by the hub and stored as the
    runner stores them (as an agency set to those formats receives them); their ids."""
    running = world.hub.hub
    _, store = world.data.unlock(PASS)
    keys = world.data.keys.encryption_keys(PASS)
    key = keys[max(store.key_records(), key=lambda k: k.created_at).fingerprint]
    extract = CaseExtract(
        case_ref=world.case_ref,
        purpose="meeting",
        policy_version="2026.1",
        lawful_basis=BasisRef(id="cda-s115", version=1),
        victim=PersonDetails(subject_id="S-1", role="victim", name=VICTIM),
        perpetrator=PersonDetails(subject_id="S-2", role="perpetrator", name=PERPETRATOR),
        summary="Heard at the December MARAC.",
    )
    ids = []
    with store:
        for fmt, renderer in (("fhir-r4", FhirR4Format()), ("pole", PoleFormat())):
            message = Rendered(
                format=fmt, original_type="case_extract", document=renderer.render(extract)
            )
            envelope = seal(
                message,
                sender=running.keys.identity,
                sender_id="hub",
                recipient_id=AGENCY,
                recipient_key=key.public,
                now=datetime.now(UTC),
                case_ref=world.case_ref,
            )
            opened = open_envelope(envelope, recipient=key, sender=running.keys.identity.public)
            store.add(opened, envelope.digest(), datetime.now(UTC))
            ids.append(envelope.header.id)
    return ids


def check(page: Any, shots: Path, name: str | None = None, *, full: bool = True) -> None:
    """axe-core on the page as it is: no serious or critical violation; a screenshot."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG,
    )
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {bad}"
    if name:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=full)


def test_a_dmo_reads_answers_and_updates_in_the_workspace(
    world: World, chromium: Any, shots: Path
) -> None:
    hub, guard = world.hub, world.guard
    base = f"http://127.0.0.1:{guard.port}"
    # The CSP forbids every script: bypassed only so that the test can inject axe-core.
    context = chromium.new_context(
        base_url=base,
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(guard.link)
        page.wait_for_url("**/unlock")
        check(page, shots)
        page.get_by_label("Key passphrase").fill("not the passphrase")
        page.get_by_role("button", name="Unlock").click()
        assert "does not open" in page.locator("[role=alert]").inner_text()
        check(page, shots)
        page.get_by_label("Key passphrase").fill(PASS)
        page.get_by_role("button", name="Unlock").click()
        page.wait_for_url(base + "/")
        assert "No messages yet" in page.content()

        page.get_by_role("button", name="Check for new messages").click()
        page.wait_for_url(base + "/")
        assert "new messages received" in page.get_by_role("status").inner_text()
        assert world.case_ref in page.content() and VICTIM in page.content()
        check(page, shots, "workspace-inbox")

        page.get_by_role("link", name="Agenda").first.click()
        assert page.get_by_role("heading", name="Agenda").is_visible()
        check(page, shots)

        page.goto(f"/cases/{world.case_ref}")
        content = page.content()
        assert VICTIM in content and "must not know" in content
        assert "Place a marker on the address" in content
        check(page, shots, "workspace-case")

        page.get_by_role("link", name="Write the research response").click()
        page.get_by_label("What is recorded").first.fill(
            "Two call-outs to 12 Mill Lane in March; no arrests."
        )
        page.locator("#item-0-fact").check()
        page.locator("#item-0-recorded_on").fill("2026-03-02")
        page.locator("#item-1-text").fill("The attending officer judges the risk to be rising.")
        page.locator("#item-1-opinion").check()
        page.locator("#withheld-0-description").fill("An intelligence report")
        page.locator("#withheld-0-reason").fill("Disclosure would prejudice a live operation")
        page.get_by_role("button", name="Save draft (and add rows)").click()
        assert "Draft saved" in page.get_by_role("status").inner_text()
        assert page.locator("#item-1-opinion").is_checked()
        check(page, shots, "workspace-research", full=False)
        page.get_by_role("button", name="Send to the hub").click()
        page.wait_for_url(f"**/cases/{world.case_ref}")
        assert "sent to the hub" in page.get_by_role("status").inner_text()
        check(page, shots)

        research = hub.run(
            staff(
                hub.http,
                hub.hub,
                "GET",
                f"/api/v1/meetings/{world.meeting_id}/research",
                token=world.coordinator,
            )
        )
        [filed] = [c for c in research["cases"] if c["case_ref"] == world.case_ref]
        [response] = filed["responses"]
        assert response["agency"] == AGENCY
        assert [f["text"] for f in response["facts"]] == [
            "Two call-outs to 12 Mill Lane in March; no arrests."
        ]
        assert response["withheld"] == [
            {
                "description": "An intelligence report",
                "reason": "Disclosure would prejudice a live operation",
            }
        ]

        page.get_by_role("link", name="Actions").first.click()
        page.wait_for_url("**/actions")
        check(page, shots)
        page.locator(f"#status-{world.action_id}").select_option("in_progress")
        page.locator(f"#note-{world.action_id}").fill("Marker placed on the command system")
        page.get_by_role("button", name="Send update").click()
        page.wait_for_url("**/actions*")
        assert "now in progress" in page.get_by_role("status").inner_text()
        check(page, shots, "workspace-actions")
        history = hub.run(
            staff(
                hub.http,
                hub.hub,
                "GET",
                f"/api/v1/actions/{world.action_id}",
                token=world.coordinator,
            )
        )
        assert history["action"]["status"] == "in_progress"
        assert history["history"][-1]["note"] == "Marker placed on the command system"

        # FHIR and POLE documents are readable pages too (and pass axe-core).
        for envelope_id, heading in zip(
            deliver_rendered(world), ("People (FHIR Patient)", "Persons"), strict=True
        ):
            page.goto(f"/messages/{envelope_id}")
            assert page.get_by_role("heading", name=heading).is_visible()
            assert VICTIM in page.content()
            check(page, shots)

        page.get_by_role("link", name="Keys and log").click()
        check(page, shots, "workspace-keys")
        page.get_by_role("button", name="Lock").click()
        page.wait_for_url("**/unlock")
        assert guard.unlocked is None
    finally:
        context.close()
