"""``marac-hub send``: a free-text notice to one agency or to all active agencies."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli._context import disclosure_context, require_initialised, settings_from, with_engine
from hub.disclosure import Disclosed, Outcome, Refused, refuse_unless_disclosed
from hub.disclosure.extracts import send_notices


def register(sub: Any) -> None:
    """Add ``send``."""
    parser = sub.add_parser("send", help="send a free-text notice (sealed, queued, logged)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", help="agency id")
    target.add_argument("--all", action="store_true", help="every active agency")
    parser.add_argument("--text", required=True, help="the notice (no personal data)")
    parser.add_argument("--case-ref", help="case reference, if about a case")
    parser.add_argument("--by", default="cli", help="who sends it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Seal, queue and log in one transaction; the running hub delivers it."""
    settings = settings_from(args)
    require_initialised(settings)
    to = "all" if args.all else args.to

    async def work(engine: AsyncEngine) -> list[Outcome]:
        async with engine.begin() as conn:
            return list(
                await send_notices(
                    conn,
                    disclosure_context(settings),
                    to=to,
                    text=args.text,
                    case_ref=args.case_ref,
                    actor=args.by,
                )
            )

    outcomes = with_engine(settings, work)
    if to != "all":
        refuse_unless_disclosed(outcomes[0])
    for outcome in outcomes:
        if isinstance(outcome, Disclosed):
            print(f"queued {outcome.envelope_id} for {outcome.agency_id}")
        elif isinstance(outcome, Refused):
            print(f"not sent to {outcome.agency_id}: {outcome.code} (logged)")
    if not outcomes:
        print("no active agencies: nothing sent")
    return 0
