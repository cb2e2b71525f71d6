"""Single sign-on with a real OpenID provider (oidc-provider on Node, ``oidc/provider.mjs``)
through a real browser (Chromium): the sign-in that works, and the attacks and refusals
it must stop. The provider runs at ``localhost``, the hub at ``127.0.0.1``: two sites, as
in production, so the browser's SameSite cookie rules are the real ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from oidc_provider import OidcProvider, missing
from sqlalchemy import select
from webkit import AXE, HubThread

from hub.app.actor import operator
from hub.app.users import revoke_user
from hub.cases.areas import add_area
from hub.cases.tables import user_areas
from hub.http.appkeys import RUNTIME
from hub.service.appkeys import ENGINE
from hub.signin.tables import sso_identities, sso_logins
from hub.users.tables import users

SECRET = "a-client-secret-for-the-tests"
PASSWORD = "provider password"
PROVIDER = "Test provider"
ROLE_MAP = {
    "marac-coordinators-north": {"role": "coordinator", "areas": ["north"]},
    "marac-coordinators-south": {"role": "coordinator", "areas": ["south"]},
    "marac-dpo": {"role": "dpo"},
    "marac-admins": {"role": "admin"},
}
MFA = ["pwd", "mfa"]


def _user(*groups: str, amr: list[str] = MFA, acr: str | None = None) -> dict[str, Any]:
    return {"password": PASSWORD, "groups": list(groups), "amr": amr, "acr": acr}


USERS = {
    "nora.north": _user("marac-coordinators-north", "staff-all"),
    "rory.roles": _user("marac-coordinators-north"),
    "dan.dpo": _user("marac-dpo"),
    "una.unmapped": _user("finance", "staff-all"),
    "pat.password": _user("marac-coordinators-north", amr=["pwd"]),
    "ali.acr": _user("marac-coordinators-south", amr=["pwd"], acr="urn:example:loa:2"),
    "casey": _user("marac-coordinators-south"),
    "rex.revoked": _user("marac-coordinators-north"),
    "conny.conflict": _user("marac-coordinators-north", "marac-dpo"),
    "mal.attacked": _user("marac-coordinators-north"),
}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """The OpenID provider (skips, saying why, without Node or oidc-provider)."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    running = OidcProvider()
    yield running
    running.close()


@pytest.fixture(scope="module")
def sso_hub(
    tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider
) -> Iterator[HubThread]:
    """A hub with single sign-on through ``provider``; areas north and south; a local
    (password) coordinator ``casey``."""
    hub = HubThread(
        tmp_path_factory.mktemp("sso"),
        sso_issuer=provider.issuer,
        sso_client_id="marac-hub",
        sso_client_secret=SECRET,
        sso_provider_name=PROVIDER,
        sso_scopes=("openid", "email", "profile", "groups"),
        sso_role_map=ROLE_MAP,
        sso_mfa_acr=("urn:example:loa:2",),
    )
    try:

        async def seed() -> None:
            async with hub.hub.app[ENGINE].begin() as conn:
                for area, name in (("north", "Northtown MARAC"), ("south", "Southtown MARAC")):
                    await add_area(conn, area, name, now=hub.hub.app[RUNTIME].clock())
            await hub.hub.add_user("casey", "coordinator")

        hub.run(seed())
        provider.configure(
            {
                "client_id": "marac-hub",
                "client_secret": SECRET,
                "redirect_uris": [f"{hub.url}/sso/callback"],
            },
            USERS,
        )
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def context(browser: Any, sso_hub: HubThread) -> Iterator[Any]:
    """A fresh browser context (no cookies at the hub or the provider)."""
    made = browser.new_context(base_url=sso_hub.url)
    made.set_default_timeout(15_000)
    yield made
    made.close()


def _to_provider(context: Any) -> Any:
    """A page that followed the sign-in page's link to the provider's sign-in form."""
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    page.get_by_label("Login").wait_for()
    return page


def _provider_sign_in(page: Any, login: str) -> None:
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in to the test provider").click()


def _sign_in_by_browser(context: Any, login: str) -> Any:
    """Sign in at the provider by its form in the browser; the page once the hub has
    answered (a refusal, or the first page the hub's answer moves on to)."""
    page = _to_provider(context)
    with page.expect_response(lambda r: "/sso/callback?" in r.url) as answer:
        _provider_sign_in(page, login)
    if answer.value.status == 200:
        page.wait_for_url(lambda url: "/sso/callback" not in url)
    page.wait_for_load_state()
    return page


def _sign_in(context: Any, login: str) -> Any:
    """The same through the provider by HTTP (faster), the hub's answer in the browser."""
    callback = _capture_callback(context, login)
    page = context.new_page()
    response = page.goto(callback)
    assert response is not None
    if response.status == 200:
        page.wait_for_url(lambda url: "/sso/callback" not in url)
    return page


def _capture_callback(context: Any, login: str) -> str:
    """Go through the provider as the browser would (with the browser context's cookies,
    signing in as ``login`` if the provider asks) but stop before
    the hub's callback; that callback's URL."""
    response = context.request.get("/sso/login", max_redirects=0)
    for _ in range(10):
        location = response.headers.get("location")
        if location is None:  # the provider's sign-in form
            assert response.status == 200, response.status
            action = re.search(r'action="([^"]+)"', response.text())
            assert action is not None
            response = context.request.post(
                urljoin(response.url, action.group(1)),
                form={"login": login, "password": PASSWORD},
                max_redirects=0,
            )
            continue
        target = urljoin(response.url, location)
        if "/sso/callback?" in target:
            return target
        response = context.request.get(target, max_redirects=0)
    raise AssertionError("the provider never sent the browser back")


def _refused(page: Any, reason: str) -> None:
    assert "/sso/callback" in page.url
    assert page.get_by_role("heading", name="Sign-in refused").is_visible()
    assert page.get_by_text(reason, exact=True).is_visible()


def _no_session(context: Any) -> None:
    page = context.new_page()
    page.goto("/dashboard")
    assert urlsplit(page.url).path == "/login", page.url
    page.close()


def _user_row(hub: HubThread, name: str) -> Any:
    async def read() -> Any:
        async with hub.hub.app[ENGINE].connect() as conn:
            return (await conn.execute(select(users).where(users.c.name == name))).first()

    return hub.run(read())


def _areas(hub: HubThread, name: str) -> set[str]:
    async def read() -> set[str]:
        async with hub.hub.app[ENGINE].connect() as conn:
            rows = await conn.execute(
                select(user_areas.c.area_id).where(user_areas.c.user_name == name)
            )
            return set(rows.scalars())

    return hub.run(read())


# --- the sign-in that works -----------------------------------------------------------


def test_a_coordinator_signs_in_with_the_provider_and_lands_on_the_dashboard_with_the_mapped_role(
    context: Any, sso_hub: HubThread
) -> None:
    page = _sign_in_by_browser(context, "nora.north")
    assert urlsplit(page.url).path == "/dashboard", page.content()
    assert page.get_by_text("nora.north (coordinator)").is_visible()
    page.goto("/referrals/new")  # the areas they may refer in: their mapped area only
    options = page.locator("#area option").all_inner_texts()
    assert options == ["Northtown MARAC"]
    cookies = {c["name"]: c for c in context.cookies()}
    assert "marac_sso" not in cookies  # the attempt's cookie is gone
    assert cookies["marac_session"]["sameSite"] == "Strict"
    assert cookies["marac_session"]["httpOnly"]
    row = _user_row(sso_hub, "nora.north")
    assert row.role == "coordinator" and row.revoked_at is None
    assert _areas(sso_hub, "nora.north") == {"north"}


def test_a_dpo_lands_on_the_log_and_next_is_kept_through_the_provider(context: Any) -> None:
    page = context.new_page()
    page.goto("/log/integrity")  # not signed in: the sign-in page, with next
    assert urlsplit(page.url).path == "/login"
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    _provider_sign_in(page, "dan.dpo")
    page.wait_for_url(re.compile(r"/log/integrity$"))
    assert page.get_by_text("dan.dpo (dpo)").is_visible()


def test_role_and_areas_are_set_from_the_provider_again_at_every_sign_in(
    browser: Any, sso_hub: HubThread, provider: OidcProvider
) -> None:
    def sign_in_once() -> str:
        made = browser.new_context(base_url=sso_hub.url)
        try:
            return urlsplit(_sign_in(made, "rory.roles").url).path
        finally:
            made.close()

    assert sign_in_once() == "/dashboard"
    assert _areas(sso_hub, "rory.roles") == {"north"}
    provider.set_user("rory.roles", groups=["marac-coordinators-south"])
    assert sign_in_once() == "/dashboard"
    assert _areas(sso_hub, "rory.roles") == {"south"}
    provider.set_user("rory.roles", groups=["marac-dpo"])
    assert sign_in_once() == "/log"
    assert _user_row(sso_hub, "rory.roles").role == "dpo"
    assert _areas(sso_hub, "rory.roles") == set()  # a DPO has no areas


def test_an_acr_from_the_configured_list_counts_as_multi_factor(context: Any) -> None:
    page = _sign_in(context, "ali.acr")
    assert urlsplit(page.url).path == "/dashboard"


def test_the_sign_in_page_offers_the_provider_and_the_password_form_still_works(
    context: Any, sso_hub: HubThread
) -> None:
    page = context.new_page()
    page.goto("/login")
    link = page.get_by_role("link", name=f"Sign in with {PROVIDER}")
    assert link.get_attribute("href") == "/sso/login"
    assert page.get_by_label("User name").is_visible()  # local accounts stay


# --- refusals: who the provider signs in but the hub does not let in -------------------


def test_a_user_with_no_mapped_role_is_refused_with_a_clear_page_and_no_session(
    context: Any, sso_hub: HubThread
) -> None:
    page = _sign_in_by_browser(context, "una.unmapped")
    _refused(page, "no-mapped-role")
    assert page.get_by_text("gives you no role in this hub").is_visible()
    _no_session(context)
    assert _user_row(sso_hub, "una.unmapped") is None  # no account was made


def test_groups_mapping_to_two_roles_are_refused(context: Any, sso_hub: HubThread) -> None:
    _refused(_sign_in(context, "conny.conflict"), "role-conflict")
    _no_session(context)
    assert _user_row(sso_hub, "conny.conflict") is None


def test_a_sign_in_without_a_second_factor_at_the_provider_is_refused(
    context: Any, sso_hub: HubThread
) -> None:
    _refused(_sign_in(context, "pat.password"), "no-mfa")
    _no_session(context)
    assert _user_row(sso_hub, "pat.password") is None


def test_a_deactivated_user_stays_out_though_the_provider_says_yes(
    browser: Any, sso_hub: HubThread
) -> None:
    first = browser.new_context(base_url=sso_hub.url)
    try:
        assert urlsplit(_sign_in(first, "rex.revoked").url).path == "/dashboard"
        rt = sso_hub.hub.app[RUNTIME]
        sso_hub.run(revoke_user(rt, operator(), "rex.revoked"))
        page = first.new_page()
        page.goto("/dashboard")  # the session open before the revocation ends too
        assert urlsplit(page.url).path == "/login"
    finally:
        first.close()
    second = browser.new_context(base_url=sso_hub.url)
    try:
        _refused(_sign_in(second, "rex.revoked"), "deactivated")
        _no_session(second)
    finally:
        second.close()
    assert _user_row(sso_hub, "rex.revoked").revoked_at is not None


def test_a_provider_user_cannot_take_over_a_local_account_of_the_same_name(
    context: Any, sso_hub: HubThread
) -> None:
    _refused(_sign_in(context, "casey"), "name-taken")
    _no_session(context)
    assert _user_row(sso_hub, "casey").role == "coordinator"
    assert _areas(sso_hub, "casey") == set()  # the provider's south mapping was not applied

    async def identities() -> list[Any]:
        async with sso_hub.hub.app[ENGINE].connect() as conn:
            query = select(sso_identities).where(sso_identities.c.user_name == "casey")
            return list(await conn.execute(query))

    assert sso_hub.run(identities()) == []


# --- attacks on the ID token (the provider made to misbehave for one token response) ----


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("aud", "wrong-aud"),
        ("iss", "wrong-iss"),
        ("expired", "expired-id-token"),
        ("nonce", "wrong-nonce"),
        ("tampered", "bad-signature"),
        ("alg-none", "bad-signature"),
        ("hs256", "bad-signature"),
        ("foreign-key", "bad-signature"),
    ],
)
def test_an_id_token_that_does_not_hold_is_refused(
    context: Any, sso_hub: HubThread, provider: OidcProvider, mode: str, reason: str
) -> None:
    provider.misbehave(mode)
    _refused(_sign_in(context, "mal.attacked"), reason)
    _no_session(context)
    assert _user_row(sso_hub, "mal.attacked") is None


# --- attacks on the callback ------------------------------------------------------------


def test_state_mismatch_on_the_callback_is_refused(context: Any) -> None:
    callback = _capture_callback(context, "nora.north")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = urlencode({**query, "state": "forged-state-" + "x" * 30})
    page = context.new_page()
    page.goto(f"{parts.path}?{forged}")
    _refused(page, "state-mismatch")
    _no_session(context)
    page.goto(callback)  # the genuine answer is spent with the attempt
    _refused(page, "no-login-attempt")
    _no_session(context)


def test_a_callback_swapped_into_another_browser_is_refused(
    browser: Any, sso_hub: HubThread
) -> None:
    attacker = browser.new_context(base_url=sso_hub.url)
    victim = browser.new_context(base_url=sso_hub.url)
    try:
        stolen = _capture_callback(attacker, "mal.attacked")
        page = victim.new_page()
        page.goto(stolen)  # no attempt of this browser at all
        _refused(page, "no-login-attempt")
        _no_session(victim)
        _to_provider(victim).close()  # the victim's own attempt, with its own state
        page.goto(stolen)
        _refused(page, "state-mismatch")
        _no_session(victim)
    finally:
        attacker.close()
        victim.close()


def test_a_replayed_callback_and_a_replayed_authorization_code_are_refused(
    context: Any,
) -> None:
    first = _capture_callback(context, "nora.north")
    page = context.new_page()
    page.goto(first)
    page.wait_for_url(re.compile(r"/dashboard$"))  # the first use signs in
    context.clear_cookies()
    page.goto(first)  # the same answer again: its attempt is spent
    _refused(page, "no-login-attempt")
    # A new attempt of this browser, answered with its own state but the code already
    # redeemed.
    second = _capture_callback(context, "nora.north")
    state = parse_qs(urlsplit(second).query)["state"][0]
    code = parse_qs(urlsplit(first).query)["code"][0]
    page.goto(f"/sso/callback?{urlencode({'code': code, 'state': state})}")
    _refused(page, "code-refused")
    _no_session(context)


def _attempt(context: Any) -> str:
    """Start an attempt in ``context`` (its cookie kept); the state sent to the provider."""
    response = context.request.get("/sso/login", max_redirects=0)
    assert response.status == 302
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "state-mismatch"),
        ({"state": "x" * 5000, "code": "y"}, "state-mismatch"),
        ({"state": "STATE"}, "no-code"),
        ({"state": "STATE", "error": "access_denied"}, "provider-refused"),
        ({"state": "STATE", "code": "A" * 5000}, "no-code"),
        ({"state": "STATE", "code": "\x00\xff<script>"}, "code-refused"),
        (None, "no-login-attempt"),
    ],
)
def test_hostile_callbacks_are_refused_with_a_page_never_an_error(
    context: Any, query: dict[str, str] | None, reason: str
) -> None:
    if query is None:  # no attempt in this browser at all
        query = {"state": "x", "code": "y"}
    else:
        state = _attempt(context)
        query = {k: state if v == "STATE" else v for k, v in query.items()}
    page = context.new_page()
    response = page.goto(f"/sso/callback?{urlencode(query)}")
    assert response is not None and response.status == 403
    _refused(page, reason)
    _no_session(context)


def test_attempts_are_single_use_rows_that_do_not_outlive_the_callback(
    context: Any, sso_hub: HubThread
) -> None:
    async def count() -> int:
        async with sso_hub.hub.app[ENGINE].connect() as conn:
            return len(list(await conn.execute(select(sso_logins.c.browser_sha256))))

    before = sso_hub.run(count())
    page = _sign_in(context, "nora.north")
    assert urlsplit(page.url).path == "/dashboard"
    assert sso_hub.run(count()) == before


def test_sso_routes_are_not_found_when_single_sign_on_is_not_set_up(client: Any) -> None:
    web = client()
    assert web.get("/sso/login")[0] == 404
    assert web.get("/sso/callback?code=x&state=y")[0] == 404
    _, body, _ = web.get("/login")
    assert "/sso/login" not in body


def test_the_sign_in_link_and_the_refusal_page_pass_axe(browser: Any, sso_hub: HubThread) -> None:
    made = browser.new_context(base_url=sso_hub.url, bypass_csp=True)  # to inject axe-core
    try:
        page = made.new_page()
        for path in ("/login", "/sso/callback?state=x&code=y"):
            page.goto(path)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "async (tags) => await axe.run(document, "
                "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
            )
            bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert not bad, (path, bad)
    finally:
        made.close()
