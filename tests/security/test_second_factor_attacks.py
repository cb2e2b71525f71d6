"""Second-factor attacks on staff sign-in (issue 23), through plain HTTP to a real hub
that requires a second factor of every staff role, as a real hub does by default.

* a password alone (the "password-only session") reaches no page, before or during the
  forced enrolment;
* a TOTP code is good once (replayed, or raced by two browsers), a recovery code too;
* wrong second factors lock sign-in like wrong passwords, and a right password does not
  reset their count;
* the login attempt is single use, expires, and is bound to its cookie and form token;
* hostile codes and passkey answers are refused without an error page;
* an admin resets a member of staff's factors (``marac-hub user reset-factors``); no one
  else may; the application log names no one.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pyotp
import pytest
import pytest_asyncio
from engines import ENGINES, database_url
from securitykit import PASSWORD, WRONG, add_staff
from sqlalchemy import select, update

from hub.app.actor import Actor
from hub.app.runtime import Runtime
from hub.app.second_factors import relying_party, reset_factors, staff_ref
from hub.cli import main
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import HubError
from hub.service.appkeys import ENGINE
from hub.settings import Settings
from hub.signin.passwords import LOCK_AFTER
from hub.signin.tables import login_attempts, staff_recovery_codes, staff_totp
from hub.testing import REAL_MFA_ROLES, RunningHub, running_hub

pytestmark = pytest.mark.asyncio(loop_scope="module")
SESSION, ATTEMPT = "marac_session", "marac_attempt"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    """One hub for the module, requiring a second factor as a real hub does."""
    assert REAL_MFA_ROLES == ("admin", "coordinator", "dpo")  # the real default
    async with running_hub(
        tmp_path_factory.mktemp("mfa") / "hub",
        password_strength="interactive",
        mfa_required_roles=REAL_MFA_ROLES,
    ) as running:
        yield running


class Browser:
    """A browser without JavaScript: keeps cookies, follows no redirect by itself."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.form_token = ""
        self.last_enrolled = ""

    async def go(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, body, Location)."""
        async with self.http.request(
            method, self.hub.url + path, data=data, allow_redirects=False
        ) as resp:
            body = await resp.text()
        if found := re.search(r'name="csrf" value="([^"]+)"', body):
            self.form_token = found.group(1)
        return resp.status, body, resp.headers.get("Location", "")

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name`` the hub set, if any."""
        for morsel in self.http.cookie_jar:
            if morsel.key == name and morsel.value:
                return morsel.value
        return None

    async def password(self, name: str, password: str = PASSWORD) -> tuple[int, str]:
        """The sign-in form: (status, Location)."""
        _, body, _ = await self.go("GET", "/login")
        token = re.search(r'name="login_token" value="([^"]+)"', body)
        assert token, body
        status, _, location = await self.go(
            "POST",
            "/login",
            {"login_token": token.group(1), "username": name, "password": password},
        )
        return status, location

    async def code(self, code: str) -> tuple[int, str, str]:
        """Send a code to the second step (its form read first)."""
        await self.go("GET", "/login/second-factor")
        return await self.go(
            "POST", "/login/second-factor", {"csrf": self.form_token, "code": code}
        )

    async def close(self) -> None:
        """Close the client session."""
        await self.http.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pg_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    """The same on PostgreSQL (row locks instead of SQLite's one writer)."""
    root = tmp_path_factory.mktemp("mfa-pg")
    async with (
        database_url("postgresql", root) as url,
        running_hub(
            root / "hub",
            database_url=url,
            password_strength="interactive",
            mfa_required_roles=REAL_MFA_ROLES,
        ) as running,
    ):
        yield running


@pytest.fixture(params=ENGINES)
def any_hub(request: pytest.FixtureRequest) -> RunningHub:
    """The module's hub on each engine."""
    found: RunningHub = request.getfixturevalue("hub" if request.param == "sqlite" else "pg_hub")
    return found


@pytest_asyncio.fixture(loop_scope="module")
async def browsers(hub: RunningHub) -> AsyncIterator[Any]:
    """A factory of browsers (on the SQLite hub unless told), closed after the test."""
    made: list[Browser] = []

    def make(on: RunningHub | None = None) -> Browser:
        made.append(Browser(on or hub))
        return made[-1]

    make.made = made  # type: ignore[attr-defined]

    yield make
    for browser in made:
        await browser.close()


def step_now() -> int:
    """The current TOTP time-step."""
    return int(datetime.now(UTC).timestamp()) // 30


def code_at(secret: str, step: int) -> str:
    """The code of ``secret`` at ``step``."""
    return pyotp.TOTP(secret).generate_otp(step)


def next_code(secret: str, after: int) -> str:
    """A code the hub takes now from someone whose last code was for step ``after``:
    the current step's, or the next one's if that was used (however slow the machine)."""
    return code_at(secret, max(after + 1, step_now()))


async def enrolled(
    hub: RunningHub, make: Any, role: str = "coordinator"
) -> tuple[str, str, list[str], int]:
    """A new member of staff who enrolled an authenticator app through the forced
    enrolment: (name, secret, recovery codes, the step used)."""
    name = f"{role[:4]}-{secrets.token_hex(3)}"
    await add_staff(hub, name, role)
    browser = make(hub)
    assert await browser.password(name) == (303, "/login/enrol")
    _, body, _ = await browser.go("GET", "/login/enrol")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', body)
    assert secret, body
    step = step_now()
    status, body, _ = await browser.go(
        "POST", "/login/enrol", {"csrf": browser.form_token, "code": code_at(secret[1], step)}
    )
    assert status == 200 and browser.cookie(SESSION), body
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", body)
    assert len(codes) == 10
    browser.last_enrolled = name
    return name, secret[1], codes, step


async def signed_in_staff(hub: RunningHub, make: Any, role: str) -> tuple[str, Browser]:
    """A new member of staff of ``role``, enrolled and signed in: (name, their browser)."""
    name, _, _, _ = await enrolled(hub, make, role)
    browser = next(b for b in make.made if b.last_enrolled == name)
    await browser.go("GET", "/account/security")  # a page with the session's form token
    return name, browser


def _staff_pages(hub: RunningHub) -> list[str]:
    """Every GET page of the web UI open to some staff role (its parameters filled)."""
    paths = set()
    for route in hub.app.router.routes():
        if route.method == "GET" and getattr(route.handler, "web_roles", None):
            assert route.resource is not None
            paths.add(re.sub(r"\{[^}]+\}", "x", route.resource.canonical))
    return sorted(paths)


async def test_a_right_password_alone_opens_no_page_before_the_second_factor(
    hub: RunningHub, browsers: Any
) -> None:
    """The attack: a stolen password gives a "password-only session"."""
    name, _, _, _ = await enrolled(hub, browsers)
    thief = browsers()
    assert await thief.password(name) == (303, "/login/second-factor")
    assert thief.cookie(SESSION) is None and thief.cookie(ATTEMPT)
    attempt = thief.cookie(ATTEMPT)
    staff_pages = _staff_pages(hub)
    assert len(staff_pages) > 15
    for path in staff_pages:
        status, _, location = await thief.go("GET", path)
        assert status == 303 and location.startswith("/login"), (path, status)
    # ... nor with the attempt's token offered as a session cookie.
    forged = aiohttp.ClientSession(cookies={SESSION: attempt or ""})
    try:
        for path in ("/dashboard", "/account/security", "/meetings"):
            async with forged.get(hub.url + path, allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"].startswith("/login")
        async with forged.post(hub.url + "/account/recovery-codes", data={"csrf": "x"}) as resp:
            assert "recovery-codes" not in await resp.text()
    finally:
        await forged.close()


async def test_the_forced_enrolment_opens_no_page_but_itself(
    hub: RunningHub, browsers: Any
) -> None:
    name = f"new-{secrets.token_hex(3)}"
    await add_staff(hub, name, "dpo")
    newcomer = browsers()
    assert await newcomer.password(name) == (303, "/login/enrol")
    for path in ("/log", "/dashboard", "/account/security", "/login/second-factor"):
        status, _, location = await newcomer.go("GET", path)
        assert (status == 303 and location.startswith("/login")) or status == 401, path
    assert newcomer.cookie(SESSION) is None
    # The second step's form does not accept an enrolment's attempt either.
    status, _, _ = await newcomer.go(
        "POST", "/login/second-factor", {"csrf": newcomer.form_token, "code": "123456"}
    )
    assert status == 401 and newcomer.cookie(SESSION) is None


async def test_a_replayed_totp_code_is_refused(hub: RunningHub, browsers: Any) -> None:
    name, secret, _, step = await enrolled(hub, browsers)
    code = next_code(secret, step)
    first = browsers()
    await first.password(name)
    status, _, location = await first.code(code)
    assert status == 303 and location == "/dashboard" and first.cookie(SESSION)
    again = browsers()
    assert await again.password(name) == (303, "/login/second-factor")
    status, body, _ = await again.code(code)
    assert status == 401 and "did not work" in body and again.cookie(SESSION) is None
    # The enrolment's own code (an older step) is refused too, and so is a code from
    # beyond the one-step window (a phone's clock far ahead, or a guess at the future).
    status, _, _ = await again.code(code_at(secret, step))
    assert status == 401 and again.cookie(SESSION) is None
    status, _, _ = await again.code(code_at(secret, step_now() + 3))
    assert status == 401 and again.cookie(SESSION) is None


async def test_a_copy_of_the_database_gives_no_totp_secret_or_recovery_code(
    hub: RunningHub, browsers: Any
) -> None:
    name, secret, codes, _ = await enrolled(hub, browsers)
    async with hub.app[ENGINE].connect() as conn:
        sealed = await conn.scalar(
            select(staff_totp.c.secret_sealed).where(staff_totp.c.user_name == name)
        )
        hashes = (
            await conn.scalars(
                select(staff_recovery_codes.c.code_sha256).where(
                    staff_recovery_codes.c.user_name == name
                )
            )
        ).all()
    stored = bytes(sealed) + "".join(hashes).encode()
    assert secret.encode() not in stored and base64.b32decode(secret) not in stored
    for code in codes:
        assert code.encode() not in stored and code.replace("-", "").encode() not in stored
    assert len(hashes) == 10


async def test_one_totp_code_raced_by_four_browsers_signs_in_only_one(
    any_hub: RunningHub, browsers: Any
) -> None:
    name, secret, _, step = await enrolled(any_hub, browsers)
    racers = [browsers(any_hub) for _ in range(4)]
    for racer in racers:
        await racer.password(name)
        await racer.go("GET", "/login/second-factor")
    code = next_code(secret, step)
    answers = await asyncio.gather(
        *(
            r.go("POST", "/login/second-factor", {"csrf": r.form_token, "code": code})
            for r in racers
        )
    )
    assert sorted(status for status, _, _ in answers) == [303, 401, 401, 401]
    assert sum(1 for r in racers if r.cookie(SESSION)) == 1


async def test_a_burst_of_concurrent_wrong_codes_cannot_slip_past_the_lock_out(
    any_hub: RunningHub, browsers: Any
) -> None:
    name, secret, _, step = await enrolled(any_hub, browsers)
    guessers = [browsers(any_hub) for _ in range(2 * LOCK_AFTER)]
    for guesser in guessers:
        assert await guesser.password(name) == (303, "/login/second-factor")
        await guesser.go("GET", "/login/second-factor")
    right = next_code(secret, step)
    wrong = [f"{(int(right) + 1 + n) % 10**6:06d}" for n in range(len(guessers))]
    answers = await asyncio.gather(
        *(
            g.go("POST", "/login/second-factor", {"csrf": g.form_token, "code": w})
            for g, w in zip(guessers, wrong, strict=True)
        )
    )
    assert {status for status, _, _ in answers} == {401}
    last = browsers(any_hub)  # locked: the right password and code open nothing now
    assert (await last.password(name))[0] == 401
    status, _, _ = await guessers[0].code(right)
    assert status == 401 and not any(g.cookie(SESSION) for g in guessers)


async def test_a_recovery_code_signs_in_once(hub: RunningHub, browsers: Any) -> None:
    name, _, codes, _ = await enrolled(hub, browsers)
    first = browsers()
    await first.password(name)
    status, _, _ = await first.code(codes[3].upper().replace("-", " "))  # as typed
    assert status == 303 and first.cookie(SESSION)
    _, body, _ = await first.go("GET", "/account/security")
    assert "9 unused" in body
    second = browsers()
    await second.password(name)
    status, _, _ = await second.code(codes[3])
    assert status == 401 and second.cookie(SESSION) is None


async def test_wrong_second_factors_lock_sign_in_and_a_right_password_does_not_reset_them(
    hub: RunningHub, browsers: Any
) -> None:
    name, secret, _, step = await enrolled(hub, browsers)
    guesser = browsers()
    await guesser.password(name)
    for n in range(LOCK_AFTER - 1):
        status, _, _ = await guesser.code(f"{(int(next_code(secret, step)) + 1 + n) % 10**6:06d}")
        assert status == 401
    # A right password again (a new attempt) does not give four more guesses.
    assert await guesser.password(name) == (303, "/login/second-factor")
    status, _, _ = await guesser.code("aaaa-bbbb-cccc-dddd")
    assert status == 401
    # Locked: the attempt is gone, the right code and a recovery code are refused, and
    # so is the right password.
    status, _, _ = await guesser.code(next_code(secret, step))
    assert status == 401 and guesser.cookie(SESSION) is None
    assert (await guesser.password(name))[0] == 401
    assert (await guesser.password(name, WRONG))[0] == 401


async def test_the_login_attempt_is_single_use_and_short_lived(
    hub: RunningHub, browsers: Any
) -> None:
    name, secret, _, step = await enrolled(hub, browsers)
    browser = browsers()
    await browser.password(name)
    used = browser.cookie(ATTEMPT)
    assert (await browser.code(next_code(secret, step)))[0] == 303
    assert browser.cookie(ATTEMPT) is None
    replay = aiohttp.ClientSession(cookies={ATTEMPT: used or ""})
    try:
        async with replay.get(hub.url + "/login/second-factor") as resp:
            assert resp.status == 401 and "Sign in again" in await resp.text()
    finally:
        await replay.close()
    # An attempt past its expiry is refused.
    late = browsers()
    await late.password(name)
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            update(login_attempts)
            .where(login_attempts.c.user_name == name)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    status, _, _ = await late.code(next_code(secret, step + 1))
    assert status == 401 and late.cookie(SESSION) is None


async def test_the_second_step_needs_its_cookie_and_its_form_token(
    hub: RunningHub, browsers: Any
) -> None:
    name, secret, _, step = await enrolled(hub, browsers)
    browser = browsers()
    await browser.password(name)
    await browser.go("GET", "/login/second-factor")
    code = next_code(secret, step)
    status, _, _ = await browser.go("POST", "/login/second-factor", {"code": code})
    assert status == 403 and browser.cookie(SESSION) is None  # no form token
    status, _, _ = await browser.go(
        "POST", "/login/second-factor", {"csrf": "forged", "code": code}
    )
    assert status == 403 and browser.cookie(SESSION) is None
    # The form token without the cookie (another browser) opens nothing.
    stranger = browsers()
    status, _, _ = await stranger.go(
        "POST", "/login/second-factor", {"csrf": browser.form_token, "code": code}
    )
    assert status == 401 and stranger.cookie(SESSION) is None


HOSTILE_CODES = [
    "",
    " ",
    "١٢٣٤٥٦",  # Arabic-Indic digits: "digits", not ASCII ones
    "12345",
    "1234567",
    "12 34 5a",
    "x" * 64,
    "\x00" * 6,
    "' OR 1=1 --",
    "aaaa-bbbb-cccc-ddd\u0131",
]


async def test_hostile_codes_and_passkey_answers_are_refused_cleanly(
    hub: RunningHub, browsers: Any
) -> None:
    hostile: list[tuple[str, str]] = [("/login/second-factor", c) for c in HOSTILE_CODES]
    hostile.append(("/login/second-factor", "9" * 100_000))
    hostile += [
        ("/login/passkey", c)  # passkey answers, with and without a passkey registered
        for c in ("", "{}", "[", '{"id": 1}', "x" * 30_000, '{"response": null}', "\ufeff{}")
    ]
    for start in range(0, len(hostile), LOCK_AFTER - 1):  # a new user before the lock
        name, _, _, _ = await enrolled(hub, browsers)
        browser = browsers()
        assert await browser.password(name) == (303, "/login/second-factor")
        for path, value in hostile[start : start + LOCK_AFTER - 1]:
            await browser.go("GET", "/login/second-factor")
            field = "code" if path.endswith("second-factor") else "credential"
            status, body, _ = await browser.go(
                "POST", path, {"csrf": browser.form_token, field: value}
            )
            assert status == 401 and "did not work" in body, (path, value[:20])
        assert browser.cookie(SESSION) is None


async def _cli(
    hub: RunningHub, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    """``marac-hub`` on the hub's data directory, in this process but off the loop that
    serves the hub (the authorisation matrix tries every other role and an unknown
    ``--by`` too)."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["--data-dir", str(hub.settings.data_dir), *argv])
    out, err = capsys.readouterr()
    return status, out, err


async def test_only_an_admin_resets_a_member_of_staffs_factors_through_the_cli(
    hub: RunningHub, browsers: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    name, secret, _, step = await enrolled(hub, browsers)
    other_admin, _, _, _ = await enrolled(hub, browsers, "admin")
    coordinator, _, _, _ = await enrolled(hub, browsers, "coordinator")
    status, _, err = await _cli(hub, capsys, "user", "reset-factors", name, "--by", coordinator)
    assert status == 1 and "forbidden" in err and err.count("\n") == 1, err
    status, _, err = await _cli(hub, capsys, "user", "reset-factors", "ghost")
    assert status == 1 and "no user ghost" in err and "Traceback" not in err, err
    # Refused: the app still signs in.
    signed_in = browsers()
    await signed_in.password(name)
    assert (await signed_in.code(next_code(secret, step)))[0] == 303
    status, out, err = await _cli(hub, capsys, "user", "reset-factors", name, "--by", other_admin)
    assert status == 0 and f"second factors of {name} reset (1 removed" in out, err
    # Signed out everywhere; the old app and codes are gone; enrolment comes next.
    status, _, location = await signed_in.go("GET", "/dashboard")
    assert status == 303 and location.startswith("/login")
    again = browsers()
    assert await again.password(name) == (303, "/login/enrol")


async def test_only_an_admin_resets_factors_through_the_web(hub: RunningHub, browsers: Any) -> None:
    name, secret, _, step = await enrolled(hub, browsers)
    for role in ("coordinator", "dpo"):
        _, other = await signed_in_staff(hub, browsers, role)
        status, body, _ = await other.go("GET", "/admin/second-factors")
        assert status == 403 and "Not allowed" in body
        status, body, _ = await other.go(
            "POST", "/admin/second-factors", {"csrf": other.form_token, "name": name}
        )
        assert status == 403 and "Not allowed" in body
    anonymous = browsers()
    status, _, location = await anonymous.go("POST", "/admin/second-factors", {"name": name})
    assert status in (303, 403) and "reset" not in location
    victim = browsers()  # nothing was reset: the app still signs in
    await victim.password(name)
    assert (await victim.code(next_code(secret, step)))[0] == 303
    _, admin = await signed_in_staff(hub, browsers, "admin")
    _, body, _ = await admin.go("GET", "/account/security")
    assert 'href="/admin/second-factors"' in body
    await admin.go("GET", "/admin/second-factors")
    status, body, _ = await admin.go(
        "POST", "/admin/second-factors", {"csrf": admin.form_token, "name": name}
    )
    assert status == 200 and "(1 removed" in body
    status, _, location = await victim.go("GET", "/dashboard")  # signed out
    assert status == 303 and location.startswith("/login")
    assert await browsers().password(name) == (303, "/login/enrol")
    status, body, _ = await admin.go(
        "POST", "/admin/second-factors", {"csrf": admin.form_token, "name": "ghost"}
    )
    assert status == 404 and "no user ghost" in body


async def test_sign_in_events_reach_the_application_log_without_names(
    hub: RunningHub, browsers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.signin")
    name, _, codes, _ = await enrolled(hub, browsers)
    browser = browsers()
    await browser.password(name)
    await browser.code("000000")
    await browser.code(codes[0])
    rt: Runtime = hub.app[RUNTIME]
    with pytest.raises(HubError) as refused:
        await reset_factors(rt, Actor("casey", "coordinator", None, "web"), name)
    assert refused.value.code == "forbidden"
    await reset_factors(rt, Actor("ada", "admin", None, "web"), name)
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.signin"]
    for event in (
        "second factor enrolled kind=totp",
        "second factor failed kind=totp",
        "recovery code used",
        "second factors reset",
    ):
        assert any(line.startswith(event) for line in lines), (event, lines)
    assert all(staff_ref(name) in line for line in lines)
    assert not [line for line in lines if name in line or "casey" in line or "ada" in line]


async def test_a_forged_host_header_does_not_choose_the_passkeys_relying_party() -> None:
    configured = Settings(public_url="https://hub.example.org")
    for host in ("evil.example", "localhost:8470", "hub.example.org.evil.example"):
        rp = relying_party(configured, host)
        assert rp is not None and (rp.id, rp.origin) == ("hub.example.org", configured.public_url)
    unset = Settings()
    local = relying_party(unset, "localhost:8470")
    assert local is not None and (local.id, local.origin) == ("localhost", "http://localhost:8470")
    for host in ("127.0.0.1:8470", "evil.example", "localhost.evil.example", "localhost@evil", ""):
        assert relying_party(unset, host) is None, host
    assert relying_party(unset, "localhost:" + "9" * 400) is None
