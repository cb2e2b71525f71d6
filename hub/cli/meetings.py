"""``marac-hub meeting|action …``: meetings, agendas, research, actions, minutes.

Each command calls one use-case (``hub.app.meetings``, ``hub.app.actions``). Without
``--by`` it is the hub's operator (an admin, who holds the keys); ``--by USER`` acts as
that active member of staff, with their role and areas, and the log names them.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_choice, lazy_module
from hub.protocol.errors import ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import actions as action_app
    from hub.app import meetings as meeting_app
    from hub.app.meetings import Listed, SendResult
    from hub.protocol import envelope
else:
    action_app = lazy_module("hub.app.actions")
    meeting_app = lazy_module("hub.app.meetings")
    envelope = lazy_module("hub.protocol.envelope")

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


def _register_meeting(sub: Any) -> None:
    parser = sub.add_parser("meeting", help="meetings: agenda, attendance, research, minutes")
    verbs = parser.add_subparsers(dest="meeting_command", metavar="ACTION", required=True)
    create = verbs.add_parser("create", help="schedule a meeting")
    create.add_argument("--area", required=True)
    create.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD")
    create.add_argument("--location", help="venue (no personal data)")
    add_by(create)
    create.set_defaults(handler=run_create, use_case="meeting.create")
    listing = verbs.add_parser("list", help="an area's meetings")
    listing.add_argument("--area", required=True)
    add_by(listing)
    listing.set_defaults(handler=run_list, use_case="meeting.list")
    for name, help_, handler, use_case in (
        ("show", "a meeting, its agenda with clocks, attendance", run_show, "meeting.show"),
        (
            "candidates",
            "cases waiting to be heard, children's first, with clocks",
            run_candidates,
            "meeting.candidates",
        ),
        ("research", "research compiled per case", run_research, "meeting.research"),
    ):
        verb = verbs.add_parser(name, help=help_)
        verb.add_argument("meeting")
        add_by(verb)
        verb.set_defaults(handler=handler, use_case=use_case)
    for name, help_ in (("add", "put a case on the agenda"), ("remove", "take a case off")):
        verb = verbs.add_parser(name, help=help_)
        verb.add_argument("meeting")
        verb.add_argument("case_ref")
        add_by(verb)
        verb.set_defaults(handler=run_agenda_case, verb=name, use_case=f"meeting.{name}-case")
    attend = verbs.add_parser("attend", help="record attendance or apologies")
    attend.add_argument("meeting")
    attend.add_argument("agency")
    attend.add_argument(
        "--status", required=True, **lazy_choice("hub.app.meetings", "ATTENDANCE", "STATUS")
    )
    add_by(attend)
    attend.set_defaults(handler=run_attend, use_case="meeting.attendance")
    pub = verbs.add_parser("publish", help="send the agenda and research requests not yet sent")
    pub.add_argument("meeting")
    pub.add_argument("--respond-by", type=_day, help="default: 2 working days before")
    add_by(pub)
    pub.set_defaults(handler=run_publish, use_case="meeting.publish")
    cancel = verbs.add_parser(
        "cancel", help="cancel a meeting; the agencies sent its agenda are told (sealed)"
    )
    cancel.add_argument("meeting")
    add_by(cancel)
    cancel.set_defaults(handler=run_cancel, use_case="meeting.cancel")
    move = verbs.add_parser(
        "move", help="move a meeting (its agenda stays); the agencies sent it are told (sealed)"
    )
    move.add_argument("meeting")
    move.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD, today or later")
    move.add_argument("--location", help="a new venue (default: unchanged; no personal data)")
    add_by(move)
    move.set_defaults(handler=run_move, use_case="meeting.move")
    minutes = verbs.add_parser("minutes", help="send the minutes to the agencies that attended")
    minutes.add_argument("meeting")
    minutes.add_argument("--file", required=True, type=Path, help="minutes JSON")
    add_by(minutes)
    minutes.set_defaults(handler=run_minutes, use_case="meeting.minutes")


def _register_action(sub: Any) -> None:
    parser = sub.add_parser("action", help="actions: add, update, list, history, chase")
    verbs = parser.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="record an action and notify its owner")
    add.add_argument("--meeting", required=True)
    add.add_argument("--case", required=True, dest="case_ref")
    add.add_argument("--owner", required=True, help="owning agency id")
    add.add_argument("--description", required=True)
    add.add_argument("--due", required=True, type=_day, help="YYYY-MM-DD")
    add_by(add)
    add.set_defaults(handler=run_action_add, use_case="action.add")
    upd = verbs.add_parser("update", help="a coordinator's update of an action")
    upd.add_argument("id")
    upd.add_argument(
        "--status", required=True, **lazy_choice("hub.app.meetings", "ACTION_STATUSES", "STATUS")
    )
    upd.add_argument("--note")
    upd.add_argument("--reason", help="why not completed (required when overdue or cancelled)")
    add_by(upd)
    upd.set_defaults(handler=run_action_update, use_case="action.update")
    listing = verbs.add_parser("list", help="actions, filtered")
    listing.add_argument("--area")
    listing.add_argument("--agency")
    listing.add_argument("--status", **lazy_choice("hub.app.meetings", "ACTION_STATUSES", "STATUS"))
    listing.add_argument("--overdue", action="store_true")
    add_by(listing)
    listing.set_defaults(handler=run_action_list, use_case="action.list")
    hist = verbs.add_parser("history", help="every update of an action")
    hist.add_argument("id")
    add_by(hist)
    hist.set_defaults(handler=run_action_history, use_case="action.history")
    chase = verbs.add_parser("chase", help="chase overdue actions now (once a day each)")
    add_by(chase)
    chase.set_defaults(handler=run_action_chase, use_case="action.chase")


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


def _outcome(o: SendResult, what: str) -> None:
    if o.kind == "refused":
        print(f"{what} to {o.agency}: refused ({o.code}; logged)")
    else:
        print(f"{what} to {o.agency}: {o.kind} {o.reference}")


def run_create(args: argparse.Namespace) -> int:
    """Schedule a meeting."""
    meeting = with_runtime(
        args,
        lambda rt, who: meeting_app.create_meeting(rt, who, args.area, args.date, args.location),
    )
    print(f"meeting {meeting.id} of {meeting.area.id} on {meeting.meeting_date}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List an area's meetings."""
    for m in with_runtime(args, lambda rt, who: meeting_app.list_meetings(rt, who, args.area)):
        state = "minuted" if m.minutes_at else "published" if m.published_at else "scheduled"
        print(f"{m.id} {m.meeting_date} {state:<10} {m.location or ''}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Show a meeting, its agenda and attendance."""
    view = with_runtime(args, lambda rt, who: meeting_app.show_meeting(rt, who, args.meeting))
    meeting = view.meeting
    print(f"meeting {meeting.id} of {meeting.area.id} on {meeting.meeting_date}")
    _listed(view.agenda)
    for agency_id, status in sorted(view.attendance.items()):
        print(f"  {agency_id}: {status}")
    return 0


def run_candidates(args: argparse.Namespace) -> int:
    """List the cases waiting to be heard (* = on this agenda)."""
    _listed(
        with_runtime(args, lambda rt, who: meeting_app.meeting_candidates(rt, who, args.meeting))
    )
    return 0


def run_agenda_case(args: argparse.Namespace) -> int:
    """Add a case to, or remove it from, the agenda."""
    change = meeting_app.add_case if args.verb == "add" else meeting_app.remove_case
    with_runtime(args, lambda rt, who: change(rt, who, args.meeting, args.case_ref))
    print(f"{'added' if args.verb == 'add' else 'removed'} {args.case_ref}")
    return 0


def run_attend(args: argparse.Namespace) -> int:
    """Record attendance or apologies."""
    with_runtime(
        args,
        lambda rt, who: meeting_app.record_attendance(
            rt, who, args.meeting, {args.agency: args.status}
        ),
    )
    print(f"{args.agency}: {args.status}")
    return 0


def run_publish(args: argparse.Namespace) -> int:
    """Send what is new of the agenda and its research requests."""
    report = with_runtime(
        args, lambda rt, who: meeting_app.publish_agenda(rt, who, args.meeting, args.respond_by)
    )
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


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a meeting and tell the agencies sent its agenda."""
    changed = with_runtime(args, lambda rt, who: meeting_app.cancel_meeting(rt, who, args.meeting))
    for outcome in changed.told:
        _outcome(outcome, "cancellation notice")
    print(f"meeting {args.meeting} cancelled; {_told(changed.told)}")
    return 0


def run_move(args: argparse.Namespace) -> int:
    """Move a meeting and tell the agencies sent its agenda."""
    changed = with_runtime(
        args,
        lambda rt, who: meeting_app.move_meeting(rt, who, args.meeting, args.date, args.location),
    )
    for outcome in changed.told:
        _outcome(outcome, "notice of the move")
    print(f"meeting {args.meeting} moved to {changed.meeting.meeting_date}; {_told(changed.told)}")
    return 0


def _told(told: list[SendResult]) -> str:
    if not told:
        return "no agency had been sent its agenda"
    sent = sum(1 for o in told if o.kind == "disclosed")
    return f"{sent} of {len(told)} agencies sent its agenda told"


def run_research(args: argparse.Namespace) -> int:
    """Print the research compiled per case (JSON)."""
    doc = with_runtime(args, lambda rt, who: meeting_app.research(rt, who, args.meeting))
    print(json.dumps(doc, indent=2))
    return 0


def run_minutes(args: argparse.Namespace) -> int:
    """Send the minutes to the agencies that attended and mark the cases heard."""
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise ProtocolError(f"cannot read {args.file}: {exc.strerror}", code="not-found") from None
    if len(raw) > MAX_MINUTES_BYTES:
        raise ProtocolError("the minutes file is larger than 1 MiB", code="payload-too-large")
    discussions = meeting_app.parse_minutes(envelope.loads_strict(raw))
    outcomes = with_runtime(
        args, lambda rt, who: meeting_app.send_minutes(rt, who, args.meeting, discussions)
    )
    for outcome in outcomes:
        _outcome(outcome, "minutes")
    return 0


def run_action_add(args: argparse.Namespace) -> int:
    """Record an action and notify its owner."""
    action, outcome = with_runtime(
        args,
        lambda rt, who: action_app.add_action(
            rt, who, args.meeting, args.case_ref, args.owner, args.description, args.due
        ),
    )
    print(f"action {action.id} for {action.owner}, due {action.due_date}")
    _outcome(outcome, "action notice")
    return 0


def run_action_update(args: argparse.Namespace) -> int:
    """A coordinator's own update."""
    action = with_runtime(
        args,
        lambda rt, who: action_app.update_action(
            rt, who, args.id, args.status, note=args.note, reason=args.reason
        ),
    )
    print(f"action {action.id}: {action.status}")
    return 0


def run_action_list(args: argparse.Namespace) -> int:
    """List actions (overdue ones flagged)."""
    found = with_runtime(
        args,
        lambda rt, who: action_app.list_actions(
            rt, who, area=args.area, agency=args.agency, status=args.status, overdue=args.overdue
        ),
    )
    today = date.today()
    for a in found:
        late = " OVERDUE" if a.as_json(today)["overdue"] else ""
        print(
            f"{a.id} {a.case_ref:<14} {a.owner:<20} due {a.due_date} {a.status:<11}{late}"
            f"  {a.description}" + (f"  (reason: {a.reason})" if a.reason else "")
        )
    return 0


def run_action_history(args: argparse.Namespace) -> int:
    """Every update of an action, oldest first."""
    action, events = with_runtime(args, lambda rt, who: action_app.action_history(rt, who, args.id))
    print(f"action {action.id} on {action.case_ref} for {action.owner}, due {action.due_date}")
    for e in events:
        extra = "".join(
            f"  {k}: {v}" for k, v in (("note", e.note), ("reason", e.reason)) if v is not None
        )
        print(f"  {e.at.isoformat()} {e.by:<28} {e.status}{extra}")
    return 0


def run_action_chase(args: argparse.Namespace) -> int:
    """Chase overdue actions now."""
    chased = with_runtime(args, action_app.chase_actions)
    for action_id, outcome in chased:
        _outcome(outcome, f"chase of {action_id}")
    if not chased:
        print("no overdue action to chase today")
    return 0
