"""``agency-client receive --listen HOST:PORT``: the agency's end of the webhook transport."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from datetime import timedelta
from pathlib import Path
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

HELP = (
    "receive webhook deliveries: verify the hub's signature, decrypt, store, answer with a "
    "signed receipt, hand on to a sink"
)
MAINTAIN_EVERY = 3600.0


def register(sub: Any) -> None:
    """Add ``receive``."""
    parser = sub.add_parser("receive", help=HELP, description=HELP)
    add_dir(parser)
    parser.add_argument("--listen", required=True, metavar="HOST:PORT", help="address to serve on")
    parser.add_argument("--path", default="/", help="the URL path the hub POSTs to (default /)")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this cert")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="... and this private key")
    parser.add_argument(
        "--sink", metavar="SPEC", help="where each message goes once stored (as for run)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 in brackets) as a host and a port number."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise HubError("--listen must be HOST:PORT, e.g. 0.0.0.0:8443", code="bad-argument")
    return host, int(port)


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise HubError("give both --tls-cert and --tls-key, or neither", code="bad-argument")
    if args.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise HubError(f"cannot load the TLS certificate: {exc}", code="bad-argument") from None
    return context


def run(args: argparse.Namespace) -> int:
    """Serve until stopped."""
    host, port = parse_listen(args.listen)
    if not args.path.startswith("/") or len(args.path) > 200:
        raise HubError("--path must start with /", code="bad-argument")
    tls = _tls(args)
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
        return asyncio.run(_main(args, data, sink, (host, port), tls))


async def _main(
    args: argparse.Namespace,
    data: DataDir,
    sink: Sink | None,
    address: tuple[str, int],
    tls: ssl.SSLContext | None,
) -> int:
    from aiohttp import web  # noqa: PLC0415 - aiohttp only when needed

    from agency_client.hub_client import HubClient  # noqa: PLC0415
    from agency_client.receiver import WebhookReceiver  # noqa: PLC0415
    from agency_client.rotation import KeyRotation  # noqa: PLC0415
    from agency_client.runner import CycleReport, Runner, RunnerSettings  # noqa: PLC0415

    secret = passphrase.read(args)
    identity, store = await asyncio.to_thread(data.unlock, secret)
    with store:
        hub_key = store.hub_key()
        if hub_key is None:
            raise client_store.StoreError(f"{args.dir} has no pinned hub key: enrol first")
        agency_id = store.require_config("agency_id")
        async with HubClient(
            store.require_config("hub_url"), agency_id, identity, **connection_options(store)
        ) as client:
            rotation = KeyRotation(client, store, data.keys, secret, every=timedelta(days=7))
            runner = Runner(
                client, store, rotation, hub_key, sink, settings=RunnerSettings(check_log=False)
            )
            await runner.start()
            receiver = WebhookReceiver(
                agency_id,
                identity,
                store,
                rotation,
                hub_key,
                hand_over=lambda: runner.hand_over(CycleReport()),
            )
            web_runner = web.AppRunner(receiver.app(args.path))
            await web_runner.setup()
            await web.TCPSite(web_runner, address[0], address[1], ssl_context=tls).start()
            print(f"receiving on {address[0]}:{address[1]}{args.path}", file=sys.stderr)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            try:
                while not stop.is_set():
                    try:  # keys must keep rotating: the hub seals to the newest
                        await rotation.maintain()
                    except HubError as exc:
                        logging.getLogger(__name__).warning("key upkeep: %s", exc.diagnostics())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), MAINTAIN_EVERY)
            finally:
                await web_runner.cleanup()
                await receiver.drain()
    return 0
