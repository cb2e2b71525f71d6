"""Setting a hub up and opening it for one command: the CLI's composition root.

``init_hub`` makes a data directory (keys, database, first admin); ``open_runtime``
opens the database of an initialised hub for one command, with the keys and the policy
loaded only if a use-case asks for them, and signs a tree head before it closes if the
command appended to the disclosure log (so what it sent is provable at once, whether or
not a hub process is running).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from hub.app.data_dir import (
    PRIVATE_DIRECTORY,
    is_initialised,
    private_data_dir,
    require_initialised,
)
from hub.app.data_dir import narrow as _narrow
from hub.app.runtime import Runtime
from hub.hub_keys import create_hub_keys, load_hub_keys
from hub.log.heads import latest_head, sign_for_cli
from hub.log.store import size
from hub.policy.bases import basis_ids
from hub.policy.policy import load_policy
from hub.protocol.canonical import b64encode
from hub.settings import Settings
from hub.storage.database import open_database
from hub.storage.schema import migrate
from hub.users import add_user

__all__ = [
    "PRIVATE_DIRECTORY",
    "Initialised",
    "init_hub",
    "is_initialised",
    "open_runtime",
    "private_data_dir",
    "require_initialised",
]


@dataclass(frozen=True, slots=True)
class Initialised:
    """What ``marac-hub init`` prints: the hub's identity and the first admin's token."""

    identity_key: str
    fingerprint: str
    admin_token: str


async def init_hub(settings: Settings, admin: str) -> Initialised:
    """Create the hub's keys, migrate the database, add the first admin."""
    private_data_dir(settings)
    keys = create_hub_keys(settings)
    async with open_runtime(settings) as rt:
        token = await add_user(rt.engine, admin, "admin", now=rt.clock())
    return Initialised(b64encode(keys.identity.public.raw), keys.identity.fingerprint, token)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime of the hub ``settings`` names, for one command (see the module doc)."""
    if is_initialised(settings):
        _narrow(settings.data_dir)  # one made before the hub kept it private
    database = open_database(settings.db_url)
    engine = database.engine
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            known = await basis_ids(conn)
        rt = Runtime(
            database,
            lambda: load_hub_keys(settings, lazily=True),
            settings,
            lambda: load_policy(settings.policy_file, basis_ids=known),
        )
        try:
            yield rt
        finally:
            rt.close()
        async with engine.connect() as conn:
            newest = await latest_head(conn, settings.hub_id)
            grew = await size(conn) > (newest.size if newest else 0)
        if grew:
            await sign_for_cli(engine, settings)
    finally:
        await database.dispose()
