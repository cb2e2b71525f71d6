"""Migration 0013: ``areas.four_eyes`` is added on for the areas a hub already has, and
dropped again on the way down (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from engines import ENGINES, database_url
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from hub.storage.engine import create_engine
from hub.storage.schema import _alembic_config


@pytest.fixture(params=ENGINES)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database URL on each engine (PostgreSQL skipped if no server answers)."""
    async with database_url(request.param, tmp_path) as url:
        yield url


def _columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("areas")}


def _at_0012_without_the_column(conn: Connection) -> None:
    """A hub at 0012 as it was before 0013 (the frozen 0004 makes ``areas`` without it)."""
    command.upgrade(_alembic_config(conn), "0012")
    assert "four_eyes" not in _columns(conn)
    conn.execute(
        text("INSERT INTO areas (id, name, created_at) VALUES ('north', 'North MARAC', :at)"),
        {"at": datetime.now(UTC)},
    )


async def test_existing_areas_get_four_eyes_on_and_lose_it_on_downgrade(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_at_0012_without_the_column)
            assert "four_eyes" not in await conn.run_sync(_columns)
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
            on = (await conn.execute(text("SELECT four_eyes FROM areas"))).scalar_one()
            assert on in (True, 1)
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0012"))
            assert "four_eyes" not in await conn.run_sync(_columns)
            names = (await conn.execute(text("SELECT name FROM areas"))).scalars().all()
            assert names == ["North MARAC"]
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
            assert "four_eyes" in await conn.run_sync(_columns)
    finally:
        await engine.dispose()


async def test_a_hub_whose_0004_already_made_the_column_upgrades(db_url: str) -> None:
    """Before the revisions were frozen, 0004 made ``areas`` from the table of the day, with
    ``four_eyes``: 0013 leaves such a database's column as it is."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_at_0012_without_the_column)
            await conn.execute(
                text("ALTER TABLE areas ADD COLUMN four_eyes BOOLEAN DEFAULT '1' NOT NULL")
            )
            await conn.execute(text("UPDATE areas SET four_eyes = false"))
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
            off = (await conn.execute(text("SELECT four_eyes FROM areas"))).scalar_one()
            assert off in (False, 0)
    finally:
        await engine.dispose()
