"""``marac-hub init`` and ``marac-hub serve``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from hub.cli._context import require_initialised, settings_from
from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub import serving
    from hub.app import bootstrap
else:
    bootstrap = lazy_module("hub.app.bootstrap")
    serving = lazy_module("hub.serving")

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
    serve.add_argument(
        "--log-format",
        choices=("json", "text"),
        help="log lines as JSON objects or plain text (default json; MARAC_HUB_LOG_FORMAT)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        help="the least severe level logged (default INFO; MARAC_HUB_LOG_LEVEL)",
    )
    serve.set_defaults(handler=run_serve)
    about = sub.add_parser("hub", help="this hub's identity: its key fingerprints")
    actions = about.add_subparsers(dest="hub_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the hub's identity and encryption key fingerprints "
        "(what agency-client enrol asks the agency to check)",
    )
    show.add_argument(
        "--check",
        action="store_true",
        help="also open the key files with the hub passphrase, proving each holds the "
        "private key of the fingerprint shown (slower: one Argon2id derivation a file)",
    )
    show.set_defaults(handler=run_hub_show)


def run_init(args: argparse.Namespace) -> int:
    """Create keys, migrate the database, add the first admin and print their token once."""
    settings = settings_from(args)
    done = asyncio.run(bootstrap.init_hub(settings, args.admin))
    print(f"initialised {settings.data_dir}")
    print(f"hub identity key  {done.identity_key}")
    print(f"hub fingerprint   {done.fingerprint}")
    print(f"admin token for {args.admin} (shown once, store it safely):\n{done.admin_token}")
    return 0


def run_hub_show(args: argparse.Namespace) -> int:
    """Print the fingerprints of the hub's public keys, read from its key files' public
    halves (no passphrase, no database); ``--check`` opens them to prove them."""
    settings = settings_from(args)
    require_initialised(settings)
    from hub.app.data_dir import hub_fingerprints  # noqa: PLC0415 (a quick command)

    identity, suite, encryption = hub_fingerprints(settings, check=args.check)
    print(f"hub id          {settings.hub_id} ({settings.data_dir})")
    print(f"hub identity    {identity}  ed25519")
    print(f"hub encryption  {encryption}  {suite}")
    if args.check:
        print("checked: each key file opens with the passphrase and holds that key")
    print("An agency enrolling checks the identity fingerprint against the one its client shows.")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted: one process, or ``--workers`` processes on one port."""
    settings = settings_from(args)
    flags = (
        ("host", args.host),
        ("port", args.port),
        ("log_format", args.log_format),
        ("log_level", args.log_level),
    )
    overrides = {k: v for k, v in flags if v is not None}
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
    where = f"http://{settings.host}:{settings.port}"
    listening: list[bool] = []

    processes = f" with {workers} processes" if workers > 1 else ""

    def ready() -> None:
        listening.append(True)
        print(f"marac-hub serving on {where}{processes}", flush=True)

    try:
        return serving.serve(settings, workers, ready=ready)
    except OSError as exc:
        if listening:
            raise
        raise HubError(
            f"cannot serve on {where}: {exc.strerror or exc}", code="hub-error"
        ) from None
