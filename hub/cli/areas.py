"""``marac-hub area …``: MARAC areas, the agencies serving them, their coordinators."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.cases import areas as area_ops
from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import HubKeys, load_hub_keys

T = TypeVar("T")


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
    add.set_defaults(handler=run_area_add)
    actions.add_parser("list", help="list areas").set_defaults(handler=run_area_list)
    change = actions.add_parser("set", help="change an area's name or rules")
    change.add_argument("id")
    change.add_argument("--name")
    _rules(change)
    change.set_defaults(handler=run_area_set)
    agency = actions.add_parser("add-agency", help="an agency serves this area")
    agency.add_argument("area")
    agency.add_argument("agency")
    agency.set_defaults(handler=run_area_agency)
    user = actions.add_parser("add-user", help="a coordinator works in this area")
    user.add_argument("area")
    user.add_argument("user")
    user.set_defaults(handler=run_area_user)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a date is YYYY-MM-DD") from None


def _in_transaction(
    args: argparse.Namespace,
    work: Callable[[AsyncConnection, HubKeys], Awaitable[T]],
    *,
    keys: bool = False,
    after: Callable[[AsyncEngine], Awaitable[None]] | None = None,
) -> T:
    """Run ``work`` in one transaction (with the hub keys if ``keys``)."""
    settings = settings_from(args)
    require_initialised(settings)
    hub_keys = load_hub_keys(settings) if keys else None

    async def run(engine: AsyncEngine) -> T:
        async with engine.begin() as conn:
            result = await work(conn, hub_keys)  # type: ignore[arg-type]
        if after is not None:
            await after(engine)
        return result

    return with_engine(settings, run)


def _print_area(area: area_ops.Area) -> None:
    print(
        f"{area.id:<16} {area.name:<32} target {area.target_days} days  "
        f"escalation {area.escalation_callouts} call-outs  retention {area.retention_years} years"
    )


def run_area_add(args: argparse.Namespace) -> int:
    """Create an area."""
    area = _in_transaction(
        args,
        lambda c, _k: area_ops.add_area(
            c,
            args.id,
            args.name,
            now=datetime.now(UTC),
            target_days=args.target_days,
            escalation_callouts=args.escalation_callouts,
            retention_years=args.retention_years,
        ),
    )
    _print_area(area)
    return 0


def run_area_list(args: argparse.Namespace) -> int:
    """List areas."""
    for area in _in_transaction(args, lambda c, _k: area_ops.list_areas(c)):
        _print_area(area)
    return 0


def run_area_set(args: argparse.Namespace) -> int:
    """Change an area."""
    area = _in_transaction(
        args,
        lambda c, _k: area_ops.set_area(
            c,
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
    _in_transaction(args, lambda c, _k: area_ops.add_agency(c, args.area, args.agency))
    print(f"{args.agency} serves {args.area}")
    return 0


def run_area_user(args: argparse.Namespace) -> int:
    """Let a coordinator work in an area."""
    _in_transaction(args, lambda c, _k: area_ops.add_user(c, args.area, args.user))
    print(f"{args.user} works in {args.area}")
    return 0
