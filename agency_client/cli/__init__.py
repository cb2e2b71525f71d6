"""The ``agency-client`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agency_client.cli import enrol, inbox, keys, open_file, run, show
from hub import __version__
from hub.protocol.errors import HubError

__all__ = ["console", "main"]

_SUBCOMMANDS = (enrol, run, inbox, show, keys, open_file)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="agency-client",
        description="The agency end of marac-hub: enrol, receive, read and rotate keys.",
    )
    parser.add_argument("--version", action="version", version=f"agency-client {__version__}")
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
        print(f"agency-client: {exc.diagnostics()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
