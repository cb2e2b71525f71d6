"""Web passwords (``marac-hub user passwd``), the lock after repeated failures, the Secure
cookie behind a TLS proxy, and the server-drawn charts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hub.protocol.errors import HubError, ProtocolError
from hub.service.appkeys import ENGINE
from hub.signin.passwords import LOCK_AFTER, check_password, set_password
from hub.signin.sessions import load_session, new_session
from hub.signin.tables import user_passwords
from hub.testing import postgres_database, running_hub
from hub.web.charts import bar_chart
from hub.web.views_charts import latency_bucket, month_starts, week_starts

BIN = Path(sys.executable).parent
GOOD = "a long and good password"


def _hub(data: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env["MARAC_HUB_PASSWORD_STRENGTH"] = "interactive"
    env.pop("MARAC_HUB_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(data), *argv],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def test_user_passwd_sets_an_argon2id_hash_and_refuses_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _hub(data, "init").returncode == 0
    assert _hub(data, "user", "add", "casey", "--role", "coordinator").returncode == 0
    secret = tmp_path / "pw"
    secret.write_text(GOOD + "\n")
    done = _hub(data, "user", "passwd", "casey", "--password-file", str(secret))
    assert done.returncode == 0, done.stderr
    assert "web password set for casey" in done.stdout and GOOD not in done.stdout
    secret.write_text("short\n")
    done = _hub(data, "user", "passwd", "casey", "--password-file", str(secret))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "12 to 200" in done.stderr
    assert "short" not in done.stderr
    done = _hub(data, "user", "passwd", "nobody", "--password-file", str(tmp_path / "none"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    secret.write_text(GOOD)
    done = _hub(data, "user", "passwd", "nobody", "--password-file", str(secret))
    assert done.returncode == 1 and "no active user nobody" in done.stderr
    done = _hub(data, "user", "passwd", "casey")  # no terminal, no file
    assert done.returncode == 1 and "--password-file" in done.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None (SQLite) or a throwaway PostgreSQL database (skipped if no server answers)."""
    if request.param == "sqlite":
        yield None
        return
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


async def test_passwords_and_sessions_on_each_database(
    tmp_path: Path, database_url: str | None
) -> None:
    async with running_hub(tmp_path, database_url=database_url) as hub:
        engine, now = hub.app[ENGINE], datetime.now(UTC)
        await hub.add_user("casey", "coordinator")
        for bad in ("too short", " leading space is bad", "x" * 201, "tab\tinside password"):
            with pytest.raises(ProtocolError):
                await set_password(engine, "casey", bad, now=now, strength="interactive")
        with pytest.raises(HubError):
            await set_password(engine, "ghost", GOOD, now=now, strength="interactive")
        await set_password(engine, "casey", GOOD, now=now, strength="interactive")
        async with engine.connect() as conn:
            stored = await conn.scalar(select(user_passwords.c.password_hash))
        assert stored.startswith("$argon2id$") and GOOD not in stored
        user = await check_password(engine, "casey", GOOD, now=now)
        assert user is not None and user.role == "coordinator"
        assert await check_password(engine, "ghost", GOOD, now=now) is None
        for _ in range(LOCK_AFTER):
            assert await check_password(engine, "casey", "wrong password!", now=now) is None
        assert await check_password(engine, "casey", GOOD, now=now) is None  # locked
        later = now + timedelta(minutes=6)
        assert await check_password(engine, "casey", GOOD, now=later) is not None

        token = await new_session(engine, user, now=now)
        idle, lifetime = timedelta(minutes=15), timedelta(hours=12)
        found = await load_session(engine, token, now=now, idle=idle, lifetime=lifetime)
        assert found is not None and found.user.name == "casey" and len(found.csrf) > 30
        assert (
            await load_session(engine, token + "x", now=now, idle=idle, lifetime=lifetime) is None
        )
        soon = now + timedelta(minutes=10)
        assert await load_session(engine, token, now=soon, idle=idle, lifetime=lifetime)
        late = soon + timedelta(minutes=16)  # idle too long: ended for good
        assert await load_session(engine, token, now=late, idle=idle, lifetime=lifetime) is None
        assert await load_session(engine, token, now=soon, idle=idle, lifetime=lifetime) is None
        token = await new_session(engine, user, now=now)
        await set_password(engine, "casey", GOOD + "!", now=now, strength="interactive")
        assert await load_session(engine, token, now=now, idle=idle, lifetime=lifetime) is None


async def test_cookies_are_secure_behind_a_tls_proxy(tmp_path: Path) -> None:
    async with running_hub(tmp_path, web_secure_cookies=True) as hub:
        async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/login") as resp:
            body = await resp.text()
            cookie = resp.headers["Set-Cookie"]
        assert re.search(r'name="login_token"', body)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_charts_are_escaped_svg_with_a_description() -> None:
    svg = str(
        bar_chart(
            "c1",
            "Disclosures <b>",
            ["w1", "w2"],
            [("<script>alert(1)</script>", [1, 3]), ("idva", [0, 2])],
        )
    )
    assert svg.startswith('<svg id="c1"') and "<script>" not in svg
    assert "&lt;script&gt;" in svg and "Highest: w2 (5)." in svg
    assert svg.count("<rect") == 3 + 2  # three bars (a zero is not drawn) and two keys
    empty = str(bar_chart("c2", "Nothing", ["a"], [("s", [0])]))
    assert "No data in this period." in empty


def test_chart_periods_and_latency_buckets() -> None:
    weeks = week_starts(date(2026, 11, 25), 3)
    assert weeks == [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    assert month_starts(date(2026, 2, 10), 3) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert latency_bucket(timedelta(seconds=5)) == "under 1 min"
    assert latency_bucket(timedelta(hours=2)) == "1 to 6 h"
    assert latency_bucket(timedelta(days=3)) == "over 1 day"
