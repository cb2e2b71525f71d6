"""``agency-client show ID``: print a stored message's decrypted payload."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, data_dir
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import rendered
else:
    rendered = lazy_module("agency_client.rendered")

HELP = "print a stored message, decrypted"


def register(sub: Any) -> None:
    """Add ``show``."""
    parser = sub.add_parser("show", help=HELP, description=HELP)
    parser.add_argument("id", help="the envelope id (see inbox)")
    add_dir(parser)
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Header on stderr, payload JSON (a rendered message's document) on stdout."""
    _, store = data_dir(args).unlock(passphrase.read(args))
    with store:
        message = store.message(args.id)
    i = message.info
    content = rendered.content_of(i.type, message.payload)
    kind = i.type if content.format == "json" else f"{content.message_type} ({content.format})"
    case = f" case {i.case_ref}" if i.case_ref else ""
    print(f"# {kind} {i.envelope_id} from {i.sender} at {i.sent_at}{case}", file=sys.stderr)
    print(json.dumps(content.document, indent=2, ensure_ascii=False))
    return 0
