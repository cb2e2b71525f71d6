"""The ``agency-client`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from agency_client.cli import (
    action,
    enrol,
    inbox,
    keys,
    log,
    open_file,
    receive,
    research,
    run,
    show,
    ui,
    witness,
)
from hub import __version__
from hub.protocol.commands import run_command, run_console

__all__ = ["console", "main"]

_SUBCOMMANDS = (
    enrol,
    run,
    receive,
    inbox,
    show,
    open_file,
    research,
    action,
    keys,
    log,
    ui,
    witness,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser (subcommands are added by ``main``)."""
    parser = argparse.ArgumentParser(
        prog="agency-client",
        description="The agency end of marac-hub: enrol, receive, read and rotate keys.",
    )
    parser.add_argument("--version", action="version", version=f"agency-client {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; a :class:`HubError` becomes one line on stderr and exit status 1."""
    return run_command(build_parser(), _SUBCOMMANDS, argv)


def console() -> None:
    """Console-script entry point (a closed pipe: one line and status 1)."""
    run_console("agency-client", main)
