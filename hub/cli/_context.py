"""What every hub subcommand needs: settings from flags and environment, and a runtime."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError

# Imported when a command runs, not when the parser is built (``--help`` stays quick).
if TYPE_CHECKING:
    from hub import settings as hub_settings
    from hub.app import bootstrap, data_dir, identity
    from hub.app.actor import Actor
    from hub.app.runtime import Runtime
    from hub.settings import Settings
else:
    bootstrap = lazy_module("hub.app.bootstrap")
    data_dir = lazy_module("hub.app.data_dir")
    identity = lazy_module("hub.app.identity")
    hub_settings = lazy_module("hub.settings")

__all__ = [
    "add_by",
    "require_initialised",
    "settings_from",
    "with_runtime",
    "with_settings_runtime",
]

T = TypeVar("T")


def add_by(
    parser: argparse.ArgumentParser, what: str = "who does it", *, alias: bool = True
) -> None:
    """Add ``--by USER``: the member of staff who acts, whose role and areas apply; without
    it, the hub's operator. ``--actor`` (unless ``alias`` is False) is its deprecated older
    spelling, still accepted but left out of ``--help``."""
    parser.add_argument(
        "--by",
        dest="by",
        metavar="USER",
        help=f"{what}: an active member of staff, whose role and areas apply "
        "(default: the hub's operator; recorded in the log)",
    )
    if alias:
        parser.add_argument("--actor", dest="by", metavar="USER", help=argparse.SUPPRESS)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings: flags over ``MARAC_HUB_*`` over the TOML file."""
    try:
        return hub_settings.load_settings(
            data_dir=args.data_dir, config_file=args.config, database_url=args.database_url
        )
    except ValueError as exc:
        first = str(exc).splitlines()
        raise HubError(f"bad setting: {' '.join(first[:3])}", code="malformed") from None


def require_initialised(settings: Settings) -> None:
    """Refuse, in one line, a data directory ``marac-hub init`` has not made."""
    data_dir.require_initialised(settings)


def with_settings_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work`` with the runtime of the hub ``settings`` names (no actor: for what
    is not a staff action, such as reading the bundled defaults)."""

    async def run() -> T:
        async with bootstrap.open_runtime(settings) as runtime:
            return await work(runtime)

    return asyncio.run(run())


def with_runtime(args: argparse.Namespace, work: Callable[[Runtime, Actor], Awaitable[T]]) -> T:
    """Run one use-case as ``--by`` (an active member of staff; default: the operator),
    with the hub's keys loaded only if the use-case asks for them."""
    settings = settings_from(args)
    require_initialised(settings)

    async def run(runtime: Runtime) -> T:
        return await work(runtime, await identity.cli_actor(runtime, getattr(args, "by", None)))

    return with_settings_runtime(settings, run)
