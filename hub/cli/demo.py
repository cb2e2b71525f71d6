"""``marac-hub demo``: seal and open a sample envelope between two fresh identities."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime
from typing import Any

from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import open_envelope, seal
from hub.protocol.envelope import SUITE_HYBRID, SUITE_X25519, parse_envelope
from hub.protocol.messages import ActionNotice, ActionSummary

HELP = "seal and open a sample envelope between two freshly made identities"


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = sub.add_parser("demo", help=HELP, description=HELP)
    parser.add_argument(
        "--suite",
        choices=["x25519", "hybrid", "both"],
        default="both",
        help="HPKE suite to demonstrate (default: both)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Make a hub and an agency identity, seal an action notice, open it, report."""
    now = datetime.now(UTC)
    hub_identity = IdentityKeyPair.generate()
    agency_identity = IdentityKeyPair.generate()
    print("marac-hub demo: the wire protocol, with no server and no stored data")
    print(f"  hub identity     Ed25519  {hub_identity.fingerprint}")
    print(f"  agency identity  Ed25519  {agency_identity.fingerprint}")
    notice = ActionNotice(
        action=ActionSummary(
            action_id="01KAQZ7Y3M8V4J9W2E6R5T1Q0P",
            case_ref="M-2026-0001",
            owner_agency="housing-demo",
            description="Fit additional locks at the victim's address (demo data).",
            due_date=date(2026, 12, 7),
            status="open",
        ),
        perpetrator_must_not_know=True,
    )
    suites = {
        "x25519": [SUITE_X25519],
        "hybrid": [SUITE_HYBRID],
        "both": [SUITE_X25519, SUITE_HYBRID],
    }[args.suite]
    for suite in suites:
        agency_key = EncryptionKeyPair.generate(suite)
        started = time.perf_counter()
        envelope = seal(
            notice,
            sender=hub_identity,
            sender_id="hub",
            recipient_id="housing-demo",
            recipient_key=agency_key.public,
            now=now,
            case_ref="M-2026-0001",
        )
        wire = envelope.to_bytes()
        sealed = time.perf_counter()
        opened = open_envelope(
            parse_envelope(wire), recipient=agency_key, sender=hub_identity.public
        )
        done = time.perf_counter()
        assert opened.message() == notice
        print(f"\n  suite {suite}")
        print(f"    agency encryption key  {agency_key.fingerprint}")
        print(
            f"    sealed envelope {envelope.header.id}: {len(wire)} bytes on the wire, "
            f"signed by the hub, encrypted to the agency ({(sealed - started) * 1e3:.2f} ms)"
        )
        print(
            f"    opened by the agency: signature and header verified, "
            f"{opened.header.type} for {opened.header.case_ref} "
            f"({(done - sealed) * 1e3:.2f} ms)"
        )
        print(f"    action: {opened.message().action.description}")  # type: ignore[attr-defined]
    print("\nThe hub service (marac-hub serve) arrives with the service issue; see README.md.")
    return 0
