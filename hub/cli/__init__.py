"""The ``marac-hub`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hub import __version__
from hub.cli import agency, alerts, demo, send, setup, staff
from hub.protocol.errors import HubError

__all__ = ["main"]

_SUBCOMMANDS = (setup, staff, agency, send, alerts, demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="marac-hub",
        description="The MARAC information-sharing hub: sealed, proportionate, logged.",
    )
    parser.add_argument("--version", action="version", version=f"marac-hub {__version__}")
    parser.add_argument("--data-dir", type=Path, help="data directory (MARAC_HUB_DATA_DIR)")
    parser.add_argument("--config", type=Path, help="TOML settings file (MARAC_HUB_CONFIG_FILE)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (MARAC_HUB_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; a :class:`HubError` becomes one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except HubError as exc:
        print(f"marac-hub: {exc.diagnostics()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
