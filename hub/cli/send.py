"""``marac-hub send``: a free-text notice to one agency or to all active agencies."""

from __future__ import annotations

import argparse
from typing import Any

from hub.cli._context import require_initialised, settings_from, with_engine
from hub.delivery.notices import send_notice
from hub.hub_keys import load_hub_keys


def register(sub: Any) -> None:
    """Add ``send``."""
    parser = sub.add_parser("send", help="send a free-text notice (sealed, queued)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", help="agency id")
    target.add_argument("--all", action="store_true", help="every active agency")
    parser.add_argument("--text", required=True, help="the notice (no personal data)")
    parser.add_argument("--case-ref", help="case reference, if about a case")
    parser.add_argument("--by", default="cli", help="who sends it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Seal and queue in one transaction; the running hub delivers it."""
    settings = settings_from(args)
    require_initialised(settings)
    keys = load_hub_keys(settings)
    queued = with_engine(
        settings,
        lambda engine: send_notice(
            engine,
            keys,
            settings,
            to="all" if args.all else args.to,
            text=args.text,
            case_ref=args.case_ref,
            sent_by=args.by,
        ),
    )
    for envelope_id, agency_id in queued:
        print(f"queued {envelope_id} for {agency_id}")
    if not queued:
        print("no active agencies: nothing sent")
    return 0
