"""``marac-hub report|retention …``: the SafeLives return and retention."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.cases.retention import run_retention, scrub_sqlite
from hub.cases.safelives import parse_quarter, safelives_csv
from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import HubKeys, load_hub_keys

T = TypeVar("T")


def register(sub: Any) -> None:
    """Add ``report`` and ``retention``."""
    report = sub.add_parser("report", help="returns to SafeLives")
    kinds = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    safelives = kinds.add_parser("safelives", help="quarterly meeting-level counts as CSV")
    safelives.add_argument("--quarter", required=True, help="e.g. 2026Q3")
    safelives.add_argument("--area", help="one area (default: every area)")
    safelives.set_defaults(handler=run_safelives)
    retention = sub.add_parser("retention", help="destroy case data past its retention")
    actions = retention.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="destroy the keys of cases past retention")
    run.add_argument("--dry-run", action="store_true", help="only list what is due")
    run.add_argument("--now", type=_day, help="take this date (YYYY-MM-DD) as today")
    run.add_argument("--actor", default="hub", help="who runs it (recorded in the log)")
    run.set_defaults(handler=run_retention_command)


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


def run_safelives(args: argparse.Namespace) -> int:
    """Print the SafeLives return as CSV."""
    quarter = parse_quarter(args.quarter)
    text = _in_transaction(args, lambda c, k: safelives_csv(c, k, quarter, args.area), keys=True)
    print(text, end="")
    return 0


def run_retention_command(args: argparse.Namespace) -> int:
    """Destroy the keys of cases past retention (or list them with --dry-run)."""
    now = datetime.now(UTC)
    if args.now is not None:
        now = datetime(args.now.year, args.now.month, args.now.day, 12, tzinfo=UTC)
    done = _in_transaction(
        args,
        lambda c, _k: run_retention(c, now=now, actor=args.actor, dry_run=args.dry_run),
        after=None if args.dry_run else scrub_sqlite,
    )
    verb = "would destroy" if args.dry_run else "destroyed"
    print(f"{verb} {len(done.destroyed)} case(s): {' '.join(done.destroyed) or '-'}")
    if done.held:
        print(f"kept on legal hold: {' '.join(done.held)}")
    return 0
