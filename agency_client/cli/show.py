"""``agency-client show ID``: print a stored message's decrypted payload."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, data_dir

HELP = "print a stored message, decrypted"


def register(sub: Any) -> None:
    """Add ``show``."""
    parser = sub.add_parser("show", help=HELP, description=HELP)
    parser.add_argument("id", help="the envelope id (see inbox)")
    add_dir(parser)
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Header on stderr, payload JSON on stdout."""
    _, store = data_dir(args).unlock(passphrase.read(args))
    with store:
        message = store.message(args.id)
    i = message.info
    case = f" case {i.case_ref}" if i.case_ref else ""
    print(f"# {i.type} {i.envelope_id} from {i.sender} at {i.sent_at}{case}", file=sys.stderr)
    print(json.dumps(message.payload, indent=2, ensure_ascii=False))
    return 0
