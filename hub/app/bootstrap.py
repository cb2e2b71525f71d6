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
from pathlib import Path

from hub.app.runtime import Runtime
from hub.hub_keys import IDENTITY, create_hub_keys, load_hub_keys
from hub.log.heads import latest_head, sign_for_cli
from hub.log.store import size
from hub.policy.bases import basis_ids
from hub.policy.policy import load_policy
from hub.protocol.canonical import b64encode
from hub.protocol.errors import HubError
from hub.settings import Settings
from hub.storage.database import open_database
from hub.storage.schema import migrate
from hub.users import add_user

__all__ = [
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


def is_initialised(settings: Settings) -> bool:
    """True if ``marac-hub init`` made the data directory (the hub's identity key is there)."""
    return (settings.data_dir / IDENTITY).exists()


def require_initialised(settings: Settings) -> None:
    """Refuse to run against a data directory ``marac-hub init`` has not made; narrow one
    an older hub left readable to its owner (0700)."""
    if not is_initialised(settings):
        raise HubError(
            f"{settings.data_dir} is not a hub data directory: run marac-hub init", code="not-found"
        )
    _narrow(settings.data_dir)


PRIVATE_DIRECTORY = 0o700


def private_data_dir(settings: Settings) -> None:
    """Make the data directory if it is missing, and leave it the owner's alone (0700),
    whatever the umask (or the mode it was made with: an older hub's, a package's)."""
    directory = settings.data_dir
    directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    _narrow(directory)


def _narrow(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if directory.stat().st_mode & 0o777 != PRIVATE_DIRECTORY:
            directory.chmod(PRIVATE_DIRECTORY)


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
            lambda: load_hub_keys(settings),
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
