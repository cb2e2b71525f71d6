"""The referral and amendment forms in a real Chromium: "Add another child" adds a row
without JavaScript, Enter in a field still takes the referral (not another child row),
the referring agency is chosen from a list, the amendment form opens filled in and
amends; axe finds no serious or critical violation on either form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_web_browser import VICTIM_DOB, check, sign_in


def test_the_referral_form_adds_children_and_enter_takes_the_referral(
    browser: Any, web_hub: Any, screenshots: Path
) -> None:
    context = browser.new_context(base_url=web_hub.url, bypass_csp=True, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "casey", "/dashboard")
        page.goto("/referrals/new")
        page.get_by_label("Referring agency").select_option("police-north")
        page.locator("#victim\\.name").fill("Enter Keypress")
        page.locator("#perpetrator\\.name").fill("Other Keypress")
        page.locator("#child0\\.name").fill("Kid Keypress")
        assert page.locator("#child3\\.name").count() == 0
        page.get_by_role("button", name="Add another child").click()
        page.wait_for_selector("#child3\\.name")  # a fourth row; what was typed is kept
        assert page.locator("#victim\\.name").input_value() == "Enter Keypress"
        assert page.locator("#child0\\.name").input_value() == "Kid Keypress"
        page.get_by_role("radio", name="Professional judgement").check()
        page.locator("#rationale").fill("judgement")
        page.get_by_label("Sought and given").check()
        page.locator("#child0\\.date_of_birth").fill(VICTIM_DOB)
        page.locator("#victim\\.name").press("Enter")  # the form's own button, not a row
        page.wait_for_url("**/cases/*?new=1")
        ref = page.url.rsplit("/", 1)[1].split("?")[0]

        page.get_by_role("link", name="Amend the referral").click()
        page.wait_for_url(f"**/cases/{ref}/amend")
        assert page.locator("#victim\\.name").input_value() == "Enter Keypress"
        assert page.get_by_label("Referring agency").input_value() == "police-north"
        page.locator("#victim\\.gender").fill("female")
        page.get_by_role("button", name="Amend the referral").click()
        page.wait_for_url(f"**/cases/{ref}?done=amended")
        assert "victim.gender" in page.content()
    finally:
        context.close()
    # axe (which needs JavaScript) on both forms, with a fourth child row shown
    context = browser.new_context(base_url=web_hub.url, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "casey", "/dashboard")
        page.goto("/referrals/new")
        page.get_by_role("button", name="Add another child").click()
        page.wait_for_selector("#child3\\.name")
        check(page, screenshots, "referral-children", full=False)
        page.goto(f"/cases/{ref}/amend")
        check(page, screenshots, "referral-amend", full=False)
    finally:
        context.close()
