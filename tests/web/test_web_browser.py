"""The web UI in a real headless Chromium against a real hub on loopback.

A coordinator signs in, refers a case, lists it, publishes the agenda (a real agency
client receives it), records attendance and an action; a repeat referral brings that
action plan back. A DPO signs in, finds the disclosure, checks its proof, verifies the
log and downloads a subject access report. Every page is checked with axe-core (no
serious or critical violation) and saved as a screenshot for the README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agency_helpers import FAST, PASS
from webkit import AXE, PASSWORD, HubThread, meeting_date

from agency_client.rotation import KeyRotation
from agency_client.runner import Runner, RunnerSettings
from agency_client.sinks import FolderSink

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
VICTIM, PERPETRATOR, VICTIM_DOB = "Wendy Browser", "Mark Browser", "1985-03-04"


def check(page: Any, screenshots: Path, name: str, *, full: bool = True) -> None:
    """axe-core on the page as it is now (no serious or critical violation); a screenshot."""
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
    assert not bad, f"{name}: {bad}"
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full)


def sign_in(page: Any, user: str, landing: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{landing}")


def refer(page: Any, *, yes: int, child: bool = True) -> str:
    """Fill the referral form; the new case's reference."""
    page.goto("/referrals/new")
    page.get_by_label("Referring agency").select_option("police-north")
    page.locator("#victim\\.name").fill(VICTIM)
    page.locator("#victim\\.date_of_birth").fill(VICTIM_DOB)
    page.locator("#perpetrator\\.name").fill(PERPETRATOR)
    page.locator("#perpetrator\\.date_of_birth").fill("1983-07-08")
    if child:
        page.locator("#child0\\.name").fill("Kit Browser")
        page.locator("#child0\\.date_of_birth").fill("2018-01-01")
    for n in range(1, yes + 1):
        page.locator(f'input[name="q{n}"][value="yes"]').check()
    page.get_by_label("Visible high risk").check()
    page.get_by_label("Not sought").check()
    page.get_by_label("Exception relied on").fill("risk of serious harm")
    page.locator('input[name="safe_contact.safe_to_contact"][value="yes"]').check()
    page.locator("#safe_contact\\.phone").fill("07700 900456")
    page.get_by_role("button", name="Take the referral").click()
    page.wait_for_url("**/cases/*?new=1")
    return str(page.url.rsplit("/", 1)[1].split("?")[0])


async def _receive(hub: HubThread, inbox: Path) -> list[dict[str, Any]]:
    agency = hub.seeded.agencies["police-north"]
    hub_key = agency.store.hub_key()
    assert hub_key is not None
    rotation = KeyRotation(agency.client, agency.store, agency.data.keys, PASS, strength=FAST)
    sink = FolderSink(inbox)
    runner = Runner(agency.client, agency.store, rotation, hub_key, sink, settings=RunnerSettings())
    report = await runner.cycle(wait=5)
    assert report is not None and report.acknowledged >= 1
    return [json.loads(p.read_text()) for p in sorted(inbox.iterdir())]


def test_a_marac_cycle_in_the_browser(
    browse: Any, web_hub: HubThread, screenshots: Path, tmp_path: Path
) -> None:
    page = browse.new_page()
    page.goto("/dashboard")
    page.wait_for_url("**/login?next=/dashboard")
    check(page, screenshots, "login")
    sign_in(page, "casey", "/dashboard")

    # A referral: the score is counted as the boxes are ticked (JavaScript is on).
    page.goto("/referrals/new")
    for n in range(1, 4):
        page.locator(f'input[name="q{n}"][value="yes"]').check()
    assert page.locator("#yes-count").inner_text() == "3"
    check(page, screenshots, "referral", full=False)
    ref = refer(page, yes=15)
    assert "15 “yes” of 24" in page.content()
    check(page, screenshots, "case")

    # A meeting: schedule, list the case, preview, publish.
    page.goto("/meetings")
    page.get_by_label("Date").fill(meeting_date(14).isoformat())
    page.get_by_label("Location").fill("Northtown Civic Centre, room 2")
    page.get_by_role("button", name="Schedule").click()
    page.wait_for_url("**/meetings/*?done=scheduled")
    meeting_url = page.url.split("?")[0]
    page.get_by_role("button", name=f"Add {ref} to the agenda").click()
    page.wait_for_url("**?done=added*")
    assert page.get_by_role("link", name=ref).count() >= 1
    page.get_by_text("police: police-north").click()  # open the preview of the police
    assert VICTIM in page.locator("details", has_text="police: police-north").inner_text()
    page.get_by_role("button", name="Publish the agenda").click()
    page.wait_for_selector("text=What was sent")
    assert "police-north: agenda disclosed" in page.content()

    # The real agency client receives the agenda, sealed to it, and acknowledges it.
    received = web_hub.run(_receive(web_hub, tmp_path / "inbox"))
    assert any(ref in json.dumps(m) and VICTIM in json.dumps(m) for m in received)

    # Attendance and an action.
    page.goto(meeting_url)
    page.get_by_label("police-north service (police-north)").select_option("attended")
    page.get_by_label("idva-north service (idva-north)").select_option("apologies")
    page.get_by_role("button", name="Save attendance").click()
    page.wait_for_url("**done=attendance*")
    page.get_by_label("Case", exact=True).select_option(ref)
    page.get_by_label("Owning agency").select_option("police-north")
    page.get_by_label("Due", exact=True).fill(meeting_date(28).isoformat())
    page.get_by_label("What is to be done").fill("Flag the address for urgent response")
    page.get_by_role("button", name="Record the action").click()
    page.wait_for_url("**done=action*")
    assert "Flag the address for urgent response" in page.content()
    check(page, screenshots, "meeting")

    page.goto("/actions?agency=police-north")
    check(page, screenshots, "actions")
    page.get_by_role("link", name="Flag the address for urgent response").first.click()
    page.wait_for_url("**/actions/*")
    check(page, screenshots, "action")
    page.goto("/agencies")
    check(page, screenshots, "agencies")
    page.goto("/meetings")
    check(page, screenshots, "meetings")

    # The minutes go only to the agency that attended; sending closes the meeting.
    page.goto(meeting_url)
    page.get_by_label(f"Discussion of {ref}").fill("Safety plan agreed; police to flag.")
    page.get_by_role("button", name="Send the minutes and close the meeting").click()
    page.wait_for_url("**done=minutes*")
    assert "the meeting is closed" in page.content()
    assert page.get_by_role("button", name="Publish the agenda").count() == 0

    # The same victim and perpetrator again: a repeat, with the previous action plan.
    again = refer(page, yes=16, child=False)
    assert again != ref
    warning = page.get_by_role("alert").inner_text()
    assert "Repeat referral" in warning and ref in warning
    assert "Flag the address for urgent response" in warning
    check(page, screenshots, "repeat")
    page.goto("/dashboard")
    check(page, screenshots, "dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")

    # The DPO: find the disclosure, its proof, verify the log, a subject access report.
    sign_in(page, "dana", "/log")
    page.get_by_label("Agency").fill("police-north")
    page.get_by_label("Purpose").fill("agenda")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tbody tr", has_text=ref).first
    assert "cda-s115" in row.inner_text() or "v" in row.inner_text()
    assert "receipt" in row.inner_text()
    check(page, screenshots, "log")
    row.get_by_role("link").first.click()
    page.wait_for_url("**/log/entries/*")
    assert "The proof checks out" in page.content()
    check(page, screenshots, "log-entry")

    page.goto("/log/integrity")
    check(page, screenshots, "integrity")
    page.get_by_role("button", name="Verify the whole log now").click()
    page.wait_for_selector("#verify-result", timeout=30_000)
    assert "The log verifies" in page.locator("#verify-result").inner_text()
    check(page, screenshots, "verify")

    page.goto("/log/charts")
    assert page.locator("svg#weekly rect").count() >= 1
    check(page, screenshots, "charts")

    page.goto("/log/subject")
    page.get_by_label("Full name").fill(VICTIM)
    page.get_by_label("Date of birth").fill(VICTIM_DOB)
    page.get_by_role("button", name="Make the report").click()
    report = page.locator("table").first.inner_text()
    assert "police-north" in report and "agenda" in report
    views = page.locator("table").nth(1).inner_text()  # who viewed her case: casey's page
    assert "coordinator:casey" in views and "web" in views
    check(page, screenshots, "subject-access")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("# signed tree head:")
    assert "police-north" in csv_text and ref in csv_text and VICTIM not in csv_text

    page.goto("/log/reviews")
    check(page, screenshots, "reviews")
    page.goto("/retention")
    assert ref in page.content()
    check(page, screenshots, "retention")


def test_the_referral_works_without_javascript(browser: Any, web_hub: HubThread) -> None:
    context = browser.new_context(base_url=web_hub.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "casey", "/dashboard")
        page.goto("/referrals/new")
        assert page.locator("#live-score").is_hidden()
        page.get_by_label("Referring agency").select_option("police-north")
        page.locator("#victim\\.name").fill("Nadia Noscript")
        page.locator("#perpetrator\\.name").fill("Ned Noscript")
        for n in range(1, 12):
            page.locator(f'input[name="q{n}"][value="yes"]').check()
        page.get_by_role("radio", name="Professional judgement").check()
        page.locator("#rationale").fill("Escalating threats reported by the IDVA")
        page.get_by_label("Sought and given").check()
        page.get_by_role("button", name="Take the referral").click()
        page.wait_for_url("**/cases/*?new=1")
        text = page.content()
        assert "Referral taken." in text and "11 “yes” of 24" in text and "high" in text
    finally:
        context.close()
