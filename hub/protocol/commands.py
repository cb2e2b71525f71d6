"""The one place a command line turns a :class:`HubError` into one line and an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from hub.protocol.errors import HubError

__all__ = ["run_command"]


def run_command(
    parser: argparse.ArgumentParser, subcommands: Iterable[Any], argv: Sequence[str] | None
) -> int:
    """Register ``subcommands`` (modules with ``register(sub)``), parse, run the handler.

    A :class:`HubError` becomes ``prog: code: message`` on stderr and status 1; Ctrl-C 130.
    """
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in subcommands:
        module.register(sub)
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except HubError as exc:
        print(f"{parser.prog}: {exc.diagnostics()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status
