"""``agency-client log check``: check the hub's disclosure log against what this agency saw;
``agency-client log verify-evidence FILE``: check an evidence bundle offline (no hub, no
data directory; ``hub.crypto.evidence``)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, connection_options, data_dir
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import evidence
    from agency_client import store as client_store
    from agency_client.store import Store
    from agency_client.transparency import entries
else:
    evidence = lazy_module("agency_client.evidence")
    client_store = lazy_module("agency_client.store")
    entries = lazy_module("agency_client.transparency.entries")

HELP = "check the hub's disclosure log: this agency's envelopes, its keys, no fork"


def register(sub: Any) -> None:
    """Add ``log check``."""
    parser = sub.add_parser("log", help=HELP, description=HELP)
    log_sub = parser.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    check = log_sub.add_parser(
        "check",
        help="verify envelopes' log entries, key entries and the heads' consistency",
        description="Check that every envelope received is logged as a disclosure to this "
        "agency, that every key the hub logged for it is one it made, and that every head "
        "the hub signed extends the ones seen before. Exit 0 if all is well, else 1 with "
        "one line per problem.",
    )
    add_dir(check)
    passphrase.add_argument(check)
    check.set_defaults(handler=run_check)
    evidence = log_sub.add_parser(
        "verify-evidence",
        help="verify an evidence bundle offline: entries, proofs, checkpoint, cosignatures, keys",
        description="Check an evidence bundle made by 'marac-hub log evidence', with no hub "
        "and no data directory: every entry's bytes and inclusion proof against the "
        "checkpoint's root, the hub's signature on the checkpoint and on the bundle, each "
        "witness's cosignature, and that every key matches its fingerprint and its key "
        "directory entry. Pin the hub's key with --hub-key (its fingerprint, learnt from the "
        "hub's operator by another channel). Exit 0 only if everything checks; else 1 "
        "with one line saying what failed.",
    )
    evidence.add_argument("file", type=Path, metavar="FILE", help="the bundle")
    evidence.add_argument(
        "--hub-key",
        metavar="FINGERPRINT",
        type=_fingerprint,
        help="the hub identity key's fingerprint the bundle must carry (64 hex digits)",
    )
    evidence.add_argument(
        "--witness-key",
        metavar="FINGERPRINT",
        type=_fingerprint,
        action="append",
        default=[],
        help="a witness key that must have cosigned the checkpoint (repeatable)",
    )
    evidence.set_defaults(handler=run_verify_evidence)


def _fingerprint(value: str) -> str:
    text = value.strip().lower().replace(":", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise argparse.ArgumentTypeError("a key fingerprint is 64 hex digits")
    return text


def run_verify_evidence(args: argparse.Namespace) -> int:
    """Verify the bundle; print what it proves, entry by entry (exit 0), or fail in one line."""
    from hub.crypto.evidence import verify_bundle  # noqa: PLC0415 - only this command needs it

    data = evidence.read_bundle(args.file)
    found = verify_bundle(data, hub_key=args.hub_key, witness_keys=args.witness_key)
    evidence.print_evidence(args.file, found)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Run the key, head and envelope checks; print the tally and every problem."""
    data = data_dir(args)
    if not data.enrolled():
        raise client_store.StoreError(
            f"{args.dir} is not enrolled: run 'agency-client enrol' first"
        )
    return asyncio.run(_check(args))


async def _check(args: argparse.Namespace) -> int:
    from agency_client.hub_client import HubClient  # noqa: PLC0415 - aiohttp only when needed
    from agency_client.transparency.checker import CheckReport, LogChecker  # noqa: PLC0415

    data = data_dir(args)
    identity, store = await asyncio.to_thread(data.unlock, passphrase.read(args))
    with store:
        hub_key = store.hub_key()
        if hub_key is None:
            raise client_store.StoreError(f"{args.dir} has no pinned hub key: enrol first")
        known = entries.KnownKeys(
            identity=identity.fingerprint,
            encryption={r.fingerprint: r.suite for r in store.key_records()},
        )
        report = CheckReport()
        async with HubClient(
            store.require_config("hub_url"),
            store.require_config("agency_id"),
            identity,
            **connection_options(store),
        ) as client:
            checker = LogChecker(client, store, hub_key)
            await checker.check_keys(known, report)
            await checker.check_newest(report)
            await checker.check_envelopes(report=report)
        return _print(store, report.key_entries, report.unreachable)


def _print(store: Store, key_entries: int, unreachable: str | None) -> int:
    heads = store.log_heads()
    counts = store.log_check_counts()
    alarms = store.alarms()
    newest = max((h.head.size for h in heads), default=0)
    print(f"heads seen: {len(heads)}, newest size {newest}")
    print(
        f"envelopes: {counts['verified']} verified, {counts['pending']} pending, "
        f"{counts['failed']} failed"
    )
    print(f"key entries checked: {key_entries}")
    print(f"alarms: {len(alarms)}")
    problems = [f"alarm ({a.kind}): {a.reason}" for a in alarms]
    if unreachable:
        problems.append(f"not checked, retry later: {unreachable}")
    if counts["pending"] and not unreachable:
        problems.append(f"{counts['pending']} envelopes not yet checked")
    for line in problems:
        print(line)
    return 1 if problems else 0
