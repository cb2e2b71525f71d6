"""``marac-hub area|case|report|retention …``: areas, referrals and cases."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.app import cases as cases_app
from hub.cases import areas as area_ops
from hub.cases.retention import run_retention, scrub_sqlite
from hub.cases.safelives import parse_quarter, safelives_csv
from hub.cli._context import require_initialised, settings_from, with_engine, with_runtime
from hub.hub_keys import HubKeys, load_hub_keys
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import HubError, ProtocolError

T = TypeVar("T")
MAX_REFERRAL_BYTES = 1024 * 1024


def register(sub: Any) -> None:
    """Add ``area``, ``case``, ``report`` and ``retention``."""
    _register_area(sub)
    _register_case(sub)
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


def _register_case(sub: Any) -> None:
    parser = sub.add_parser("case", help="referrals and cases")
    actions = parser.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    take = actions.add_parser("refer", help="take a referral from a JSON file")
    take.add_argument("--area", required=True)
    take.add_argument("--file", required=True, type=Path, help="referral JSON (docs/referrals.md)")
    _by(take, "who takes the referral")
    take.set_defaults(handler=run_case_refer, use_case="case.refer")
    listing = actions.add_parser("list", help="an area's cases (no personal data)")
    listing.add_argument("--area", required=True)
    listing.add_argument("--status", choices=("referred", "heard", "destroyed"))
    _by(listing, "who lists them")
    listing.set_defaults(handler=run_case_list, use_case="case.list")
    show = actions.add_parser("show", help="one case, decrypted (logged as an access)")
    show.add_argument("ref")
    _by(show, "who reads it (recorded in the log)")
    show.set_defaults(handler=run_case_show, use_case="case.show")
    hold = actions.add_parser("hold", help="put a case on legal hold")
    hold.add_argument("ref")
    hold.add_argument("--reason", required=True)
    _by(hold, "who puts it on hold")
    hold.set_defaults(handler=run_case_hold, use_case="case.hold")
    release = actions.add_parser("release", help="release a legal hold")
    release.add_argument("ref")
    _by(release, "who releases it")
    release.set_defaults(handler=run_case_hold, reason=None, use_case="case.hold")


def _by(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--by",
        "--actor",
        dest="by",
        metavar="USER",
        help=f"{what}: an active member of staff, whose role and areas apply "
        "(default: the hub's operator)",
    )


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


def _read_referral(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REFERRAL_BYTES + 1)
    except OSError as exc:
        raise HubError(f"cannot read {path}: {exc.strerror}", code="not-found") from None
    if len(data) > MAX_REFERRAL_BYTES:
        raise ProtocolError("the referral file is larger than 1 MiB", code="payload-too-large")
    return loads_strict(data)


def run_case_refer(args: argparse.Namespace) -> int:
    """Take a referral."""
    doc = _read_referral(args.file)
    done = with_runtime(args, lambda rt, who: cases_app.refer_case(rt, who, args.area, doc))
    repeat = f"repeat of {done.previous_ref}" if done.is_repeat else "not a repeat"
    print(f"{done.case_ref} referred: {repeat}; {done.yes_count} yes, {done.level} risk")
    return 0


def run_case_list(args: argparse.Namespace) -> int:
    """List an area's cases."""
    found = with_runtime(
        args, lambda rt, who: cases_app.list_area_cases(rt, who, args.area, args.status)
    )
    for case in found:
        flags = " ".join(
            flag
            for flag, on in (
                (f"children:{case.children_count}", case.has_children),
                (f"repeat-of:{case.previous_ref}", case.is_repeat),
                ("hold", case.legal_hold),
            )
            if on
        )
        print(
            f"{case.ref:<14} {case.status:<10} referred {case.referred_on} "
            f"{case.level:<8} {case.yes_count:>2} yes  {case.criterion:<22} {flags}".rstrip()
        )
    return 0


def run_case_show(args: argparse.Namespace) -> int:
    """Show a decrypted case."""
    case = with_runtime(args, lambda rt, who: cases_app.show_case(rt, who, args.ref))
    print(
        f"{case.ref} area {case.area} {case.status}; referred {case.referred_on}; "
        f"criteria {', '.join(case.criteria)}"
        + (f"; repeat of {case.previous_ref}" if case.is_repeat else "")
        + ("; LEGAL HOLD" if case.legal_hold else "")
    )
    print(json.dumps(case.view, indent=2, ensure_ascii=False))
    return 0


def run_case_hold(args: argparse.Namespace) -> int:
    """Put a case on legal hold, or release it."""
    with_runtime(args, lambda rt, who: cases_app.set_legal_hold(rt, who, args.ref, args.reason))
    print(f"{args.ref} {'on legal hold' if args.reason is not None else 'released'}")
    return 0


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
