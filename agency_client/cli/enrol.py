"""``agency-client enrol``: make (or reuse) the agency's keys and redeem an enrolment code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_connection_arguments, add_dir, data_dir
from agency_client.cli.keys import SUITE_CHOICES, suite_name, suite_named
from hub.protocol.commands import lazy_module
from hub.protocol.errors import CryptoError, HubError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import keystore
    from agency_client.datadir import DataDir
    from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
else:
    keystore = lazy_module("agency_client.keystore")

HELP = "enrol this agency with its hub (makes keys, pins the hub's key)"


def register(sub: Any) -> None:
    """Add ``enrol``."""
    parser = sub.add_parser("enrol", help=HELP, description=HELP)
    parser.add_argument("--hub", required=True, metavar="URL", help="the hub, https://HOST[:PORT]")
    parser.add_argument(
        "--code", required=True, help="the enrolment code the coordinator gave you (id:secret)"
    )
    add_dir(parser)
    parser.add_argument(
        "--suite",
        choices=SUITE_CHOICES,
        help="encryption suite for new keys (default x25519; hybrid adds ML-KEM-768)",
    )
    add_connection_arguments(parser)
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def _keys(
    data: DataDir, args: argparse.Namespace, secret: str
) -> tuple[IdentityKeyPair, EncryptionKeyPair]:
    """Reuse the key directory's identity and only encryption key, or make both."""
    suite = suite_named(args.suite or "x25519")
    if not data.keys.exists():
        return data.keys.create(secret, suite=suite)
    identity = data.keys.identity(secret)
    keys = list(data.keys.encryption_keys(secret).values())
    if len(keys) != 1:
        raise CryptoError(
            f"{data.keys.path} holds {len(keys)} encryption keys; enrol needs exactly one",
            code="bad-key-file",
        )
    if args.suite and keys[0].suite != suite:
        raise CryptoError(f"the stored encryption key is not {args.suite}", code="bad-key-file")
    return identity, keys[0]


def run(args: argparse.Namespace) -> int:
    """Enrol, pin the hub's key and print the fingerprints to compare out of band."""
    from agency_client.hub_client import (  # noqa: PLC0415 - aiohttp only when needed
        HubClient,
        check_hub_url,
        enrolment_agency,
    )

    check_hub_url(args.hub, allow_http=args.allow_http)  # before any key is made
    enrolment_agency(args.code)
    data = data_dir(args)
    if data.enrolled():
        raise HubError(f"{args.dir} is already enrolled", code="already-enrolled")
    made = not data.keys.exists()
    secret = passphrase.read(args, confirm=made)
    had = [p for p in (data.path, data.keys.path) if p.exists()]
    identity, encryption = _keys(data, args, secret)
    now = datetime.now(UTC)
    try:
        enrolment = asyncio.run(
            HubClient.enrol(
                args.hub,
                args.code,
                identity,
                encryption.public,
                now,
                ca_bundle=args.ca_bundle,
                allow_http=args.allow_http,
            )
        )
    except BaseException:
        if made:  # a retry starts afresh, with whatever passphrase it is given
            _forget(data, encryption, keep=had)
        raise
    with data.open_store(identity, create=True) as store:
        store.record_enrolment(
            agency_id=enrolment.agency_id,
            hub_url=args.hub,
            hub_key=enrolment.hub_key,
            key=encryption,
            now=now,
            ca_bundle=args.ca_bundle,
            allow_http=args.allow_http,
        )
    print(f"enrolled as {enrolment.agency_id} (status: {enrolment.status})")
    print(f"agency identity    ed25519  {identity.fingerprint}")
    print(f"agency encryption  {suite_name(encryption.suite):<8} {encryption.fingerprint}")
    print(f"hub identity       ed25519  {enrolment.hub_key.fingerprint}")
    print(
        "Read the agency identity fingerprint to your MARAC coordinator to be approved, "
        "and check the hub identity fingerprint against the one they read to you."
    )
    return 0


def _forget(data: DataDir, encryption: EncryptionKeyPair, *, keep: list[Path]) -> None:
    """Delete the keys this enrolment made, and the folders it made for them if empty."""
    data.keys.encryption_key_path(encryption.fingerprint).unlink(missing_ok=True)
    (data.keys.path / keystore.IDENTITY_FILE).unlink(missing_ok=True)
    for folder in (data.keys.path, data.path):
        if folder not in keep:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
