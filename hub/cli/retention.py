"""``marac-hub report|retention …``: the SafeLives return and retention.

Each command calls one use-case (``hub.app.retention``) as ``--by USER`` (an active member
of staff, whose role and areas apply; ``--actor`` is kept as another name for it), or as
the host's operator (``admin:cli``) by default: ``retention run`` logs that name as the
actor of each ``retention`` entry.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import retention as retention_app
    from hub.app.actor import Actor
    from hub.app.runtime import Runtime
else:
    retention_app = lazy_module("hub.app.retention")


def register(sub: Any) -> None:
    """Add ``report`` and ``retention``."""
    report = sub.add_parser("report", help="returns to SafeLives")
    kinds = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    safelives = kinds.add_parser("safelives", help="quarterly meeting-level counts as CSV")
    safelives.add_argument("--quarter", required=True, help="e.g. 2026Q3")
    safelives.add_argument(
        "--area", help="one area (default: every area; a coordinator names one of theirs)"
    )
    add_by(safelives, "who makes the return")
    safelives.set_defaults(handler=run_safelives, use_case="report.safelives")
    retention = sub.add_parser("retention", help="destroy case data past its retention")
    actions = retention.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="destroy the keys of cases past retention (admin)")
    run.add_argument(
        "--dry-run", action="store_true", help="only list what is due (an admin or the DPO)"
    )
    run.add_argument("--now", type=_day, help="take this date (YYYY-MM-DD) as today")
    add_by(run, "who runs it (recorded in the log)")
    run.set_defaults(
        handler=run_retention_command,
        use_case="retention.run",
        also_use_cases=("retention.due",),  # with --dry-run
    )


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a date is YYYY-MM-DD") from None


def run_safelives(args: argparse.Namespace) -> int:
    """Print the SafeLives return as CSV."""
    text = with_runtime(
        args, lambda rt, who: retention_app.safelives_report(rt, who, args.quarter, args.area)
    )
    print(text, end="")
    return 0


def run_retention_command(args: argparse.Namespace) -> int:
    """Destroy the keys of cases past retention (or list them with --dry-run)."""

    async def work(rt: Runtime, who: Actor) -> retention_app.RetentionRun:
        if args.now is not None:
            moment = datetime(args.now.year, args.now.month, args.now.day, 12, tzinfo=UTC)
            rt.clock = lambda: moment
        if args.dry_run:
            return await retention_app.retention_to_do(rt, who)
        return await retention_app.retention_run(rt, who)

    done = with_runtime(args, work)
    verb = "would destroy" if args.dry_run else "destroyed"
    print(f"{verb} {len(done.destroyed)} case(s): {' '.join(done.destroyed) or '-'}")
    if done.held:
        print(f"kept on legal hold: {' '.join(done.held)}")
    return 0
