"""``marac-hub send``: a free-text notice to one agency or to all the agencies the sender
may reach."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by
from hub.cli.disclosure import signed_then_raised
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import notices as notices_app
else:
    notices_app = lazy_module("hub.app.notices")


def register(sub: Any) -> None:
    """Add ``send``."""
    parser = sub.add_parser("send", help="send a free-text notice (sealed, queued, logged)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", help="agency id")
    target.add_argument(
        "--all", action="store_true", help="every active agency (a coordinator: of their areas)"
    )
    parser.add_argument("--text", required=True, help="the notice (no personal data)")
    parser.add_argument(
        "--case-ref", help="case reference, if about a case (then only its area's agencies)"
    )
    add_by(parser, "who sends it")
    parser.set_defaults(handler=run, use_case="disclosure.notice")


def run(args: argparse.Namespace) -> int:
    """Seal, queue and log in one transaction; the running hub delivers it. Exit status
    1 when nothing was queued, whatever the reason."""
    to = "all" if args.all else args.to
    outcomes = signed_then_raised(
        args, lambda rt, who: notices_app.send_notice(rt, who, to, args.text, args.case_ref)
    )
    queued = 0
    for outcome in outcomes:
        if isinstance(outcome, notices_app.Disclosed):
            queued += 1
            print(f"queued {outcome.envelope_id} for {outcome.agency_id}")
        elif isinstance(outcome, notices_app.Refused):
            print(f"not sent to {outcome.agency_id}: {outcome.code}: {outcome.reason} (logged)")
    if queued:
        return 0
    if not outcomes:
        print("marac-hub: no active agencies: nothing sent", file=sys.stderr)
    else:
        print("marac-hub: nothing sent (each refusal is above)", file=sys.stderr)
    return 1
