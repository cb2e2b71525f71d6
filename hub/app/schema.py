"""The database schema, for the operator (``marac-hub db``): where it stands, moving it.

These are host commands, not staff use-cases: they open the database the settings name
without migrating it (every other command brings it to head first) and without the keys.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import pkgutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.settings import Settings
from hub.storage import schema as migrations
from hub.storage.engine import create_engine
from hub.storage.schema import Revision
from hub.storage.tables import metadata

__all__ = [
    "Revision",
    "SchemaState",
    "downgrade",
    "every_table",
    "history",
    "state",
    "upgrade",
]

# The packages whose modules define tables (the domain layer and storage, pyproject.toml).
_DOMAIN: tuple[str, ...] = (
    "meetings",
    "disclosure",
    "inbound",
    "cases",
    "log",
    "delivery",
    "policy",
    "agencies",
    "signin",
    "users",
    "storage",
)


@functools.cache
def every_table() -> MetaData:
    """The hub's metadata with every table registered: each table is defined in its own
    package's module, and only an imported module's tables are in ``metadata``, so
    every module of the domain is imported (the migrations aside)."""
    for name in _DOMAIN:
        package = importlib.import_module(f"hub.{name}")
        for found in pkgutil.walk_packages(getattr(package, "__path__", []), f"hub.{name}."):
            if not found.name.startswith("hub.storage.migrations"):
                importlib.import_module(found.name)
    return metadata


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against the code's migrations."""

    current: tuple[str, ...]  # empty: never migrated
    heads: tuple[str, ...]
    differences: tuple[str, ...]  # the tables against the code's (only when at head)

    @property
    def at_head(self) -> bool:
        """True when the database is at the newest migration."""
        return set(self.current) == set(self.heads)

    @property
    def describe(self) -> str:
        """One line: the revision and how it stands."""
        at = ", ".join(self.current) or "no revision (empty database)"
        if self.at_head:
            return f"{at} (head)"
        return f"{at} (behind: head is {', '.join(self.heads)})"


@contextlib.asynccontextmanager
async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    try:
        engine = create_engine(settings.db_url, existing=True)
    except FileNotFoundError as missing:
        raise HubError(f"no database at {missing}: run marac-hub init", code="not-found") from None
    try:
        yield engine
    finally:
        await engine.dispose()


def history() -> list[Revision]:
    """Every migration the code knows, newest first."""
    return migrations.schema_history()


async def state(settings: Settings, *, compare: bool = True) -> SchemaState:
    """The database's revision, the newest one, and (``compare``, at head) how its tables
    differ from the code's."""
    async with _engine(settings) as engine:
        current = await migrations.schema_current(engine)
        heads = migrations.schema_heads()
        differences: list[str] = []
        if compare and set(current) == set(heads):
            differences = await migrations.schema_differences(engine, every_table())
        return SchemaState(current, heads, tuple(differences))


async def upgrade(settings: Settings, revision: str = "head") -> tuple[SchemaState, SchemaState]:
    """Migrate up to ``revision``: the state before and after."""
    async with _engine(settings) as engine:
        before = await _plain_state(engine)
        await migrations.upgrade(engine, revision)
        return before, await _plain_state(engine)


async def downgrade(settings: Settings, revision: str) -> tuple[SchemaState, SchemaState]:
    """Migrate down to ``revision``: the state before and after."""
    async with _engine(settings) as engine:
        before = await _plain_state(engine)
        await migrations.downgrade(engine, revision)
        return before, await _plain_state(engine)


async def _plain_state(engine: AsyncEngine) -> SchemaState:
    return SchemaState(await migrations.schema_current(engine), migrations.schema_heads(), ())
