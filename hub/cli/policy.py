"""``marac-hub basis|isp|policy …``: lawful bases, the ISP, the disclosure policy."""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import tomllib
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hub.cli._context import add_by, settings_from, with_runtime, with_settings_runtime
from hub.protocol.commands import lazy_choice, lazy_module
from hub.protocol.errors import ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub import settings as hub_settings
    from hub.app import bootstrap
    from hub.app import policy as policy_app
    from hub.app.runtime import Runtime
else:
    policy_app = lazy_module("hub.app.policy")
    bootstrap = lazy_module("hub.app.bootstrap")
    hub_settings = lazy_module("hub.settings")

T = TypeVar("T")
MAX_BASIS_BYTES = 64 * 1024


def register(sub: Any) -> None:
    """Add ``basis``, ``isp`` and ``policy``."""
    _register_basis(sub)
    _register_isp(sub)
    _register_policy(sub)


def _register_basis(sub: Any) -> None:
    parser = sub.add_parser("basis", help="lawful-basis records: add, list, show, retire")
    actions = parser.add_subparsers(dest="basis_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a basis, or a new version of one, from TOML")
    add.add_argument("--file", type=Path, required=True, help="basis.toml (see docs/policy.md)")
    add_by(add, "who records it (an admin)")
    add.set_defaults(handler=run_basis_add, use_case="basis.add")
    listing = actions.add_parser("list", help="current lawful bases")
    listing.add_argument("--all", action="store_true", help="include retired ones")
    add_by(listing, "who lists them")
    listing.set_defaults(handler=run_basis_list, use_case="basis.list")
    show = actions.add_parser("show", help="every version of one basis")
    show.add_argument("id")
    add_by(show, "who reads it")
    show.set_defaults(handler=run_basis_show, use_case="basis.show")
    retire = actions.add_parser("retire", help="retire a basis: nothing may rely on it")
    retire.add_argument("id")
    add_by(retire, "who retires it (an admin)")
    retire.set_defaults(handler=run_basis_retire, use_case="basis.retire")


def _register_isp(sub: Any) -> None:
    parser = sub.add_parser("isp", help="the information sharing protocol: publish, sign, status")
    actions = parser.add_subparsers(dest="isp_command", metavar="ACTION", required=True)
    publish = actions.add_parser("publish", help="publish a version; it becomes current")
    publish.add_argument("version")
    publish.add_argument("--title", required=True)
    publish.add_argument("--file", type=Path, help="the signed document (its SHA-256 is kept)")
    add_by(publish, "who publishes it (an admin)")
    publish.set_defaults(handler=run_isp_publish, use_case="isp.publish")
    sign = actions.add_parser("sign", help="record that an agency signed a version")
    sign.add_argument("agency")
    sign.add_argument("--version", required=True, dest="isp_version")
    sign.add_argument(
        "--signed-by", required=True, dest="signed_by", help="who signed for the agency"
    )
    sign.add_argument("--on", type=date.fromisoformat, help="when (YYYY-MM-DD; default today)")
    add_by(sign, "who records the signature")
    sign.set_defaults(handler=run_isp_sign, use_case="isp.sign")
    status = actions.add_parser("status", help="each agency's signed version")
    add_by(status, "who reads it (a coordinator sees the agencies serving their areas)")
    status.set_defaults(handler=run_isp_status, use_case="isp.status")


def _register_policy(sub: Any) -> None:
    parser = sub.add_parser("policy", help="the disclosure policy: explain, check")
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    exp = actions.add_parser("explain", help="what a purpose sends to an agency kind, and why")
    exp.add_argument(
        "--purpose", required=True, **lazy_choice("hub.app.policy", "PURPOSES", "PURPOSE")
    )
    exp.add_argument("--kind", required=True, **lazy_choice("hub.app.policy", "KINDS", "KIND"))
    exp.add_argument("--file", type=Path, help="policy TOML (default: the hub's policy)")
    exp.add_argument("--restricted", action="store_true", help="the perpetrator must not know")
    exp.set_defaults(handler=run_policy_explain)
    check = actions.add_parser("check", help="validate a policy file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=run_policy_check)


def _with_bases(args: argparse.Namespace, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work`` on the hub's database, or on the bundled defaults if there is no hub."""
    settings = settings_from(args)
    if bootstrap.is_initialised(settings):
        return with_settings_runtime(settings, work)
    with tempfile.TemporaryDirectory() as scratch:
        return with_settings_runtime(hub_settings.Settings(data_dir=Path(scratch)), work)


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ProtocolError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise ProtocolError(f"{path} is larger than {limit} bytes", code="payload-too-large")
    return data


def run_basis_add(args: argparse.Namespace) -> int:
    """Add a lawful basis (or a new version) from a TOML file."""
    try:
        doc = tomllib.loads(_read(args.file, MAX_BASIS_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProtocolError(f"{args.file} is not valid TOML: {exc}") from None
    basis = with_runtime(args, lambda rt, who: policy_app.add_lawful_basis(rt, who, doc))
    print(f"lawful basis {basis.id} version {basis.version} recorded")
    return 0


def _line(b: policy_app.Basis) -> str:
    retired = f" RETIRED {b.retired_at:%Y-%m-%d} by {b.retired_by}" if b.retired_at else ""
    return f"{b.id:<24} v{b.version:<3} {b.title}{retired}"


def run_basis_list(args: argparse.Namespace) -> int:
    """List lawful bases."""
    found = with_runtime(
        args, lambda rt, who: policy_app.lawful_bases(rt, who, include_retired=args.all)
    )
    for b in found:
        print(_line(b))
        print(f"{'':<29}{b.references()}")
    return 0


def run_basis_show(args: argparse.Namespace) -> int:
    """Show every version of one basis."""
    versions = with_runtime(args, lambda rt, who: policy_app.lawful_basis(rt, who, args.id))
    for b in versions:
        print(_line(b))
        print(f"  references:      {b.references()}")
        print(f"  purposes:        {', '.join(b.purposes)}")
        print(f"  data categories: {', '.join(b.data_categories)}")
        print(f"  created:         {b.created_at:%Y-%m-%d %H:%M} by {b.created_by}")
    return 0


def run_basis_retire(args: argparse.Namespace) -> int:
    """Retire a basis."""
    count = with_runtime(args, lambda rt, who: policy_app.retire_lawful_basis(rt, who, args.id))
    print(f"lawful basis {args.id} retired ({count} version(s))")
    return 0


def run_isp_publish(args: argparse.Namespace) -> int:
    """Publish an ISP version."""
    digest = None
    if args.file is not None:
        digest = hashlib.sha256(_read(args.file, 64 * 1024 * 1024)).hexdigest()
    published = with_runtime(
        args, lambda rt, who: policy_app.publish(rt, who, args.version, args.title, digest)
    )
    print(f"ISP {published.version} published; it is now the current ISP")
    if digest:
        print(f"document SHA-256 {digest}")
    return 0


def run_isp_sign(args: argparse.Namespace) -> int:
    """Record an agency's signature."""
    with_runtime(
        args,
        lambda rt, who: policy_app.sign(
            rt,
            who,
            args.agency,
            version=args.isp_version,
            signed_by=args.signed_by,
            signed_on=args.on,
        ),
    )
    print(f"{args.agency} signed ISP {args.isp_version}")
    return 0


def run_isp_status(args: argparse.Namespace) -> int:
    """Each agency's signed ISP version against the current one."""
    found = with_runtime(args, policy_app.isp_overview)
    current = found.current
    print(f"current ISP: {current.version} ({current.title})" if current else "no ISP published")
    for s in found.agencies:
        mark = "current" if s.current else "NOT CURRENT: receives nothing"
        print(f"{s.agency_id:<24} {s.status:<10} signed {s.signed_version:<10} {mark}")
    return 0


def run_policy_explain(args: argparse.Namespace) -> int:
    """Explain what a purpose sends to an agency kind, field by field."""
    settings = settings_from(args)
    path = args.file or settings.policy_file

    async def work(rt: Runtime) -> dict[str, Any]:
        return await policy_app.explain_policy_file(
            rt, path, purpose=args.purpose, kind=args.kind, restricted=args.restricted
        )

    doc = _with_bases(args, work)
    restricted = "yes" if args.restricted else "no"
    print(
        f"policy {doc['policy_version']}, rule {doc['rule'] or '-'}: {doc['purpose']} "
        f"to {doc['kind']} (perpetrator must not know: {restricted})"
    )
    print(f"decision: {doc['decision']}" + (f" ({doc['reason']})" if doc["reason"] else ""))
    basis = doc["basis"]
    if basis:
        print(f"basis: {basis['id']} v{basis['version']}: {basis['title']}")
        print(f"  {basis['references']}")
    for title, key in (("sent", "sent"), ("not sent", "not_sent")):
        print(f"{title} ({len(doc[key])} fields):")
        for item in doc[key]:
            print(f"  {item['field']:<36} {item['category']}")
    return 0


def run_policy_check(args: argparse.Namespace) -> int:
    """Validate a policy file: exit 1 with one line per error."""
    data = _read(args.file, policy_app.MAX_POLICY_BYTES + 1)

    async def work(rt: Runtime) -> list[str]:
        return await policy_app.check_policy_file(rt, data, source=str(args.file))

    errors = _with_bases(args, work)
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if errors:
        return 1
    print(f"{args.file}: valid")
    return 0
