"""``agency-client ui``: the agency's local web workspace (see :mod:`agency_client.workspace`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import timedelta
from typing import Any

from agency_client.cli._common import add_dir, data_dir
from hub.protocol.errors import HubError

HELP = "open the agency's workspace in a browser: inbox, cases, research responses, actions"
DESCRIPTION = (
    HELP + ". Serves on 127.0.0.1 only, on a random port, and prints a link that works once; "
    "the workspace asks for the key passphrase, keeps the keys in memory only and locks "
    "after --idle-minutes without use. Stop it with Ctrl-C."
)


def register(sub: Any) -> None:
    """Add ``ui``."""
    parser = sub.add_parser("ui", help=HELP, description=DESCRIPTION)
    add_dir(parser)
    parser.add_argument(
        "--idle-minutes",
        type=float,
        default=15.0,
        metavar="M",
        help="lock after M minutes without use, 1-480 (default 15)",
    )
    parser.add_argument(
        "--open-browser",
        action="store_true",
        help="also try to open the link in this computer's default browser",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve the workspace until stopped."""
    if not 1 <= args.idle_minutes <= 480:
        raise HubError("--idle-minutes must be between 1 and 480", code="bad-argument")
    from agency_client.store import StoreError  # noqa: PLC0415 - --help stays light

    data = data_dir(args)
    if not data.enrolled():
        raise StoreError(f"{args.dir} is not enrolled: run 'agency-client enrol' first")
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from agency_client.workspace.app import serve  # noqa: PLC0415 - aiohttp, jinja2 only here
    from agency_client.workspace.guard import Guard  # noqa: PLC0415

    guard = Guard(data_dir(args), idle=timedelta(minutes=args.idle_minutes))
    runner = await serve(guard)
    try:
        print(f"agency-client workspace: open {guard.link}", flush=True)
        print(
            "The link works once, from this computer only. Ctrl-C stops the workspace.",
            file=sys.stderr,
            flush=True,
        )
        if args.open_browser:
            import webbrowser  # noqa: PLC0415

            with contextlib.suppress(webbrowser.Error):
                webbrowser.open(guard.link)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
