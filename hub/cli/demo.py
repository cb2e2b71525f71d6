"""``marac-hub demo``: the real hub on loopback with demo agencies enrolled (``hub.demo``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hub.cli._context import settings_from
from hub.protocol.commands import lazy_module

# Imported when the demo runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub import demo
else:
    demo = lazy_module("hub.demo")

HELP = "run the hub on loopback with demo agencies enrolled (--seal-only: no server)"


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = sub.add_parser("demo", help=HELP, description=HELP)
    parser.add_argument("--port", type=int, default=8470, help="port (default 8470)")
    parser.add_argument(
        "--seal-only",
        action="store_true",
        help="only seal and open a sample envelope, with no server",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo hub, or the offline sealing demo."""
    if args.seal_only:
        return demo.seal_demo()
    return demo.run_demo(settings_from(args).model_copy(update={"port": args.port}))
