"""The ``db`` fixture: a seeded database on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from casekit import Db, new_keys, seed

from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.testing import migrated_sqlite, postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    """A seeded database on each engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite3"
        await migrated_sqlite(path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await seed(engine)
        yield Db(engine, new_keys(), "sqlite", path)
        await engine.dispose()
        return
    try:
        database = postgres_database(migrated=True)
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    engine = create_engine(url)
    try:
        await migrate(engine)
        await seed(engine)
        yield Db(engine, new_keys(), "postgresql", None)
    finally:
        await engine.dispose()
        await database.__aexit__(None, None, None)
