"""``agency-client action update ID …``: report progress on an action the agency owns."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, get_args

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir
from agency_client.cli.research import send_built
from agency_client.outbound import action_update
from hub.protocol.messages import ActionStatus, ActionUpdate

HELP = "report progress on an action this agency owns, sealed to the hub"


def register(sub: Any) -> None:
    """Add ``action update``."""
    parser = sub.add_parser("action", help=HELP, description=HELP)
    action_sub = parser.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    update = action_sub.add_parser(
        "update", help=HELP, description=HELP + " (from its stored action notice)"
    )
    update.add_argument("action_id", metavar="ACTION_ID", help="the action id (see show)")
    update.add_argument("--status", required=True, choices=get_args(ActionStatus))
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
        return action_update(
            store, args.action_id, status=args.status, now=now, note=args.note, reason=args.reason
        )

    message, sent = send_built(args, build)
    print(
        f"action {message.action_id} ({message.case_ref}) is now {message.status}: "
        f"sent as {sent['envelope_id']}" + (" (already received)" if sent.get("already") else "")
    )
    return 0
