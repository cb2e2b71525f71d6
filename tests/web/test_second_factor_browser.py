"""Second factors of staff sign-in in a real headless Chromium (issue 23), against a hub
that requires them of every staff role, as a real hub does by default.

The browser reaches the hub as ``http://localhost:PORT``: ``localhost`` is a WebAuthn
relying party id, so passkeys work without TLS, through Chromium's virtual authenticator
(CDP ``WebAuthn``). TOTP codes are computed here with ``pyotp`` from the secret the
enrolment page shows. Every new page is checked with axe-core.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from test_web_browser import check
from webkit import PASSWORD, HubThread

from hub.service.appkeys import ENGINE
from hub.signin.passwords import LOCK_AFTER, set_password
from hub.testing import REAL_MFA_ROLES

AUTHENTICATOR = {  # a USB security key that verifies its user and is always touched
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": False,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
def mfa_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    """A hub on loopback requiring a second factor of every staff role (no seed data)."""
    hub = HubThread(tmp_path_factory.mktemp("mfa-web"), mfa_required_roles=REAL_MFA_ROLES)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def page(browser: Any, mfa_hub: HubThread) -> Iterator[Any]:
    """A fresh context's page on ``http://localhost:PORT`` (the CSP bypassed only so that
    axe-core can be injected)."""
    yield from _page(browser, mfa_hub, bypass_csp=True)


@pytest.fixture
def strict_page(browser: Any, mfa_hub: HubThread) -> Iterator[Any]:
    """The same, under the hub's Content-Security-Policy (no axe-core)."""
    yield from _page(browser, mfa_hub, bypass_csp=False)


def _page(browser: Any, hub: HubThread, *, bypass_csp: bool) -> Iterator[Any]:
    context = browser.new_context(
        base_url=hub.url.replace("127.0.0.1", "localhost"), bypass_csp=bypass_csp
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def staff(hub: HubThread, role: str = "coordinator") -> str:
    """A new member of staff with the web password ``PASSWORD``."""
    name = f"{role[:5]}-{secrets.token_hex(3)}"

    async def add() -> None:
        await hub.hub.add_user(name, role)
        await set_password(
            hub.hub.app[ENGINE], name, PASSWORD, now=datetime.now(UTC), strength="interactive"
        )

    hub.run(add())
    return name


def step_now() -> int:
    """The current TOTP time-step."""
    return int(datetime.now(UTC).timestamp()) // 30


def next_code(secret: str, after: int) -> str:
    """A code the hub takes now from someone whose last code was for step ``after``."""
    return pyotp.TOTP(secret).generate_otp(max(after + 1, step_now()))


def password(page: Any, name: str) -> None:
    """The first step: name and password."""
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def enrol(
    page: Any, name: str, screenshots: Path | None = None, landing: str = "/dashboard"
) -> tuple[str, list[str], int]:
    """Sign in for the first time and set up an authenticator app from the QR page:
    (secret, recovery codes, the step used). Lands on ``landing``."""
    password(page, name)
    page.wait_for_url("**/login/enrol")
    assert page.locator(".qr svg").is_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    if screenshots is not None:
        check(page, screenshots, "second-factor-enrol")
    step = step_now()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).generate_otp(step))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("#recovery-codes")
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10
    if screenshots is not None:
        check(page, screenshots, "second-factor-codes")
    page.get_by_role("link", name="I have kept them: carry on").click()
    page.wait_for_url(f"**{landing}")
    return secret, codes, step


def sign_out(page: Any) -> None:
    """Sign out from the header."""
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")


def second_step(page: Any, code: str) -> None:
    """Type a code into the second step and send it."""
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_totp_enrolment_from_the_qr_page_then_sign_in_and_a_replayed_code_refused(
    page: Any, mfa_hub: HubThread, screenshots: Path
) -> None:
    name = staff(mfa_hub)
    secret, _, step = enrol(page, name, screenshots)
    sign_out(page)
    code = next_code(secret, step)
    password(page, name)
    page.wait_for_url("**/login/second-factor")
    check(page, screenshots, "second-factor-verify")
    second_step(page, code)
    page.wait_for_url("**/dashboard")
    sign_out(page)
    password(page, name)
    second_step(page, code)  # the same code again: replay
    assert page.get_by_role("alert").inner_text().startswith("That code did not work")
    assert page.url.endswith("/login/second-factor")
    page.goto("/dashboard")
    page.wait_for_url("**/login?next=/dashboard")


def test_a_recovery_code_signs_in_once_and_not_twice(
    page: Any, mfa_hub: HubThread, screenshots: Path
) -> None:
    name = staff(mfa_hub, "dpo")
    _, codes, _ = enrol(page, name, landing="/log")
    sign_out(page)
    password(page, name)
    second_step(page, codes[0])
    page.wait_for_url("**/log")  # a DPO's first page
    page.goto("/account/security")
    assert "9 unused" in page.locator("main").inner_text()
    check(page, screenshots, "second-factor-account")
    sign_out(page)
    password(page, name)
    second_step(page, codes[0])
    assert "did not work" in page.get_by_role("alert").inner_text()


def test_a_passkey_is_registered_and_signs_in_through_the_virtual_authenticator(
    strict_page: Any, mfa_hub: HubThread
) -> None:
    page = strict_page  # the script and its JSON options under the real CSP
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    name = staff(mfa_hub, "admin")
    enrol(page, name)
    page.goto("/account/security")
    page.get_by_label("Name for the passkey").fill("Desk key")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/account/security?done=passkey")
    assert page.get_by_role("cell", name="Desk key", exact=True).is_visible()
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(stored["credentials"]) == 1
    sign_out(page)
    password(page, name)
    page.wait_for_url("**/login/second-factor")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/dashboard")
    page.goto("/account/security")
    assert "never" not in page.get_by_role("row", name=re.compile("Desk key")).inner_text()
    # Another authenticator (without that passkey) cannot sign in.
    sign_out(page)
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": added["authenticatorId"]})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    password(page, name)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.locator("#passkey-login [role=alert]").wait_for()
    assert page.url.endswith("/login/second-factor")
    assert not [c for c in page.context.cookies() if c["name"] == "marac_session"]


def test_five_wrong_second_factors_lock_sign_in(page: Any, mfa_hub: HubThread) -> None:
    name = staff(mfa_hub)
    secret, _, step = enrol(page, name)
    sign_out(page)
    password(page, name)
    right = next_code(secret, step)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(LOCK_AFTER - 1):
        second_step(page, wrong)
        assert "did not work" in page.get_by_role("alert").inner_text()
    second_step(page, wrong)
    page.get_by_text("Please sign in again").wait_for()  # locked: the attempt is gone
    password(page, name)  # the right password is refused while locked
    assert "locked" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/login")


def test_a_coordinator_reaches_no_page_between_password_and_second_factor(
    page: Any, mfa_hub: HubThread
) -> None:
    """The attack: a password alone, a "password-only session"."""
    name = staff(mfa_hub)
    enrol(page, name)
    sign_out(page)
    password(page, name)
    page.wait_for_url("**/login/second-factor")
    for path in ("/dashboard", "/meetings", "/agencies", "/account/security", "/referrals/new"):
        page.goto(path)
        page.wait_for_url(f"**/login?next={path}")
        assert page.get_by_label("Password").is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "marac_session"]
    # A newcomer in the forced enrolment is held there too.
    newcomer = staff(mfa_hub, "dpo")
    page.context.clear_cookies()
    password(page, newcomer)
    page.wait_for_url("**/login/enrol")
    page.goto("/log")
    page.wait_for_url("**/login?next=/log")


def test_an_admin_resets_a_coordinators_lost_phone_and_the_coordinator_enrols_anew(
    page: Any, mfa_hub: HubThread, screenshots: Path
) -> None:
    coordinator = staff(mfa_hub)
    secret, _, _ = enrol(page, coordinator)
    sign_out(page)
    admin = staff(mfa_hub, "admin")
    enrol(page, admin)
    page.goto("/account/security")
    page.get_by_role("link", name="Reset a member of staff's second factors").click()
    page.wait_for_url("**/admin/second-factors")
    check(page, screenshots, "second-factor-reset")
    page.get_by_label("User name").fill(coordinator)
    page.get_by_role("button", name="Reset their second factors").click()
    assert "(1 removed" in page.get_by_role("status").inner_text()
    sign_out(page)
    password(page, coordinator)  # the old app is gone: a new one is set up
    page.wait_for_url("**/login/enrol")
    assert page.locator("#totp-secret").inner_text().strip() != secret
