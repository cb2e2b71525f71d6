"""``agency-client run``: receive, decrypt, store, acknowledge and hand on, until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, connection_options, data_dir
from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import sinks
    from agency_client import store as client_store
    from agency_client.datadir import DataDir
    from agency_client.sinks import Sink
else:
    sinks = lazy_module("agency_client.sinks")
    client_store = lazy_module("agency_client.store")

HELP = "receive from the hub: long-poll, decrypt, store, acknowledge, hand on to a sink"


def register(sub: Any) -> None:
    """Add ``run``."""
    parser = sub.add_parser("run", help=HELP, description=HELP)
    add_dir(parser)
    parser.add_argument(
        "--sink",
        metavar="SPEC",
        help="where each message goes once stored: folder:DIR (one JSON file each), stdout, "
        "or command:CMD (message JSON on stdin; non-zero exit = retry later). "
        "Without a sink messages stay in the encrypted store (see inbox, show) "
        "and go to the first sink given later",
    )
    parser.add_argument("--once", action="store_true", help="poll once, then exit")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="S",
        help="long-poll for up to S seconds, 0-60 (default 30; 0 with --once)",
    )
    parser.add_argument(
        "--rotate-days",
        type=float,
        default=7.0,
        metavar="D",
        help="make and announce a new encryption key every D days (at most and by default 7)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Set up the runner from the data directory and run it."""
    if args.wait is not None and not 0 <= args.wait <= 60:
        raise HubError("--wait must be between 0 and 60 seconds", code="bad-argument")
    if not 0 < args.rotate_days <= 7:
        # The key announced at enrolment is valid for 14 days: rotate well within that.
        raise HubError("--rotate-days must be more than 0 and at most 7", code="bad-argument")
    sink = sinks.parse_sink(args.sink) if args.sink else None
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    data = data_dir(args)
    if not data.enrolled():
        raise client_store.StoreError(
            f"{args.dir} is not enrolled: run 'agency-client enrol' first"
        )
    with data.run_lock():
        return asyncio.run(_main(args, data, sink))


async def _main(args: argparse.Namespace, data: DataDir, sink: Sink | None) -> int:
    from agency_client.hub_client import HubClient  # noqa: PLC0415 - aiohttp only when needed
    from agency_client.rotation import KeyRotation  # noqa: PLC0415
    from agency_client.runner import Runner, RunnerSettings  # noqa: PLC0415

    secret = passphrase.read(args)
    identity, store = await asyncio.to_thread(data.unlock, secret)
    with store:
        hub_key = store.hub_key()
        if hub_key is None:
            raise client_store.StoreError(f"{args.dir} has no pinned hub key: enrol first")
        settings = RunnerSettings(
            wait=args.wait if args.wait is not None else (0.0 if args.once else 30.0)
        )
        async with HubClient(
            store.require_config("hub_url"),
            store.require_config("agency_id"),
            identity,
            **connection_options(store),
        ) as client:
            rotation = KeyRotation(
                client, store, data.keys, secret, every=timedelta(days=args.rotate_days)
            )
            runner = Runner(client, store, rotation, hub_key, sink, settings=settings)
            if args.once:
                await runner.start()
                report = await runner.cycle()
                if report is None:
                    return 130
                print(report.summary(), file=sys.stderr)
                if report.witness is not None:
                    line = report.witness.message
                    if report.witness.alarm:
                        line = f"LOG FORK: {line}; the checkpoint was NOT cosigned"
                    print(f"witness: {line}", file=sys.stderr)
                return 1 if report.pending or (report.witness and report.witness.alarm) else 0
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, runner.stop)
            agency, hub_url = store.require_config("agency_id"), store.require_config("hub_url")

            def waiting() -> None:
                print(
                    f"agency-client: connected to {hub_url} as {agency}; waiting for messages "
                    "(Ctrl-C stops)",
                    file=sys.stderr,
                    flush=True,
                )

            try:
                await runner.run(waiting=waiting)
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
    return 0
