"""``agency-client action update ID …``: report progress on an action the agency owns."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir
from agency_client.cli.research import send_built
from hub.protocol.commands import lazy_choice, lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import outbound
    from hub.protocol.messages import ActionUpdate
else:
    outbound = lazy_module("agency_client.outbound")

HELP = "report progress on an action this agency owns, sealed to the hub"


def register(sub: Any) -> None:
    """Add ``action update``."""
    parser = sub.add_parser("action", help=HELP, description=HELP)
    action_sub = parser.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    update = action_sub.add_parser(
        "update", help=HELP, description=HELP + " (from its stored action notice)"
    )
    update.add_argument("action_id", metavar="ACTION_ID", help="the action id (see show)")
    update.add_argument(
        "--status", required=True, **lazy_choice("hub.protocol.messages", "ActionStatus", "STATUS")
    )
    update.add_argument("--note", help="what was done")
    update.add_argument(
        "--reason", help="why the action is not completed (required when cancelled)"
    )
    add_dir(update)
    passphrase.add_argument(update)
    update.set_defaults(handler=run_update)


def run_update(args: argparse.Namespace) -> int:
    """Build the update from the stored notice, send it, print one line."""

    def build(store: Any, _agency_id: str, now: datetime) -> ActionUpdate:
        return outbound.action_update(
            store, args.action_id, status=args.status, now=now, note=args.note, reason=args.reason
        )

    message, sent = send_built(args, build)
    print(
        f"action {message.action_id} ({message.case_ref}) is now {message.status}: "
        f"sent as {sent['envelope_id']}" + (" (already received)" if sent.get("already") else "")
    )
    return 0
