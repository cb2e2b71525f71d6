"""Helpers for the attack regressions: a hub on loopback and a plain HTTP sign-in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from hub.service.appkeys import ENGINE
from hub.signin.passwords import set_password
from hub.testing import RunningHub, running_hub

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub whose web passwords are hashed at the cheapest strength (a fast test)."""
    async with running_hub(tmp_path / "hub", password_strength="interactive") as running:
        yield running


async def add_staff(hub: RunningHub, name: str, role: str = "coordinator") -> str:
    """A member of staff with the web password ``PASSWORD``; their API token."""
    token = await hub.add_user(name, role)
    await set_password(
        hub.app[ENGINE],
        name,
        PASSWORD,
        now=datetime.now(UTC),
        strength=hub.settings.password_strength,
    )
    return token


async def sign_in(hub: RunningHub, name: str, password: str) -> tuple[int, dict[str, str]]:
    """One browser's sign-in through the form: the status and the cookies set (carried by
    hand: a hub behind a TLS proxy marks them Secure, and the test speaks plain HTTP)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{hub.url}/login") as page:
            found = re.search(r'name="login_token" value="([^"]+)"', await page.text())
            assert found, "no sign-in form"
            sent = {k: m.value for k, m in page.cookies.items()}
        async with http.post(
            f"{hub.url}/login",
            data={"login_token": found.group(1), "username": name, "password": password},
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in sent.items())},
            allow_redirects=False,
        ) as answer:
            await answer.read()
            return answer.status, {k: m.value for k, m in answer.cookies.items() if m.value}
