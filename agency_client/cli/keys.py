"""``agency-client keys new|show``: make and inspect the agency's key files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agency_client.cli import passphrase
from agency_client.keystore import KeyDirectory
from hub.protocol.envelope import SUITE_HYBRID, SUITE_X25519

HELP = "make or inspect this agency's identity and encryption keys"
SUITE_NAMES = {"x25519": SUITE_X25519, "hybrid": SUITE_HYBRID}


def register(sub: Any) -> None:
    """Add ``keys new`` and ``keys show``."""
    parser = sub.add_parser("keys", help=HELP, description=HELP)
    keys_sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = keys_sub.add_parser("new", help="make a new identity and encryption key")
    new.add_argument("--dir", type=Path, required=True, help="key directory to create")
    new.add_argument(
        "--suite",
        choices=sorted(SUITE_NAMES),
        default="x25519",
        help="encryption suite: x25519, or hybrid ML-KEM-768+X25519 for data "
        "that must stay confidential for decades",
    )
    passphrase.add_argument(new)
    new.set_defaults(handler=run_new)
    show = keys_sub.add_parser("show", help="print the key fingerprints (no passphrase needed)")
    show.add_argument("--dir", type=Path, required=True, help="key directory")
    show.set_defaults(handler=run_show)


def run_new(args: argparse.Namespace) -> int:
    """Make the keys and print their fingerprints for out-of-band comparison."""
    directory = KeyDirectory(args.dir)
    identity, encryption = directory.create(
        passphrase.read(args, confirm=True), suite=SUITE_NAMES[args.suite]
    )
    print(f"identity    ed25519  {identity.fingerprint}")
    print(f"encryption  {args.suite:<8} {encryption.fingerprint}")
    print(f"keys written to {args.dir} (encrypted under your passphrase)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the kind and fingerprint of every key file."""
    for info in KeyDirectory(args.dir).public_info():
        print(f"{info.path.name:<32} {info.kind:<46} {info.fingerprint}")
    return 0
