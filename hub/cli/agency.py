"""``marac-hub agency invite|list|approve|suspend|reinstate|revoke``."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import Any

from hub import agencies
from hub.cli._context import require_initialised, settings_from, with_engine


def register(sub: Any) -> None:
    """Add ``agency``."""
    parser = sub.add_parser("agency", help="invite, approve, suspend and revoke agencies")
    actions = parser.add_subparsers(dest="agency_command", metavar="ACTION", required=True)
    invite = actions.add_parser("invite", help="record an agency, print its enrolment code")
    invite.add_argument("id", help="short id, e.g. police-north")
    invite.add_argument("--name", required=True)
    invite.add_argument("--kind", required=True, choices=agencies.KINDS)
    invite.add_argument("--isp-version", required=True, help="ISP version it signed")
    invite.add_argument("--isp-signed-by", required=True, help="who signed it")
    invite.add_argument(
        "--isp-signed-on", required=True, type=date.fromisoformat, help="when (YYYY-MM-DD)"
    )
    invite.set_defaults(handler=run_invite)
    actions.add_parser("list", help="list agencies and fingerprints").set_defaults(handler=run_list)
    approve = actions.add_parser("approve", help="approve after comparing the fingerprint")
    approve.add_argument("id")
    approve.add_argument(
        "--fingerprint", required=True, help="identity fingerprint the agency read out to you"
    )
    approve.add_argument("--by", default="cli", help="who approves")
    approve.set_defaults(handler=run_approve)
    for status, verb in (("suspended", "suspend"), ("active", "reinstate"), ("revoked", "revoke")):
        action = actions.add_parser(verb, help=f"{verb} an agency")
        action.add_argument("id")
        action.set_defaults(handler=run_status, status=status)


def _settings(args: argparse.Namespace) -> Any:
    settings = settings_from(args)
    require_initialised(settings)
    return settings


def run_invite(args: argparse.Namespace) -> int:
    """Invite an agency."""
    code = with_engine(
        _settings(args),
        lambda e: agencies.invite(
            e,
            agency_id=args.id,
            name=args.name,
            kind=args.kind,
            isp_version=args.isp_version,
            isp_signed_by=args.isp_signed_by,
            isp_signed_on=args.isp_signed_on,
            now=datetime.now(UTC),
        ),
    )
    print(f"invited {args.id}; one-time enrolment code (valid 7 days):\n{code}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List agencies."""
    found = with_engine(_settings(args), lambda e: agencies.list_agencies(e, datetime.now(UTC)))
    for a in found:
        print(
            f"{a.id:<24} {a.kind:<22} {a.status:<10} ISP {a.isp_version:<8} "
            f"identity {a.identity_fingerprint or '-'}"
        )
    return 0


def run_approve(args: argparse.Namespace) -> int:
    """Approve an agency."""
    with_engine(
        _settings(args),
        lambda e: agencies.approve(e, args.id, args.fingerprint, by=args.by, now=datetime.now(UTC)),
    )
    print(f"{args.id} approved: it now receives what it is sent")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Suspend, reinstate or revoke an agency."""
    with_engine(
        _settings(args),
        lambda e: agencies.set_status(e, args.id, args.status, now=datetime.now(UTC)),
    )
    print(f"{args.id} is now {args.status}")
    return 0
