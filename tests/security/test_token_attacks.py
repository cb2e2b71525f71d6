"""A revoked member of staff's API token kept working for up to 30 s in any process that
had seen it (issue 23, finding 6): revocation through one hub process, or the CLI, left
the other processes' caches trusting the token. Now each use reads the token's and its
user's rows (``hub.users.tokens.TokenCache``), whether one token or the user is revoked.
Real ``marac-hub serve`` processes."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from scaleout.scaleout_helpers import MARAC_HUB, env_for, init, serve, staff

from hub.testing import postgres_database


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database (skipped if no server answers)."""
    database = postgres_database()
    try:
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield url.replace("postgresql+asyncpg://", "postgresql://")
    finally:
        await database.__aexit__(None, None, None)


async def _status(http: aiohttp.ClientSession, url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{url}/api/v1/alerts", headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_a_token_or_its_user_revoked_through_one_process_is_refused_at_once_by_another(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "hub"
    admin = init(data, pg_url)
    with serve(data, pg_url) as first, serve(data, pg_url) as second:
        async with aiohttp.ClientSession() as http:
            made = await staff(
                http, first.url, admin, "/api/v1/users", {"name": "casey", "role": "coordinator"}
            )
            casey = made["token"]
            spare = await staff(
                http, second.url, admin, "/api/v1/users/casey/tokens", {"expires_in_days": 1}
            )
            for url in (first.url, second.url):  # each process has now checked the tokens
                assert await _status(http, url, casey) == 200
                assert await _status(http, url, spare["token"]) == 200
            # one token of hers revoked through one process: the other refuses it at once
            async with http.delete(
                f"{first.url}/api/v1/users/casey/tokens/{spare['id']}",
                headers={"Authorization": f"Bearer {admin}"},
            ) as resp:
                assert resp.status == 200
            assert await _status(http, second.url, spare["token"]) == 401
            assert await _status(http, second.url, casey) == 200  # her other token
            # then she is revoked: every token of hers, everywhere
            async with http.delete(
                f"{first.url}/api/v1/users/casey", headers={"Authorization": f"Bearer {admin}"}
            ) as resp:
                assert resp.status == 200
            assert await _status(http, second.url, casey) == 401
            assert await _status(http, first.url, casey) == 401
            assert await _status(http, second.url, admin) == 200


async def test_a_token_revoked_with_the_cli_is_refused_at_once_by_the_serving_hub(
    tmp_path: Path,
) -> None:
    data = tmp_path / "hub"
    admin = init(data, None)
    with serve(data, None) as hub:
        async with aiohttp.ClientSession() as http:
            made = await staff(
                http, hub.url, admin, "/api/v1/users", {"name": "casey", "role": "dpo"}
            )
            assert await _status(http, hub.url, made["token"]) in {200, 403}
            done = subprocess.run(
                [MARAC_HUB, "--data-dir", str(data), "user", "revoke", "casey"],
                env=env_for(None),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert await _status(http, hub.url, made["token"]) == 401
