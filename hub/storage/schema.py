"""The schema's migrations (Alembic): bring a database to the code's newest revision, and
the operator's schema commands (``marac-hub db``) and the stock ``alembic`` command."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.storage.engine import create_engine

__all__ = [
    "Revision",
    "command_database_url",
    "downgrade",
    "migrate",
    "run_on_command_database",
    "schema_current",
    "schema_differences",
    "schema_heads",
    "schema_history",
    "upgrade",
]

if TYPE_CHECKING:  # Alembic is imported where a migration or a schema command runs
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. ``migrate`` compares the database's ``alembic_version`` with it
# without loading Alembic and every migration script (a command's start-up);
# tests/storage pins it to what Alembic computes from the scripts.
HEAD: Final = frozenset({"0018"})


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (see TYPE_CHECKING above)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration.

    A database already there (every start but the first, every command) is told so by one
    read of ``alembic_version``, without Alembic loading and running its environment.
    """
    async with engine.connect() as conn:
        try:
            found = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = frozenset(str(v) for v in found.scalars())
        except DBAPIError:  # no such table: a new database
            current = frozenset()
        if current == HEAD:
            return
    await upgrade(engine, "head")


# --- The operator's schema commands (``marac-hub db``) and the stock ``alembic`` command.


@dataclass(frozen=True, slots=True)
class Revision:
    """One migration: its id, the ones it follows, its docstring's first paragraph."""

    id: str
    down: tuple[str, ...]
    summary: str
    head: bool


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 (see TYPE_CHECKING above)

    return ScriptDirectory(str(MIGRATIONS))


def _revision_error(exc: Exception) -> HubError:
    return HubError(" ".join(str(exc).split()), code="not-found")


def schema_heads() -> tuple[str, ...]:
    """The newest revision(s) the code knows."""
    return tuple(_script().get_heads())


def schema_history() -> list[Revision]:
    """Every migration, newest first."""
    script = _script()
    heads = set(script.get_heads())
    history: list[Revision] = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        downs = () if down is None else (down,) if isinstance(down, str) else tuple(down)
        summary = " ".join((rev.doc or "").strip().split("\n\n")[0].split())
        history.append(Revision(rev.revision, downs, summary, rev.revision in heads))
    return history


async def schema_current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revision(s) the database is at; empty for a database never migrated."""

    def current(sync: Connection) -> tuple[str, ...]:
        from alembic.migration import MigrationContext  # noqa: PLC0415

        return tuple(MigrationContext.configure(sync).get_current_heads())

    async with engine.connect() as conn:
        return await conn.run_sync(current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision`` (HubError ``not-found`` for an unknown one)."""
    from alembic import command  # noqa: PLC0415
    from alembic.util.exc import CommandError  # noqa: PLC0415

    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))
    except CommandError as exc:
        raise _revision_error(exc) from None


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``base``: nothing left)."""
    from alembic import command  # noqa: PLC0415
    from alembic.util.exc import CommandError  # noqa: PLC0415

    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), revision))
    except CommandError as exc:
        raise _revision_error(exc) from None


async def schema_differences(engine: AsyncEngine, metadata: MetaData) -> list[str]:
    """How the database's tables differ from ``metadata`` (Alembic's ``compare_metadata``):
    one line a difference; empty when they agree."""

    def compare(sync: Connection) -> list[str]:
        from alembic.autogenerate import compare_metadata  # noqa: PLC0415
        from alembic.migration import MigrationContext  # noqa: PLC0415

        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return [_describe(diff) for diff in compare_metadata(context, metadata)]

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    names = [getattr(r, "name", None) or str(r) for r in rest if r is not None][:3]
    return " ".join([str(kind), *map(str, names)])


def command_database_url() -> str:
    """The database the stock ``alembic`` command works on: ``MARAC_HUB_DATABASE_URL``, or
    the SQLite file in ``MARAC_HUB_DATA_DIR`` (default ``data``), as the hub's settings
    would name it (a TOML settings file is not read here: set the variable)."""
    url = os.environ.get("MARAC_HUB_DATABASE_URL")
    if url:
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url
    return (
        f"sqlite+aiosqlite:///{Path(os.environ.get('MARAC_HUB_DATA_DIR', 'data')) / 'hub.sqlite3'}"
    )


def run_on_command_database(work: Callable[[Connection], None]) -> None:
    """Run ``work`` on a connection to :func:`command_database_url` in a write transaction:
    what ``migrations/env.py`` does when the stock ``alembic`` command, not the hub,
    runs it."""

    async def run() -> None:
        engine = create_engine(command_database_url())
        try:
            async with engine.begin() as conn:
                await conn.run_sync(work)
        finally:
            await engine.dispose()

    asyncio.run(run())
