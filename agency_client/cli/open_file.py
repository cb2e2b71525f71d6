"""``agency-client open FILE``: verify and decrypt an envelope that arrived as a file."""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from hub.protocol.commands import lazy_module
from hub.protocol.errors import InvalidEnvelope, ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import datadir, keystore, rendered
    from hub.crypto import keys as crypto_keys
    from hub.crypto import sealing
    from hub.crypto.keys import IdentityPublicKey
    from hub.protocol import canonical
    from hub.protocol import envelope as wire
else:
    datadir = lazy_module("agency_client.datadir")
    keystore = lazy_module("agency_client.keystore")
    rendered = lazy_module("agency_client.rendered")
    crypto_keys = lazy_module("hub.crypto.keys")
    sealing = lazy_module("hub.crypto.sealing")
    canonical = lazy_module("hub.protocol.canonical")
    wire = lazy_module("hub.protocol.envelope")

HELP = "verify and decrypt a sealed envelope file (e.g. an e-mail attachment)"


def register(sub: Any) -> None:
    """Add ``open``."""
    parser = sub.add_parser("open", help=HELP, description=HELP)
    parser.add_argument(
        "file", type=Path, help="the envelope file (JSON), or the whole e-mail (.eml) it came in"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="the client's data directory: --keys defaults to DIR/keys, "
        "--sender-key to the hub key pinned at enrolment",
    )
    parser.add_argument("--keys", type=Path, help="this agency's key directory")
    parser.add_argument(
        "--sender-key",
        metavar="B64",
        help="the sender's (hub's) Ed25519 identity key, base64url",
    )
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Open the envelope with whichever stored key it was sealed to; print the payload."""
    sender = _sender_key(args)
    key_dir = args.keys or (datadir.DataDir(args.dir).keys.path if args.dir else None)
    if key_dir is None:
        raise ProtocolError("give --keys (or --dir)", code="bad-argument")
    try:
        with args.file.open("rb") as handle:
            data = handle.read(2 * wire.MAX_ENVELOPE_BYTES + 1)
    except OSError as exc:
        raise ProtocolError(f"cannot read {args.file}: {exc.strerror}") from None
    envelope = wire.parse_envelope(_envelope_bytes(data))
    keys = keystore.KeyDirectory(key_dir).encryption_keys(passphrase.read(args))
    key = keys.get(envelope.header.recipient_key)
    if key is None:
        raise InvalidEnvelope()
    opened = sealing.open_envelope(envelope, recipient=key, sender=sender)
    header = opened.header
    content = rendered.content_of(header.type, opened.payload)  # a rendered message: its document
    kind = header.type if content.format == "json" else f"{content.message_type} ({content.format})"
    print(
        f"# {kind} {header.id} from {header.sender} at {header.sent_at}"
        f"{' case ' + header.case_ref if header.case_ref else ''}",
        file=sys.stderr,
    )
    print(json.dumps(content.document, indent=2, ensure_ascii=False))
    return 0


def _envelope_bytes(data: bytes) -> bytes:
    """The envelope: the file itself, or the one ``marac-*.json`` attachment of a mail."""
    if data.lstrip()[:1] == b"{" or len(data) > 2 * wire.MAX_ENVELOPE_BYTES:
        return data  # JSON (or too large: parse_envelope refuses it)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    found = [
        part
        for part in mail.walk()
        if part.get_content_disposition() == "attachment"
        and (part.get_filename() or "").startswith("marac-")
    ]
    if len(found) != 1:
        raise ProtocolError("the file is neither an envelope nor a mail with one attached")
    payload = found[0].get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _sender_key(args: argparse.Namespace) -> IdentityPublicKey:
    """``--sender-key``, else the hub key pinned in ``--dir``'s store."""
    if args.sender_key is None:
        if args.dir is None:
            raise ProtocolError("give --sender-key (or --dir)", code="bad-argument")
        with datadir.DataDir(args.dir).open_store() as store:
            pinned = store.hub_key()
        if pinned is None:
            raise ProtocolError(f"{args.dir} has no pinned hub key", code="bad-argument")
        return pinned
    try:
        return crypto_keys.IdentityPublicKey.from_bytes(
            canonical.b64decode(args.sender_key, field="--sender-key")
        )
    except ValueError:
        raise ProtocolError("--sender-key is not an Ed25519 public key") from None
