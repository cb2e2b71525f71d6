"""The one place a command line turns a :class:`HubError` into one line and an exit status."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
import threading
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn

from hub.protocol.errors import HubError

__all__ = ["LazyChoices", "lazy_choice", "lazy_module", "run_command", "run_console"]


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
    _leave(status)


def _leave(status: int) -> NoReturn:
    """Exit with ``status`` without tearing the interpreter down: freeing every module
    and object SQLAlchemy, pydantic and the hub loaded takes a tenth of a second, longer
    than a quick command's own work. What exit would do that matters runs first: the
    ``atexit`` handlers (log handlers flushed and closed, ``weakref.finalize`` callbacks)
    and a flush of both streams. Where a thread that is not a daemon still runs, an
    ordinary exit waits for it, as it always did. (Every file the hub writes is written
    in a ``with`` block, closed before this.)"""
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a pipe gone
            stream.flush()
    os._exit(status)


class _LazyModule:
    """A module imported when one of its names is first read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """``name``, imported on first use. A command line builds its whole parser (``--help``)
    without importing what only its handlers need (SQLAlchemy, aiohttp, the models):

        if TYPE_CHECKING:
            from hub.app import cases as cases_app
        else:
            cases_app = lazy_module("hub.app.cases")
    """
    return _LazyModule(name)


class LazyChoices(Sequence[str]):
    """An option's ``choices``, read from ``module``'s ``name`` (a sequence or a ``Literal``)
    only when argparse checks a value or prints that option's help."""

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name

    def _values(self) -> Sequence[str]:
        values = getattr(importlib.import_module(self._module), self._name)
        # A Literal type's values, or a sequence of them.
        listed: Sequence[str] = typing.get_args(values) or values
        return listed

    def __getitem__(self, index: Any) -> Any:
        return self._values()[index]

    def __len__(self) -> int:
        return len(self._values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __contains__(self, value: object) -> bool:
        return value in self._values()


def lazy_choice(module: str, name: str, metavar: str, what: str | None = None) -> dict[str, Any]:
    """``add_argument`` keywords for an option whose choices are ``module``'s ``name``, read
    only when a value is checked or the option's help is printed (argparse would read
    them as the option is added unless it has a ``metavar``)."""
    listed = "one of %(choices)s"
    return {
        "choices": LazyChoices(module, name),
        "metavar": metavar,
        "help": f"{what}: {listed}" if what else listed,
    }
