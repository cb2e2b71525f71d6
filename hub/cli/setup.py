"""``marac-hub init`` and ``marac-hub serve``."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import create_hub_keys
from hub.protocol.canonical import b64encode
from hub.service.app import create_app
from hub.users import add_user


def register(sub: Any) -> None:
    """Add ``init`` and ``serve``."""
    init = sub.add_parser("init", help="make a data directory: keys, database, first admin")
    init.add_argument("--admin", default="admin", help="name of the first admin user")
    init.set_defaults(handler=run_init)
    serve = sub.add_parser("serve", help="serve the hub's HTTP API")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8470)")
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
    """Serve until interrupted."""
    settings = settings_from(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    require_initialised(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    print(f"marac-hub serving on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(
        create_app(settings), host=settings.host, port=settings.port, print=None, shutdown_timeout=5
    )
    return 0
