"""``marac-hub extract`` and ``marac-hub held``: disclosures a coordinator sends or reviews,
and an area's four-eyes setting."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import disclosures as disclosures_app
    from hub.app.actor import Actor
    from hub.app.runtime import Runtime
else:
    disclosures_app = lazy_module("hub.app.disclosures")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Failed:
    error: HubError


def signed_then_raised(
    args: argparse.Namespace, call: Callable[[Runtime, Actor], Awaitable[T]]
) -> T:
    """``with_runtime``, with the use-case's error raised only once the command has signed
    a tree head over what it logged (a refusal is kept in the log, then reported)."""

    async def work(rt: Runtime, who: Actor) -> T | _Failed:
        try:
            return await call(rt, who)
        except HubError as exc:
            return _Failed(exc)

    result = with_runtime(args, work)
    if isinstance(result, _Failed):
        raise result.error
    return result


def register(sub: Any) -> None:
    """Add ``extract`` and ``held``."""
    parser = sub.add_parser(
        "extract", help="disclose a proportionate extract of a case to one agency"
    )
    parser.add_argument("case_ref", help="case reference (M-2026-0001)")
    parser.add_argument("--to", required=True, help="agency id (serving the case's area)")
    parser.add_argument(
        "--widen",
        action="append",
        default=[],
        metavar="FIELD",
        help="a field beyond the policy (needs --justification; flagged for the DPO and, "
        "with four eyes on, held for a second person)",
    )
    parser.add_argument("--justification", help="why this disclosure must be wider")
    parser.add_argument("--summary", help="a short note to go with the extract")
    add_by(parser, "who sends it")
    parser.set_defaults(handler=run_extract, use_case="disclosure.extract")

    held = sub.add_parser("held", help="disclosures held for review: list, approve, reject")
    actions = held.add_subparsers(dest="held_action", required=True)
    listing = actions.add_parser("list", help="list held disclosures")
    listing.add_argument("--all", action="store_true", help="include decided ones")
    add_by(listing, "who lists them (a coordinator sees their areas')")
    listing.set_defaults(handler=run_list, use_case="held.list")
    for name, text in (("approve", "check again, then send"), ("reject", "send nothing")):
        decide = actions.add_parser(name, help=f"{name} a held disclosure ({text})")
        decide.add_argument("held_id")
        add_by(decide, "who decides (four eyes: not who asked)")
        decide.set_defaults(
            handler=run_decide, approving=name == "approve", use_case=f"held.{name}"
        )
    eyes = actions.add_parser(
        "four-eyes", help="whether an area's holds and overrides need a second person"
    )
    eyes.add_argument("area")
    eyes.add_argument("state", choices=("on", "off"))
    add_by(eyes, "who changes it (an admin)")
    eyes.set_defaults(handler=run_four_eyes, use_case="area.four-eyes")


def _print(outcome: disclosures_app.Outcome) -> None:
    if isinstance(outcome, disclosures_app.Disclosed):
        print(f"queued {outcome.envelope_id} for {outcome.agency_id}")
    elif isinstance(outcome, disclosures_app.Held):
        print(f"held {outcome.id} for review before it goes to {outcome.agency_id}")


def run_extract(args: argparse.Namespace) -> int:
    """Seal, queue and log the extract (or hold it, or log the refusal and fail)."""
    outcome = signed_then_raised(
        args,
        lambda rt, who: disclosures_app.send_extract(
            rt,
            who,
            args.case_ref,
            args.to,
            widen=frozenset(args.widen),
            justification=args.justification,
            summary=args.summary,
        ),
    )
    _print(outcome)
    return 0


def _line(held: disclosures_app.HeldDisclosure) -> str:
    cases = ",".join(held.case_refs) or "-"
    return (
        f"{held.id}  {held.status:<8} {held.purpose:<16} {held.agency_id:<24} {cases:<16} "
        f"{held.created_at:%Y-%m-%d %H:%M} by {held.requested_by}"
    )


def run_list(args: argparse.Namespace) -> int:
    """One line per held disclosure (no content)."""
    found = with_runtime(
        args,
        lambda rt, who: disclosures_app.list_holds(rt, who, "all" if args.all else "held"),
    )
    for held in found:
        print(_line(held))
    if not found:
        print("nothing held for review")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    """Approve (send) or reject a held disclosure; the decision is logged."""
    if not args.approving:
        with_runtime(args, lambda rt, who: disclosures_app.reject_hold(rt, who, args.held_id))
        print(f"rejected {args.held_id}: nothing sent")
        return 0
    _print(
        signed_then_raised(
            args, lambda rt, who: disclosures_app.approve_hold(rt, who, args.held_id)
        )
    )
    return 0


def run_four_eyes(args: argparse.Namespace) -> int:
    """Turn four eyes on or off for an area."""
    on = args.state == "on"
    with_runtime(args, lambda rt, who: disclosures_app.set_four_eyes(rt, who, args.area, on))
    print(f"four eyes {args.state} in {args.area}")
    return 0
