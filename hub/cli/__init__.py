"""The ``marac-hub`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

from hub import __version__
from hub.protocol.commands import run_command, run_console

# Each command's module, in the order ``--help`` lists them. ``main`` imports only the
# module of the command a command line names (the others' parsers are neither imported
# nor built); ``--help``, ``--version``, no command or an unknown one get them all.
# tests/test_cli_polish.py checks this table against what each module registers.
_MODULES: Final = (
    "setup",
    "staff",
    "agency",
    "policy",
    "areas",
    "cases",
    "retention",
    "meetings",
    "disclosure",
    "send",
    "alerts",
    "log",
    "db",
    "backup",
    "demo",
)
_COMMANDS: Final = {
    "init": "setup",
    "serve": "setup",
    "hub": "setup",
    "user": "staff",
    "agency": "agency",
    "basis": "policy",
    "isp": "policy",
    "policy": "policy",
    "area": "areas",
    "case": "cases",
    "report": "retention",
    "retention": "retention",
    "meeting": "meetings",
    "action": "meetings",
    "extract": "disclosure",
    "held": "disclosure",
    "send": "send",
    "alerts": "alerts",
    "log": "log",
    "db": "db",
    "backup": "backup",
    "restore": "backup",
    "demo": "demo",
}
_GLOBAL_OPTIONS: Final = ("--data-dir", "--config", "--database-url")  # each takes a value
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
    return run_command(build_parser(), _modules(_named(argv)), argv)


def _named(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The module of the command ``argv`` names after the global options, or all."""
    args = list(sys.argv[1:] if argv is None else argv)
    at = 0
    while at < len(args):
        arg = args[at]
        if arg in _GLOBAL_OPTIONS:
            at += 2
        elif arg.startswith(tuple(f"{option}=" for option in _GLOBAL_OPTIONS)):
            at += 1
        elif arg.startswith("-"):
            return _MODULES  # --help, --version or an unknown option: the whole parser
        else:
            module = _COMMANDS.get(arg)
            return (module,) if module is not None else _MODULES
    return _MODULES


def _modules(names: Sequence[str]) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"hub.cli.{name}") for name in names)


def __getattr__(name: str) -> tuple[ModuleType, ...]:
    if name == "_SUBCOMMANDS":  # every command's module, in order (for tests and tools)
        return _modules(_MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def console() -> None:
    """Console-script entry point; without the server extra, one line and status 1."""
    missing = next((m for m in _SERVER_LIBRARIES if importlib.util.find_spec(m) is None), None)
    if missing is not None:
        sys.exit(
            "marac-hub: the hub server needs `pip install 'marac-hub[server]'` "
            f"({missing} is not installed; this install has agency-client only)"
        )
    run_console("marac-hub", main)
