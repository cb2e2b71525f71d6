"""The ``marac-hub`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hub import __version__
from hub.cli import demo
from hub.protocol.errors import HubError

__all__ = ["main"]

_SUBCOMMANDS = (demo,)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="marac-hub",
        description="The MARAC information-sharing hub: sealed, proportionate, logged.",
    )
    parser.add_argument("--version", action="version", version=f"marac-hub {__version__}")
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
