"""A migrated database on SQLite and on PostgreSQL, for the log's storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli import main
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.testing import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database URL on each engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'log.sqlite3'}"
        return
    database = postgres_database()
    try:
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on ``db_url``."""
    eng = create_engine(db_url)
    await migrate(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hub keys made once by ``marac-hub init`` (each test copies them, with its own database)."""
    data = tmp_path_factory.mktemp("template") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
        assert main(["--data-dir", str(data), "init"]) == 0
    (data / "hub.sqlite3").unlink()
    return data
