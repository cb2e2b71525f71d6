"""Single sign-on's records on SQLite and PostgreSQL: an attempt is used once and not after
its 10 minutes; a provider's subject is one hub user, made once, whose role and areas
follow the map at every sign-in; a name taken by another user and a deactivated user are
refused. (The browser tests in tests/web/test_sso.py run on SQLite only.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from engines import ENGINES, database_url
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cases.areas import add_area
from hub.cases.tables import user_areas
from hub.signin.oidc import Grant, SsoRefused, new_login_request
from hub.signin.sso_users import sign_in_subject, start_login, take_login
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.testing import running_hub
from hub.users import add_user, revoke_user
from hub.users.tables import users

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ISSUER = "https://idp.example.org"


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with database_url(request.param, tmp_path) as url:
        made = create_engine(url)
        try:
            await migrate(made)
            async with made.begin() as conn:
                for area in ("north", "south"):
                    await add_area(conn, area, area.title(), now=NOW)
            yield made
        finally:
            await made.dispose()


async def _areas(engine: AsyncEngine, name: str) -> set[str]:
    async with engine.connect() as conn:
        query = select(user_areas.c.area_id).where(user_areas.c.user_name == name)
        return set((await conn.execute(query)).scalars())


async def test_an_attempt_is_taken_once_by_its_browser_only_within_ten_minutes(
    engine: AsyncEngine,
) -> None:
    request = new_login_request()
    await start_login(engine, "browser-a", request, redirect_uri="r", next_path="/log", now=NOW)
    with pytest.raises(SsoRefused, match="no-login-attempt"):
        await take_login(engine, "browser-b", now=NOW)
    taken = await take_login(engine, "browser-a", now=NOW)
    assert (taken.request, taken.next_path) == (request, "/log")
    with pytest.raises(SsoRefused, match="no-login-attempt"):
        await take_login(engine, "browser-a", now=NOW)
    # older than ten minutes: refused, and pruned when another attempt starts
    await start_login(engine, "old", new_login_request(), redirect_uri="r", next_path=None, now=NOW)
    with pytest.raises(SsoRefused, match="no-login-attempt"):
        await take_login(engine, "old", now=NOW + timedelta(minutes=11))
    await start_login(engine, "a", new_login_request(), redirect_uri="r", next_path=None, now=NOW)
    later = NOW + timedelta(minutes=11)
    await start_login(engine, "b", new_login_request(), redirect_uri="r", next_path=None, now=later)
    with pytest.raises(SsoRefused, match="no-login-attempt"):  # pruned by b's start
        await take_login(engine, "a", now=NOW)


async def test_a_subject_is_one_user_whose_role_and_areas_follow_the_map_and_no_takeover(
    engine: AsyncEngine,
) -> None:
    north = Grant("coordinator", frozenset({"north", "nowhere"}))
    user = await sign_in_subject(engine, ISSUER, "sub-1", "jo", north, now=NOW)
    assert (user.name, user.role) == ("jo", "coordinator")
    assert await _areas(engine, "jo") == {"north"}  # an area the hub lacks is skipped
    south = Grant("coordinator", frozenset({"south"}))
    again = await sign_in_subject(engine, ISSUER, "sub-1", "renamed", south, now=NOW)
    assert again.name == "jo"  # known by issuer and subject, not by the name claim
    assert await _areas(engine, "jo") == {"south"}
    await sign_in_subject(engine, ISSUER, "sub-1", "jo", Grant("dpo", frozenset()), now=NOW)
    assert await _areas(engine, "jo") == set()
    async with engine.connect() as conn:
        role = await conn.scalar(select(users.c.role).where(users.c.name == "jo"))
    assert role == "dpo"
    # a name another user has (local, or another provider's) is refused
    grant = Grant("admin", frozenset())
    await add_user(engine, "casey", "coordinator", now=NOW)
    with pytest.raises(SsoRefused, match="name-taken"):
        await sign_in_subject(engine, ISSUER, "sub-2", "casey", grant, now=NOW)
    await sign_in_subject(engine, ISSUER, "sub-3", "sam", grant, now=NOW)
    with pytest.raises(SsoRefused, match="name-taken"):  # same name, another provider
        await sign_in_subject(engine, "https://other.example.org", "sub-3", "sam", grant, now=NOW)
    async with engine.connect() as conn:
        role = await conn.scalar(select(users.c.role).where(users.c.name == "casey"))
    assert role == "coordinator"
    # a deactivated user is refused and not revived
    grant = Grant("coordinator", frozenset({"north"}))
    await sign_in_subject(engine, ISSUER, "sub-4", "rex", grant, now=NOW)
    await revoke_user(engine, "rex", now=NOW)
    with pytest.raises(SsoRefused, match="deactivated"):
        await sign_in_subject(engine, ISSUER, "sub-4", "rex", Grant("admin", frozenset()), now=NOW)
    async with engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.name == "rex"))).one()
    assert row.revoked_at is not None and row.role == "coordinator"


async def test_an_unreachable_provider_is_a_clear_page_not_an_error(tmp_path: Path) -> None:
    async with (
        running_hub(tmp_path, sso_issuer="http://127.0.0.1:9", sso_client_id="hub") as hub,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(f"{hub.url}/sso/login", allow_redirects=False) as response:
            assert response.status == 502
            assert "could not be reached" in await response.text()
            assert not response.cookies["marac_sso"].value  # no attempt is kept
        async with http.get(f"{hub.url}/login") as response:
            assert 'href="/sso/login"' in await response.text()
