"""``marac-hub init`` and ``marac-hub serve``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from aiohttp import web

from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import create_hub_keys
from hub.protocol.canonical import b64encode
from hub.server import create_app
from hub.service.appkeys import CHECKER
from hub.settings import Settings
from hub.storage.database import create_engine, migrate
from hub.users import add_user

MAX_WORKERS = 64


def register(sub: Any) -> None:
    """Add ``init`` and ``serve``."""
    init = sub.add_parser("init", help="make a data directory: keys, database, first admin")
    init.add_argument("--admin", default="admin", help="name of the first admin user")
    init.set_defaults(handler=run_init)
    serve = sub.add_parser("serve", help="serve the hub's HTTP API")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8470)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="hub processes sharing the port (default 1; more than 1 needs PostgreSQL)",
    )
    serve.set_defaults(handler=run_serve)


def run_init(args: argparse.Namespace) -> int:
    """Create keys, migrate the database, add the first admin and print their token once."""
    settings = settings_from(args)
    keys = create_hub_keys(settings)
    token = with_engine(
        settings, lambda engine: add_user(engine, args.admin, "admin", now=datetime.now(UTC))
    )
    print(f"initialised {settings.data_dir}")
    print(f"hub identity key  {b64encode(keys.identity.public.raw)}")
    print(f"hub fingerprint   {keys.identity.fingerprint}")
    print(f"admin token for {args.admin} (shown once, store it safely):\n{token}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted: one process, or ``--workers`` processes on one port."""
    settings = settings_from(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    require_initialised(settings)
    workers = args.workers
    if not 1 <= workers <= MAX_WORKERS:
        print(f"marac-hub: --workers is 1 to {MAX_WORKERS}", file=sys.stderr)
        return 2
    if workers > 1 and not settings.db_url.startswith("postgresql"):
        print(
            "marac-hub: --workers above 1 needs PostgreSQL (set MARAC_HUB_DATABASE_URL); "
            "SQLite serves from one process",
            file=sys.stderr,
        )
        return 2
    print(
        f"marac-hub serving on http://{settings.host}:{settings.port}"
        + (f" with {workers} processes" if workers > 1 else ""),
        flush=True,
    )
    if workers == 1:
        _serve(settings, reuse_port=False)
        return 0
    return _serve_workers(settings, workers)


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Once started (modules, keys, engine, policy loaded), move every object there is to
    the collector's permanent generation: a full collection no longer walks them all on
    the event loop's thread (62-66 ms pauses under load before, in the latency benchmark)."""
    gc.collect()
    gc.freeze()


async def _start_signature_checker(app: web.Application) -> None:
    """Start the helper process now: the first large batch of receipts need not wait."""
    if CHECKER in app:
        app[CHECKER].start()


def _serve(settings: Settings, *, reuse_port: bool) -> None:
    """One hub process (a worker shares the port with its siblings: ``SO_REUSEPORT``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    app.on_startup.append(_start_signature_checker)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=5,
        reuse_port=reuse_port or None,
    )


def _serve_workers(settings: Settings, workers: int) -> int:
    """Migrate once, start ``workers`` processes on the same port, stop them together.

    The kernel spreads incoming connections over the processes; they share the
    PostgreSQL database (see docs/deployment.md). If one exits, the others are stopped.
    """

    async def migrate_once() -> None:
        engine = create_engine(settings.db_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate_once())
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve, args=(settings,), kwargs={"reuse_port": True})
        for _ in range(workers)
    ]
    for child in children:
        child.start()

    signalled: set[int] = set()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Once each: a second SIGTERM would cut short a worker's graceful shutdown (its
        # cleanup cancelled, exit status 1) when the first to finish ends the wait below.
        for index, child in enumerate(children):
            if child.is_alive() and index not in signalled:
                signalled.add(index)
                child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        multiprocessing.connection.wait([c.sentinel for c in children])  # the first to end
        stop(signal.SIGTERM, None)
        for child in children:
            child.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    codes = [child.exitcode or 0 for child in children]
    return 0 if all(code in (0, -signal.SIGTERM) for code in codes) else 1
