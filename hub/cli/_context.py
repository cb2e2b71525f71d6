"""What every hub subcommand needs: settings from flags and environment, and a database."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app.actor import Actor
from hub.app.identity import cli_actor
from hub.app.runtime import Runtime
from hub.disclosure import DisclosureContext
from hub.hub_keys import IDENTITY, load_hub_keys
from hub.log.heads import latest_head, sign_for_cli
from hub.log.store import size
from hub.policy import load_policy
from hub.policy.bases import basis_ids
from hub.protocol.errors import HubError
from hub.settings import Settings, load_settings
from hub.storage.database import create_engine, migrate

T = TypeVar("T")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings: flags over ``MARAC_HUB_*`` over the TOML file."""
    try:
        return load_settings(
            data_dir=args.data_dir, config_file=args.config, database_url=args.database_url
        )
    except ValueError as exc:
        first = str(exc).splitlines()
        raise HubError(f"bad setting: {' '.join(first[:3])}", code="malformed") from None


def require_initialised(settings: Settings) -> None:
    """Refuse to run against a data directory ``marac-hub init`` has not made."""
    if not (settings.data_dir / IDENTITY).exists():
        raise HubError(
            f"{settings.data_dir} is not a hub data directory: run marac-hub init", code="not-found"
        )


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` with a migrated engine, then close it.

    A command that appended to the disclosure log signs a tree head before it exits, so
    what it sent is provable at once, whether or not a hub process is running.
    """

    async def run() -> T:
        engine = create_engine(settings.db_url)
        try:
            await migrate(engine)
            result = await work(engine)
            async with engine.connect() as conn:
                newest = await latest_head(conn, settings.hub_id)
                grew = await size(conn) > (newest.size if newest else 0)
            if grew:
                await sign_for_cli(engine, settings)
            return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def disclosure_context(settings: Settings) -> DisclosureContext:
    """Keys, settings and the disclosure policy, for a command that discloses now."""
    return DisclosureContext(
        load_hub_keys(settings), settings, load_policy(settings.policy_file), datetime.now(UTC)
    )


def with_runtime(args: argparse.Namespace, work: Callable[[Runtime, Actor], Awaitable[T]]) -> T:
    """Run one use-case as ``--by`` (an active member of staff; default: the operator),
    with the hub's keys loaded only if the use-case asks for them."""
    settings = settings_from(args)
    require_initialised(settings)

    async def run(engine: AsyncEngine) -> T:
        async with engine.connect() as conn:
            known = await basis_ids(conn)
        runtime = Runtime(
            engine,
            lambda: load_hub_keys(settings),
            settings,
            lambda: load_policy(settings.policy_file, basis_ids=known),
        )
        return await work(runtime, await cli_actor(runtime, getattr(args, "by", None)))

    return with_engine(settings, run)
