"""``agency-client open FILE``: verify and decrypt an envelope that arrived as a file."""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
from pathlib import Path
from typing import Any

from agency_client.cli import passphrase
from agency_client.datadir import DataDir
from agency_client.keystore import KeyDirectory
from agency_client.rendered import content_of
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.sealing import open_envelope
from hub.protocol.canonical import b64decode
from hub.protocol.envelope import MAX_ENVELOPE_BYTES, parse_envelope
from hub.protocol.errors import InvalidEnvelope, ProtocolError

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
    key_dir = args.keys or (DataDir(args.dir).keys.path if args.dir else None)
    if key_dir is None:
        raise ProtocolError("give --keys (or --dir)", code="bad-argument")
    try:
        with args.file.open("rb") as handle:
            data = handle.read(2 * MAX_ENVELOPE_BYTES + 1)
    except OSError as exc:
        raise ProtocolError(f"cannot read {args.file}: {exc.strerror}") from None
    envelope = parse_envelope(_envelope_bytes(data))
    keys = KeyDirectory(key_dir).encryption_keys(passphrase.read(args))
    key = keys.get(envelope.header.recipient_key)
    if key is None:
        raise InvalidEnvelope()
    opened = open_envelope(envelope, recipient=key, sender=sender)
    header = opened.header
    content = content_of(header.type, opened.payload)  # a rendered message: its document
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
    if data.lstrip()[:1] == b"{" or len(data) > 2 * MAX_ENVELOPE_BYTES:
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
        with DataDir(args.dir).open_store() as store:
            pinned = store.hub_key()
        if pinned is None:
            raise ProtocolError(f"{args.dir} has no pinned hub key", code="bad-argument")
        return pinned
    try:
        return IdentityPublicKey.from_bytes(b64decode(args.sender_key, field="--sender-key"))
    except ValueError:
        raise ProtocolError("--sender-key is not an Ed25519 public key") from None
