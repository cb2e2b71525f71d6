"""The one place a command line turns a :class:`HubError` into one line and an exit status."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from hub.protocol.errors import HubError

__all__ = ["run_command", "run_console"]


def run_command(
    parser: argparse.ArgumentParser, subcommands: Iterable[Any], argv: Sequence[str] | None
) -> int:
    """Register ``subcommands`` (modules with ``register(sub)``), parse, run the handler.

    A :class:`HubError` becomes ``prog: code: message`` on stderr and status 1; Ctrl-C 130.
    """
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in subcommands:
        module.register(sub)
    _finish(parser)
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except HubError as exc:
        print(f"{parser.prog}: {exc.diagnostics()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def _finish(parser: argparse.ArgumentParser) -> None:
    """No abbreviated options anywhere (``--al`` is not ``--all``), and each subcommand's
    one-line help as its ``--help`` description when it has none of its own."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if child.description is None:
                    child.description = helps.get(name)
                _finish(child)


def run_console(prog: str, main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s status; output cut short by a closed pipe (``… | head``)
    is one line on stderr and status 1, not a ``BrokenPipeError`` traceback."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Whatever is still buffered goes nowhere, so the exit's own flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"{prog}: output closed before it was all written (broken pipe)", file=sys.stderr)
        sys.exit(1)
    sys.exit(status)
