"""``agency-client inbox``: list stored messages (no passphrase needed: no content shown)."""

from __future__ import annotations

import argparse
from typing import Any

from agency_client.cli._common import add_dir, data_dir

HELP = "list the messages received and stored"


def register(sub: Any) -> None:
    """Add ``inbox``."""
    parser = sub.add_parser("inbox", help=HELP, description=HELP)
    add_dir(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """One line per message: id, type, case ref, received, handed."""
    with data_dir(args).open_store() as store:
        messages = store.messages()
    if not messages:
        print("no messages")
        return 0
    print(f"{'ID':<26}  {'TYPE':<17} {'CASE':<14} {'RECEIVED':<27} HANDED")
    for m in messages:
        case, handed = m.case_ref or "-", m.handed_at or "no"
        print(f"{m.envelope_id:<26}  {m.type:<17} {case:<14} {m.received_at:<27} {handed}")
    return 0
