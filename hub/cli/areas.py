"""``marac-hub area …``: MARAC areas, the agencies serving them, their coordinators.

Listing is open to any member of staff (a coordinator sees their own areas); adding and
changing areas and their members is for admins. ``--by USER`` acts as that member of
staff (default: the hub's operator, an admin).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import areas as area_app
else:
    area_app = lazy_module("hub.app.areas")


def register(sub: Any) -> None:
    """Add ``area``."""
    _register_area(sub)


def _rules(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-days", type=int, help="referral-to-meeting target (42)")
    parser.add_argument("--escalation-callouts", type=int, help="police call-outs in 12 months (3)")
    parser.add_argument("--retention-years", type=int, help="years after last referral (6)")


def _register_area(sub: Any) -> None:
    parser = sub.add_parser("area", help="MARAC areas, their agencies and coordinators")
    actions = parser.add_subparsers(dest="area_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an area")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    _rules(add)
    add_by(add, "who creates it")
    add.set_defaults(handler=run_area_add, use_case="area.add")
    listing = actions.add_parser("list", help="list areas")
    add_by(listing, "who lists them")
    listing.set_defaults(handler=run_area_list, use_case="area.list")
    change = actions.add_parser("set", help="change an area's name or rules")
    change.add_argument("id")
    change.add_argument("--name")
    _rules(change)
    add_by(change, "who changes it")
    change.set_defaults(handler=run_area_set, use_case="area.set")
    agency = actions.add_parser("add-agency", help="an agency serves this area")
    agency.add_argument("area")
    agency.add_argument("agency")
    add_by(agency, "who links it")
    agency.set_defaults(handler=run_area_agency, use_case="area.add-agency")
    user = actions.add_parser("add-user", help="a coordinator works in this area")
    user.add_argument("area")
    user.add_argument("user")
    add_by(user, "who adds them")
    user.set_defaults(handler=run_area_user, use_case="area.add-user")


def _print_area(area: area_app.Area) -> None:
    print(
        f"{area.id:<16} {area.name:<32} target {area.target_days} days  "
        f"escalation {area.escalation_callouts} call-outs  retention {area.retention_years} years"
        f"  four eyes {'on' if area.four_eyes else 'off'}"
    )


def run_area_add(args: argparse.Namespace) -> int:
    """Create an area."""
    area = with_runtime(
        args,
        lambda rt, who: area_app.add_area(
            rt,
            who,
            args.id,
            args.name,
            target_days=args.target_days,
            escalation_callouts=args.escalation_callouts,
            retention_years=args.retention_years,
        ),
    )
    _print_area(area)
    return 0


def run_area_list(args: argparse.Namespace) -> int:
    """List areas."""
    for area in with_runtime(args, area_app.list_areas):
        _print_area(area)
    return 0


def run_area_set(args: argparse.Namespace) -> int:
    """Change an area."""
    area = with_runtime(
        args,
        lambda rt, who: area_app.set_area(
            rt,
            who,
            args.id,
            name=args.name,
            target_days=args.target_days,
            escalation_callouts=args.escalation_callouts,
            retention_years=args.retention_years,
        ),
    )
    _print_area(area)
    return 0


def run_area_agency(args: argparse.Namespace) -> int:
    """Let an agency serve an area."""
    with_runtime(args, lambda rt, who: area_app.add_area_agency(rt, who, args.area, args.agency))
    print(f"{args.agency} serves {args.area}")
    return 0


def run_area_user(args: argparse.Namespace) -> int:
    """Let a coordinator work in an area."""
    with_runtime(args, lambda rt, who: area_app.add_area_user(rt, who, args.area, args.user))
    print(f"{args.user} works in {args.area}")
    return 0
