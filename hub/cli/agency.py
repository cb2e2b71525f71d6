"""``marac-hub agency invite|list|approve|suspend|reinstate|revoke|set-delivery|delivery``.

Each command acts as ``--by USER`` (an active member of staff, whose role and areas
apply; default: the hub's operator, an admin) and calls one use-case of
:mod:`hub.app.agencies`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_choice, lazy_module
from hub.protocol.errors import ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import agencies as agency_app
else:
    agency_app = lazy_module("hub.app.agencies")


def register(sub: Any) -> None:
    """Add ``agency``."""
    parser = sub.add_parser("agency", help="invite, approve, suspend and revoke agencies")
    actions = parser.add_subparsers(dest="agency_command", metavar="ACTION", required=True)
    invite = actions.add_parser("invite", help="record an agency, print its enrolment code")
    invite.add_argument("id", help="short id, e.g. police-north")
    invite.add_argument("--name", required=True)
    invite.add_argument("--kind", required=True, **lazy_choice("hub.app.agencies", "KINDS", "KIND"))
    invite.add_argument("--isp-version", required=True, help="ISP version it signed")
    invite.add_argument("--isp-signed-by", required=True, help="who signed it")
    invite.add_argument(
        "--isp-signed-on", required=True, type=date.fromisoformat, help="when (YYYY-MM-DD)"
    )
    invite.add_argument(
        "--area",
        action="append",
        default=[],
        dest="areas",
        metavar="AREA",
        help="an area it serves (repeat for several; a coordinator names some of theirs)",
    )
    add_by(invite, "who invites it")
    invite.set_defaults(handler=run_invite, use_case="agency.invite")
    listing = actions.add_parser("list", help="list agencies and fingerprints")
    add_by(listing, "who lists them (a coordinator sees those serving their areas)")
    listing.set_defaults(handler=run_list, use_case="agency.list")
    approve = actions.add_parser("approve", help="approve after comparing the fingerprint")
    approve.add_argument("id")
    approve.add_argument(
        "--fingerprint", required=True, help="identity fingerprint the agency read out to you"
    )
    add_by(approve, "who approves (recorded in the log)")
    approve.set_defaults(handler=run_approve, use_case="agency.approve")
    for status, verb in (("suspended", "suspend"), ("active", "reinstate"), ("revoked", "revoke")):
        action = actions.add_parser(verb, help=f"{verb} an agency")
        action.add_argument("id")
        add_by(action, f"who {verb}s it (recorded in the log)")
        action.set_defaults(handler=run_status, status=status, use_case=f"agency.{verb}")
    _register_delivery(actions)


def _register_delivery(actions: Any) -> None:
    choose = actions.add_parser(
        "set-delivery", help="choose how an agency's envelopes travel and their format"
    )
    choose.add_argument("id")
    choose.add_argument("--transport", required=True, help="mailbox, webhook, smtp or installed")
    choose.add_argument("--format", default="json", help="json, fhir-r4, pole or installed")
    choose.add_argument(
        "--transport-config",
        type=Path,
        metavar="FILE",
        help="the transport's settings, a JSON object ('-' reads stdin); see docs/adapters.md",
    )
    add_by(choose, "who chooses it")
    choose.set_defaults(handler=run_set_delivery, use_case="agency.delivery.set")
    show = actions.add_parser("delivery", help="show an agency's transport and format")
    show.add_argument("id")
    add_by(show, "who reads it")
    show.set_defaults(handler=run_show_delivery, use_case="agency.delivery.show")


def run_invite(args: argparse.Namespace) -> int:
    """Invite an agency."""
    code = with_runtime(
        args,
        lambda rt, who: agency_app.invite_agency(
            rt,
            who,
            agency_id=args.id,
            name=args.name,
            kind=args.kind,
            isp_version=args.isp_version,
            isp_signed_by=args.isp_signed_by,
            isp_signed_on=args.isp_signed_on,
            areas=args.areas,
        ),
    )
    served = f" serving {', '.join(sorted(set(args.areas)))}" if args.areas else ""
    print(f"invited {args.id}{served}; one-time enrolment code (valid 7 days):\n{code}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List agencies."""
    found = with_runtime(args, agency_app.list_agencies)
    for a in found.agencies:
        areas = ",".join(found.areas[a.id]) or "-"
        print(
            f"{a.id:<24} {a.kind:<22} {a.status:<10} ISP {a.isp_version:<8} "
            f"areas {areas:<16} identity {a.identity_fingerprint or '-'}"
        )
    return 0


def run_approve(args: argparse.Namespace) -> int:
    """Approve an agency."""
    signed = with_runtime(
        args, lambda rt, who: agency_app.approve_agency(rt, who, args.id, args.fingerprint)
    )
    if signed:
        print(f"{args.id} approved: it now receives what it is sent")
    else:
        print(
            f"{args.id} approved, but it has not signed the current ISP: it receives nothing "
            "until it does (marac-hub isp status; marac-hub isp sign)"
        )
    return 0


_CHANGES = {
    "suspended": "suspend_agency",
    "active": "reinstate_agency",
    "revoked": "revoke_agency",
}


def run_status(args: argparse.Namespace) -> int:
    """Suspend, reinstate or revoke an agency."""
    change = getattr(agency_app, _CHANGES[args.status])
    with_runtime(args, lambda rt, who: change(rt, who, args.id))
    print(f"{args.id} is now {args.status}")
    return 0


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    limit = agency_app.MAX_CONFIG_BYTES
    try:
        if str(path) == "-":
            text = sys.stdin.read(limit + 1)
        else:
            with path.open("rb") as handle:
                text = handle.read(limit + 1).decode("utf-8", "replace")
    except OSError as exc:
        raise ProtocolError(f"cannot read {path}: {exc.strerror}", code="bad-config") from None
    return agency_app.parse_config(text)


def run_set_delivery(args: argparse.Namespace) -> int:
    """Choose an agency's transport and format."""
    config = _read_config(args.transport_config)
    chosen = with_runtime(
        args,
        lambda rt, who: agency_app.set_delivery(
            rt, who, args.id, transport=args.transport, format=args.format, config=config
        ),
    )
    print(f"{args.id} now receives by {chosen.transport} in {chosen.format}")
    return 0


def run_show_delivery(args: argparse.Namespace) -> int:
    """Show an agency's transport, format and settings (secrets hidden)."""
    chosen = with_runtime(args, lambda rt, who: agency_app.show_delivery(rt, who, args.id))
    print(json.dumps(chosen.to_json(), indent=2, sort_keys=True))
    return 0
