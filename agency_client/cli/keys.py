"""``agency-client keys new|show|rotate``: make, inspect and rotate the agency's keys."""

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
    from agency_client import keystore
    from hub.protocol import envelope
else:
    keystore = lazy_module("agency_client.keystore")
    envelope = lazy_module("hub.protocol.envelope")

HELP = "make, inspect or rotate this agency's identity and encryption keys"
SUITE_CHOICES = ("hybrid", "x25519")


def suite_named(name: str) -> str:
    """The encryption suite a command line names ``x25519`` or ``hybrid``."""
    return {"x25519": envelope.SUITE_X25519, "hybrid": envelope.SUITE_HYBRID}[name]


def suite_name(suite: str) -> str:
    """The command line's name of an encryption suite."""
    return next(name for name in SUITE_CHOICES if suite_named(name) == suite)


def register(sub: Any) -> None:
    """Add ``keys new``, ``keys show`` and ``keys rotate``."""
    parser = sub.add_parser("keys", help=HELP, description=HELP)
    keys_sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = keys_sub.add_parser("new", help="make a new identity and encryption key")
    new.add_argument("--dir", type=Path, required=True, help="key directory to create")
    new.add_argument(
        "--suite",
        choices=SUITE_CHOICES,
        default="x25519",
        help="encryption suite: x25519, or hybrid ML-KEM-768+X25519 for data "
        "that must stay confidential for decades",
    )
    passphrase.add_argument(new)
    new.set_defaults(handler=run_new)
    show = keys_sub.add_parser("show", help="print the key fingerprints (no passphrase needed)")
    show.add_argument(
        "--dir", type=Path, required=True, help="key directory (or the client's data directory)"
    )
    show.set_defaults(handler=run_show)
    rotate = keys_sub.add_parser(
        "rotate", help="make a new encryption key now and announce it to the hub"
    )
    add_dir(rotate)
    passphrase.add_argument(rotate)
    rotate.set_defaults(handler=run_rotate)


def run_new(args: argparse.Namespace) -> int:
    """Make the keys and print their fingerprints for out-of-band comparison."""
    directory = keystore.KeyDirectory(args.dir)
    identity, encryption = directory.create(
        passphrase.read(args, confirm=True), suite=suite_named(args.suite)
    )
    print(f"identity    ed25519  {identity.fingerprint}")
    print(f"encryption  {args.suite:<8} {encryption.fingerprint}")
    print(f"keys written to {args.dir} (encrypted under your passphrase)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the kind and fingerprint of every key file."""
    directory = keystore.KeyDirectory(args.dir)
    if not directory.exists() and keystore.KeyDirectory(args.dir / "keys").exists():
        directory = keystore.KeyDirectory(args.dir / "keys")
    for info in directory.public_info():
        print(f"{info.path.name:<32} {info.kind:<46} {info.fingerprint}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Rotate now; the old key is destroyed by ``run`` once nothing sealed to it is left."""
    return asyncio.run(_rotate(args))


async def _rotate(args: argparse.Namespace) -> int:
    from agency_client.hub_client import HubClient  # noqa: PLC0415 - aiohttp only when needed
    from agency_client.rotation import KeyRotation  # noqa: PLC0415

    data = data_dir(args)
    secret = passphrase.read(args)
    identity, store = await asyncio.to_thread(data.unlock, secret)
    with store:
        async with HubClient(
            store.require_config("hub_url"),
            store.require_config("agency_id"),
            identity,
            **connection_options(store),
        ) as client:
            fingerprint = await KeyRotation(client, store, data.keys, secret).rotate()
    print(f"encryption key {fingerprint} made and announced to the hub")
    print("the previous key is destroyed by 'run' once nothing sealed to it is left")
    return 0
