"""The ``marac-hub`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from hub import __version__
from hub.cli import (
    agency,
    alerts,
    areas,
    backup,
    cases,
    db,
    demo,
    disclosure,
    log,
    meetings,
    policy,
    retention,
    send,
    setup,
    staff,
)
from hub.protocol.commands import run_command, run_console

# The subcommands' modules import only argparse and each other; what a command needs
# (SQLAlchemy, aiohttp, the models) is imported when it runs, so ``--help`` is quick.
_SUBCOMMANDS: tuple[ModuleType, ...] = (
    setup,
    staff,
    agency,
    policy,
    areas,
    cases,
    retention,
    meetings,
    disclosure,
    send,
    alerts,
    log,
    db,
    backup,
    demo,
)
# `pip install marac-hub` alone is the agency's install (agency-client only): without the
# server extra these are missing, and `console` says so in one line.
_SERVER_LIBRARIES = ("sqlalchemy", "alembic", "pydantic_settings", "aiohttp_jinja2")

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser (subcommands are added by ``main``)."""
    parser = argparse.ArgumentParser(
        prog="marac-hub",
        description="The MARAC information-sharing hub: sealed, proportionate, logged.",
    )
    parser.add_argument("--version", action="version", version=f"marac-hub {__version__}")
    parser.add_argument("--data-dir", type=Path, help="data directory (MARAC_HUB_DATA_DIR)")
    parser.add_argument("--config", type=Path, help="TOML settings file (MARAC_HUB_CONFIG_FILE)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (MARAC_HUB_DATABASE_URL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; a :class:`HubError` becomes one line on stderr and exit status 1."""
    return run_command(build_parser(), _SUBCOMMANDS, argv)


def console() -> None:
    """Console-script entry point; without the server extra, one line and status 1."""
    missing = next((m for m in _SERVER_LIBRARIES if importlib.util.find_spec(m) is None), None)
    if missing is not None:
        sys.exit(
            "marac-hub: the hub server needs `pip install 'marac-hub[server]'` "
            f"({missing} is not installed; this install has agency-client only)"
        )
    run_console("marac-hub", main)
