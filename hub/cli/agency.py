"""``marac-hub agency invite|list|approve|suspend|reinstate|revoke|set-delivery|delivery``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hub import agencies
from hub.adapters.registry import default_registry
from hub.cli._context import require_initialised, settings_from, with_engine
from hub.delivery.configure import MAX_CONFIG_BYTES, choose_delivery, parse_config, show_delivery
from hub.hub_keys import load_hub_keys
from hub.protocol.errors import ProtocolError


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
    choose.add_argument("--by", default="cli", help="who chose it")
    choose.set_defaults(handler=run_set_delivery)
    show = actions.add_parser("delivery", help="show an agency's transport and format")
    show.add_argument("id")
    show.set_defaults(handler=run_show_delivery)


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


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        if str(path) == "-":
            text = sys.stdin.read(MAX_CONFIG_BYTES + 1)
        else:
            with path.open("rb") as handle:
                text = handle.read(MAX_CONFIG_BYTES + 1).decode("utf-8", "replace")
    except OSError as exc:
        raise ProtocolError(f"cannot read {path}: {exc.strerror}", code="bad-config") from None
    return parse_config(text)


def run_set_delivery(args: argparse.Namespace) -> int:
    """Choose an agency's transport and format."""
    settings = _settings(args)
    config = _read_config(args.transport_config)
    kek = load_hub_keys(settings).kek
    chosen = with_engine(
        settings,
        lambda e: choose_delivery(
            e,
            kek,
            default_registry(),
            args.id,
            transport=args.transport,
            format=args.format,
            config=config,
            by=args.by,
            now=datetime.now(UTC),
        ),
    )
    print(f"{args.id} now receives by {chosen.transport} in {chosen.format}")
    return 0


def run_show_delivery(args: argparse.Namespace) -> int:
    """Show an agency's transport, format and settings (secrets hidden)."""
    settings = _settings(args)
    kek = load_hub_keys(settings).kek
    chosen = with_engine(settings, lambda e: show_delivery(e, kek, args.id))
    print(json.dumps(chosen.to_json(), indent=2, sort_keys=True))
    return 0
