"""``marac-hub case …``: referrals and cases."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError, ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import cases as cases_app
    from hub.protocol import envelope
else:
    cases_app = lazy_module("hub.app.cases")
    envelope = lazy_module("hub.protocol.envelope")

T = TypeVar("T")
MAX_REFERRAL_BYTES = 1024 * 1024


def register(sub: Any) -> None:
    """Add ``case``."""
    _register_case(sub)


def _register_case(sub: Any) -> None:
    parser = sub.add_parser("case", help="referrals and cases")
    actions = parser.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    take = actions.add_parser("refer", help="take a referral from a JSON file")
    take.add_argument("--area", required=True)
    take.add_argument("--file", required=True, type=Path, help="referral JSON (docs/referrals.md)")
    add_by(take, "who takes the referral")
    take.set_defaults(handler=run_case_refer, use_case="case.refer")
    listing = actions.add_parser("list", help="an area's cases (no personal data)")
    listing.add_argument("--area", required=True)
    listing.add_argument("--status", choices=("referred", "heard", "destroyed"))
    add_by(listing, "who lists them")
    listing.set_defaults(handler=run_case_list, use_case="case.list")
    show = actions.add_parser("show", help="one case, decrypted (logged as an access)")
    show.add_argument("ref")
    add_by(show, "who reads it (recorded in the log)")
    show.set_defaults(handler=run_case_show, use_case="case.show")
    amend = actions.add_parser(
        "amend",
        help="amend a referral (every version kept; the amended extract re-sent where "
        "the case is on a published agenda and the policy allows)",
    )
    amend.add_argument("ref")
    amend.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="changes",
        help="a field to change, by its path (victim.address=..., police_callouts_12m=4); "
        "VALUE is read as JSON when it is JSON (4, true, null, [...]), else as text",
    )
    amend.add_argument(
        "--file", type=Path, help="a JSON merge patch over the referral (docs/referrals.md)"
    )
    add_by(amend, "who amends it")
    amend.set_defaults(handler=run_case_amend, use_case="case.amend")
    history = actions.add_parser(
        "amendments", help="a referral's amendments: who, when, which fields (no values)"
    )
    history.add_argument("ref")
    add_by(history, "who asks")
    history.set_defaults(handler=run_case_amendments, use_case="case.amendments")
    hold = actions.add_parser("hold", help="put a case on legal hold")
    hold.add_argument("ref")
    hold.add_argument("--reason", required=True)
    add_by(hold, "who puts it on hold")
    hold.set_defaults(handler=run_case_hold, use_case="case.hold")
    release = actions.add_parser("release", help="release a legal hold")
    release.add_argument("ref")
    add_by(release, "who releases it")
    release.set_defaults(handler=run_case_hold, reason=None, use_case="case.hold")


def _read_referral(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REFERRAL_BYTES + 1)
    except OSError as exc:
        raise HubError(f"cannot read {path}: {exc.strerror}", code="not-found") from None
    if len(data) > MAX_REFERRAL_BYTES:
        raise ProtocolError("the referral file is larger than 1 MiB", code="payload-too-large")
    return envelope.loads_strict(data)


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


MAX_SET_DEPTH = 4


def _patch(sets: list[str], file: Path | None) -> dict[str, Any]:
    """The merge patch from ``--file`` and the ``--set FIELD=VALUE`` pairs (applied after)."""
    patch: dict[str, Any] = {}
    if file is not None:
        doc = _read_referral(file)
        if not isinstance(doc, dict):
            raise ProtocolError("the amendment file holds a JSON object", code="invalid-referral")
        patch = doc
    for item in sets:
        path, sep, raw = item.partition("=")
        names = path.split(".")
        if not sep or not all(n.isidentifier() for n in names) or len(names) > MAX_SET_DEPTH:
            raise ProtocolError(
                "--set takes FIELD=VALUE, FIELD a path such as victim.address",
                code="invalid-referral",
            )
        try:
            value: Any = envelope.loads_strict(raw.encode())
        except ProtocolError:
            value = raw
        node = patch
        for name in names[:-1]:
            inner = node.get(name)
            if not isinstance(inner, dict):
                inner = node[name] = {}
            node = inner
        node[names[-1]] = value
    if not patch:
        raise ProtocolError(
            "say what to change: --set FIELD=VALUE or --file", code="invalid-referral"
        )
    return patch


def run_case_amend(args: argparse.Namespace) -> int:
    """Amend a referral."""
    patch = _patch(args.changes, args.file)
    done = with_runtime(args, lambda rt, who: cases_app.amend_case(rt, who, args.ref, patch))
    print(f"{done.case_ref} amended (version {done.version}): {', '.join(done.fields)}")
    for o in done.resent:
        if o.kind == "refused":
            print(f"amended extract to {o.agency}: refused ({o.code}; logged)")
        else:
            print(f"amended extract to {o.agency}: {o.kind} {o.reference}")
    if not done.resent:
        print("re-sent to no agency (not on a published agenda, or no changed field allowed)")
    return 0


def run_case_amendments(args: argparse.Namespace) -> int:
    """List a referral's amendments."""
    found = with_runtime(args, lambda rt, who: cases_app.amendments_of(rt, who, args.ref))
    for a in found:
        print(
            f"version {a.version} {a.amended_at:%Y-%m-%d %H:%M} by {a.amended_by} "
            f"({a.door}): {', '.join(a.fields)}"
        )
    if not found:
        print(f"{args.ref} has not been amended")
    return 0
