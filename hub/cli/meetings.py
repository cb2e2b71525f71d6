"""``marac-hub meeting|action …``: meetings, agendas, research, actions, minutes.

The command line is the operator's, on the hub's own machine: it acts with an admin's
reach, and ``--by NAME`` says who (recorded in the log as ``admin:NAME``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import HubKeys, load_hub_keys
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.agenda import Published, publish
from hub.meetings.chasing import chase_overdue
from hub.meetings.context import cli_context
from hub.meetings.listing import Listed, agenda, candidates
from hub.meetings.minutes import parse_minutes, send_minutes
from hub.meetings.research import compile_research
from hub.meetings.rules import ACTION_STATUSES
from hub.meetings.sending import Outcome
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import ProtocolError
from hub.users import StaffUser

T = TypeVar("T")
MAX_MINUTES_BYTES = 1024 * 1024


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a date is YYYY-MM-DD") from None


def register(sub: Any) -> None:
    """Add ``meeting`` and ``action``."""
    _register_meeting(sub)
    _register_action(sub)


def _by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default="cli", help="who does it (recorded in the log)")


def _register_meeting(sub: Any) -> None:
    parser = sub.add_parser("meeting", help="meetings: agenda, attendance, research, minutes")
    verbs = parser.add_subparsers(dest="meeting_command", metavar="ACTION", required=True)
    create = verbs.add_parser("create", help="schedule a meeting")
    create.add_argument("--area", required=True)
    create.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD")
    create.add_argument("--location", help="venue (no personal data)")
    _by(create)
    create.set_defaults(handler=run_create)
    listing = verbs.add_parser("list", help="an area's meetings")
    listing.add_argument("--area", required=True)
    listing.set_defaults(handler=run_list)
    for name, help_, handler in (
        ("show", "a meeting, its agenda with clocks, attendance", run_show),
        ("candidates", "cases waiting to be heard, children's first, with clocks", run_candidates),
        ("research", "research compiled per case", run_research),
    ):
        verb = verbs.add_parser(name, help=help_)
        verb.add_argument("meeting")
        verb.set_defaults(handler=handler)
    for name, help_ in (("add", "put a case on the agenda"), ("remove", "take a case off")):
        verb = verbs.add_parser(name, help=help_)
        verb.add_argument("meeting")
        verb.add_argument("case_ref")
        _by(verb)
        verb.set_defaults(handler=run_agenda_case, verb=name)
    attend = verbs.add_parser("attend", help="record attendance or apologies")
    attend.add_argument("meeting")
    attend.add_argument("agency")
    attend.add_argument("--status", required=True, choices=meeting_ops.ATTENDANCE)
    _by(attend)
    attend.set_defaults(handler=run_attend)
    pub = verbs.add_parser("publish", help="send the agenda and research requests not yet sent")
    pub.add_argument("meeting")
    pub.add_argument("--respond-by", type=_day, help="default: 2 working days before")
    _by(pub)
    pub.set_defaults(handler=run_publish)
    minutes = verbs.add_parser("minutes", help="send the minutes to the agencies that attended")
    minutes.add_argument("meeting")
    minutes.add_argument("--file", required=True, type=Path, help="minutes JSON")
    _by(minutes)
    minutes.set_defaults(handler=run_minutes)


def _register_action(sub: Any) -> None:
    parser = sub.add_parser("action", help="actions: add, update, list, history, chase")
    verbs = parser.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="record an action and notify its owner")
    add.add_argument("--meeting", required=True)
    add.add_argument("--case", required=True, dest="case_ref")
    add.add_argument("--owner", required=True, help="owning agency id")
    add.add_argument("--description", required=True)
    add.add_argument("--due", required=True, type=_day, help="YYYY-MM-DD")
    _by(add)
    add.set_defaults(handler=run_action_add)
    upd = verbs.add_parser("update", help="a coordinator's update of an action")
    upd.add_argument("id")
    upd.add_argument("--status", required=True, choices=ACTION_STATUSES)
    upd.add_argument("--note")
    upd.add_argument("--reason", help="why not completed (required when overdue or cancelled)")
    _by(upd)
    upd.set_defaults(handler=run_action_update)
    listing = verbs.add_parser("list", help="actions, filtered")
    listing.add_argument("--area")
    listing.add_argument("--agency")
    listing.add_argument("--status", choices=ACTION_STATUSES)
    listing.add_argument("--overdue", action="store_true")
    listing.set_defaults(handler=run_action_list)
    hist = verbs.add_parser("history", help="every update of an action")
    hist.add_argument("id")
    hist.set_defaults(handler=run_action_history)
    chase = verbs.add_parser("chase", help="chase overdue actions now (once a day each)")
    chase.set_defaults(handler=run_action_chase)


def _operator(args: argparse.Namespace) -> StaffUser:
    return StaffUser(getattr(args, "by", "cli"), "admin", datetime.now(UTC))


def _run(
    args: argparse.Namespace,
    work: Callable[[AsyncConnection, Any, HubKeys, StaffUser], Awaitable[T]],
    *,
    write: bool = True,
) -> T:
    """Run ``work`` in one transaction with the disclosure context and the hub keys."""
    settings = settings_from(args)
    require_initialised(settings)
    keys = load_hub_keys(settings)
    user = _operator(args)

    async def run(engine: AsyncEngine) -> T:
        begin = engine.begin if write else engine.connect
        async with begin() as conn:
            ctx = await cli_context(conn, settings, keys)
            return await work(conn, ctx, keys, user)

    return with_engine(settings, run)


def _listed(entries: list[Listed]) -> None:
    for e in entries:
        flag = "BREACH" if e.clock.breached else f"{e.clock.days_left} days left"
        pos = f"{e.position:>3}" if e.position else ("  *" if e.on_agenda else "  -")
        print(
            f"{pos} {e.case.ref:<14} referred {e.case.referred_on} "
            f"{'children' if e.case.has_children else '        '} "
            f"{'repeat' if e.case.is_repeat else '      '} {e.case.level:<8} "
            f"{e.clock.days:>3}/{e.clock.target} days  {flag}"
        )


def _outcome(o: Outcome, what: str) -> None:
    if o.kind == "refused":
        print(f"{what} to {o.agency}: refused ({o.code}; logged)")
    else:
        print(f"{what} to {o.agency}: {o.kind} {o.reference}")


def run_create(args: argparse.Namespace) -> int:
    """Schedule a meeting."""

    async def work(conn: AsyncConnection, _ctx: Any, _k: HubKeys, user: StaffUser) -> Any:
        return await meeting_ops.create_meeting(
            conn, user, args.area, args.date, args.location, now=datetime.now(UTC)
        )

    meeting = _run(args, work)
    print(f"meeting {meeting.id} of {meeting.area.id} on {meeting.meeting_date}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List an area's meetings."""

    async def work(conn: AsyncConnection, _c: Any, _k: HubKeys, user: StaffUser) -> Any:
        return await meeting_ops.list_meetings(conn, user, args.area)

    for m in _run(args, work, write=False):
        state = "minuted" if m.minutes_at else "published" if m.published_at else "scheduled"
        print(f"{m.id} {m.meeting_date} {state:<10} {m.location or ''}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Show a meeting, its agenda and attendance."""

    async def work(conn: AsyncConnection, _c: Any, _k: HubKeys, user: StaffUser) -> Any:
        meeting = await meeting_ops.get_meeting(conn, user, args.meeting)
        return (
            meeting,
            await agenda(conn, meeting),
            await meeting_ops.attendance_of(conn, meeting.id),
        )

    meeting, entries, present = _run(args, work, write=False)
    print(f"meeting {meeting.id} of {meeting.area.id} on {meeting.meeting_date}")
    _listed(entries)
    for agency_id, status in sorted(present.items()):
        print(f"  {agency_id}: {status}")
    return 0


def run_candidates(args: argparse.Namespace) -> int:
    """List the cases waiting to be heard (* = on this agenda)."""

    async def work(conn: AsyncConnection, _c: Any, _k: HubKeys, user: StaffUser) -> Any:
        return await candidates(conn, await meeting_ops.get_meeting(conn, user, args.meeting))

    _listed(_run(args, work, write=False))
    return 0


def run_agenda_case(args: argparse.Namespace) -> int:
    """Add a case to, or remove it from, the agenda."""

    async def work(conn: AsyncConnection, _c: Any, _k: HubKeys, user: StaffUser) -> Any:
        if args.verb == "add":
            return await meeting_ops.add_case(
                conn, user, args.meeting, args.case_ref, now=datetime.now(UTC)
            )
        return await meeting_ops.remove_case(conn, user, args.meeting, args.case_ref)

    _run(args, work)
    print(f"{'added' if args.verb == 'add' else 'removed'} {args.case_ref}")
    return 0


def run_attend(args: argparse.Namespace) -> int:
    """Record attendance or apologies."""

    async def work(conn: AsyncConnection, _c: Any, _k: HubKeys, user: StaffUser) -> Any:
        return await meeting_ops.set_attendance(
            conn, user, args.meeting, args.agency, args.status, now=datetime.now(UTC)
        )

    _run(args, work)
    print(f"{args.agency}: {args.status}")
    return 0


def run_publish(args: argparse.Namespace) -> int:
    """Send what is new of the agenda and its research requests."""

    async def work(conn: AsyncConnection, ctx: Any, keys: HubKeys, user: StaffUser) -> Published:
        return await publish(
            conn, ctx, keys, user, args.meeting, now=datetime.now(UTC), respond_by=args.respond_by
        )

    report = _run(args, work)
    for outcome, refs in report.agendas:
        _outcome(outcome, f"agenda ({len(refs)} cases)")
    sent = sum(1 for o, _ in report.requests if o.kind != "refused")
    refused = len(report.requests) - sent
    print(
        f"research requests: {sent} sent or held, {refused} refused; respond by {report.respond_by}"
    )
    if not report.agendas and not report.requests:
        print("nothing new to send")
    return 0


def run_research(args: argparse.Namespace) -> int:
    """Print the research compiled per case (JSON)."""

    async def work(conn: AsyncConnection, _c: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await compile_research(conn, keys, user, args.meeting)

    print(json.dumps(_run(args, work, write=False), indent=2))
    return 0


def run_minutes(args: argparse.Namespace) -> int:
    """Send the minutes to the agencies that attended and mark the cases heard."""
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise ProtocolError(f"cannot read {args.file}: {exc.strerror}", code="not-found") from None
    if len(raw) > MAX_MINUTES_BYTES:
        raise ProtocolError("the minutes file is larger than 1 MiB", code="payload-too-large")
    discussions = parse_minutes(loads_strict(raw))

    async def work(conn: AsyncConnection, ctx: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await send_minutes(
            conn, ctx, keys, user, args.meeting, discussions, now=datetime.now(UTC)
        )

    for outcome in _run(args, work):
        _outcome(outcome, "minutes")
    return 0


def run_action_add(args: argparse.Namespace) -> int:
    """Record an action and notify its owner."""

    async def work(conn: AsyncConnection, ctx: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await action_ops.add_action(
            conn,
            ctx,
            keys,
            user,
            meeting_id=args.meeting,
            case_ref=args.case_ref,
            owner=args.owner,
            description=args.description,
            due_date=args.due,
            now=datetime.now(UTC),
        )

    action, outcome = _run(args, work)
    print(f"action {action.id} for {action.owner}, due {action.due_date}")
    _outcome(outcome, "action notice")
    return 0


def run_action_update(args: argparse.Namespace) -> int:
    """A coordinator's own update."""

    async def work(conn: AsyncConnection, _c: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await action_ops.coordinator_update(
            conn,
            keys,
            user,
            args.id,
            status=args.status,
            note=args.note,
            reason=args.reason,
            now=datetime.now(UTC),
        )

    action = _run(args, work)
    print(f"action {action.id}: {action.status}")
    return 0


def run_action_list(args: argparse.Namespace) -> int:
    """List actions (overdue ones flagged)."""
    today = datetime.now(UTC).date()

    async def work(conn: AsyncConnection, _c: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await action_ops.list_actions(
            conn,
            keys,
            user,
            area=args.area,
            agency=args.agency,
            status=args.status,
            overdue=args.overdue,
            today=today,
        )

    for a in _run(args, work, write=False):
        late = " OVERDUE" if a.as_json(today)["overdue"] else ""
        print(
            f"{a.id} {a.case_ref:<14} {a.owner:<20} due {a.due_date} {a.status:<11}{late}"
            f"  {a.description}" + (f"  (reason: {a.reason})" if a.reason else "")
        )
    return 0


def run_action_history(args: argparse.Namespace) -> int:
    """Every update of an action, oldest first."""

    async def work(conn: AsyncConnection, _c: Any, keys: HubKeys, user: StaffUser) -> Any:
        return await action_ops.history(conn, keys, user, args.id)

    action, events = _run(args, work, write=False)
    print(f"action {action.id} on {action.case_ref} for {action.owner}, due {action.due_date}")
    for e in events:
        extra = "".join(
            f"  {k}: {v}" for k, v in (("note", e.note), ("reason", e.reason)) if v is not None
        )
        print(f"  {e.at.isoformat()} {e.by:<28} {e.status}{extra}")
    return 0


def run_action_chase(args: argparse.Namespace) -> int:
    """Chase overdue actions now."""

    async def work(conn: AsyncConnection, ctx: Any, _k: HubKeys, _u: StaffUser) -> Any:
        return await chase_overdue(conn, ctx, now=datetime.now(UTC))

    chased = _run(args, work)
    for action_id, outcome in chased:
        _outcome(outcome, f"chase of {action_id}")
    if not chased:
        print("no overdue action to chase today")
    return 0
