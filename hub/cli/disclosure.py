"""``marac-hub extract`` and ``marac-hub held``: disclosures a coordinator sends or reviews."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli._context import disclosure_context, require_initialised, settings_from, with_engine
from hub.disclosure import Disclosed, Held, Outcome, refuse_unless_disclosed
from hub.disclosure.extracts import send_extract
from hub.disclosure.review import HeldDisclosure, approve, list_held, reject


def register(sub: Any) -> None:
    """Add ``extract`` and ``held``."""
    parser = sub.add_parser(
        "extract", help="disclose a proportionate extract of a case to one agency"
    )
    parser.add_argument("case_ref", help="case reference (M-2026-0001)")
    parser.add_argument("--to", required=True, help="agency id")
    parser.add_argument(
        "--widen",
        action="append",
        default=[],
        metavar="FIELD",
        help="a field beyond the policy (needs --justification; flagged for the DPO)",
    )
    parser.add_argument("--justification", help="why this disclosure must be wider")
    parser.add_argument("--summary", help="a short note to go with the extract")
    parser.add_argument("--by", default="cli", help="who sends it")
    parser.set_defaults(handler=run_extract)

    held = sub.add_parser("held", help="disclosures held for review: list, approve, reject")
    actions = held.add_subparsers(dest="held_action", required=True)
    listing = actions.add_parser("list", help="list held disclosures")
    listing.add_argument("--all", action="store_true", help="include decided ones")
    listing.set_defaults(handler=run_list)
    for name, text in (("approve", "check again, then send"), ("reject", "send nothing")):
        decide = actions.add_parser(name, help=f"{name} a held disclosure ({text})")
        decide.add_argument("held_id")
        decide.add_argument("--by", default="cli", help="who decides")
        decide.set_defaults(handler=run_decide, approving=name == "approve")


def _print(outcome: Outcome) -> None:
    if isinstance(outcome, Disclosed):
        print(f"queued {outcome.envelope_id} for {outcome.agency_id}")
    elif isinstance(outcome, Held):
        print(f"held {outcome.id} for review before it goes to {outcome.agency_id}")


def run_extract(args: argparse.Namespace) -> int:
    """Seal, queue and log the extract (or hold it, or log the refusal and fail)."""
    settings = settings_from(args)
    require_initialised(settings)

    async def work(engine: AsyncEngine) -> Outcome:
        async with engine.begin() as conn:
            return await send_extract(
                conn,
                disclosure_context(settings),
                case_ref=args.case_ref,
                agency_id=args.to,
                actor=args.by,
                widen=frozenset(args.widen),
                justification=args.justification,
                summary=args.summary,
            )

    _print(refuse_unless_disclosed(with_engine(settings, work)))
    return 0


def _line(held: HeldDisclosure) -> str:
    cases = ",".join(held.case_refs) or "-"
    return (
        f"{held.id}  {held.status:<8} {held.purpose:<16} {held.agency_id:<24} {cases:<16} "
        f"{held.created_at:%Y-%m-%d %H:%M} by {held.requested_by}"
    )


def run_list(args: argparse.Namespace) -> int:
    """One line per held disclosure (no content)."""
    settings = settings_from(args)
    require_initialised(settings)

    async def work(engine: AsyncEngine) -> list[HeldDisclosure]:
        async with engine.connect() as conn:
            return await list_held(conn, status=None if args.all else "held")

    found = with_engine(settings, work)
    for held in found:
        print(_line(held))
    if not found:
        print("nothing held for review")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    """Approve (send) or reject a held disclosure; the decision is logged."""
    settings = settings_from(args)
    require_initialised(settings)

    async def work(engine: AsyncEngine) -> Outcome | None:
        async with engine.begin() as conn:
            ctx = disclosure_context(settings)
            if args.approving:
                return await approve(conn, ctx, args.held_id, by=args.by)
            await reject(conn, ctx, args.held_id, by=args.by)
            return None

    outcome = with_engine(settings, work)
    if outcome is None:
        print(f"rejected {args.held_id}: nothing sent")
        return 0
    _print(refuse_unless_disclosed(outcome))
    return 0
