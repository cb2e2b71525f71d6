"""``marac-hub alerts``: what a coordinator must look at (expired envelopes, for now)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import agencies as agency_app
else:
    agency_app = lazy_module("hub.app.agencies")


def register(sub: Any) -> None:
    """Add ``alerts``."""
    parser = sub.add_parser(
        "alerts",
        help="list open alerts (envelopes that expired undelivered)",
        description="Open alerts, oldest first: every alert for an admin (the operator by "
        "default), those about the agencies serving a coordinator's areas for a coordinator.",
    )
    add_by(parser, "who asks")
    parser.set_defaults(handler=run, use_case="alert.list")


def run(args: argparse.Namespace) -> int:
    """Print open alerts, oldest first."""
    rows = with_runtime(args, agency_app.open_alerts)
    for row in rows:
        print(
            f"{row.created_at:%Y-%m-%d %H:%M} {row.kind:<18} {row.agency_id or '-':<24} "
            f"{row.envelope_id or '-'}"
        )
    if not rows:
        print("no open alerts")
    return 0
