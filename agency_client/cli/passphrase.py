"""Where the CLI gets the key passphrase: a file, the environment, or a prompt."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path
from typing import Any

from hub.protocol.errors import CryptoError

ENV = "AGENCY_CLIENT_PASSPHRASE"


def add_argument(parser: Any) -> None:
    """Add ``--passphrase-file``."""
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"read the key passphrase from FILE (else ${ENV}, else a prompt)",
    )


def read(args: argparse.Namespace, *, confirm: bool = False) -> str:
    """The passphrase, from ``--passphrase-file``, ``$AGENCY_CLIENT_PASSPHRASE`` or a prompt."""
    if args.passphrase_file is not None:
        try:
            text: str = args.passphrase_file.read_text().rstrip("\n")
        except OSError as exc:
            raise CryptoError(f"cannot read passphrase file: {exc.strerror}") from None
    elif os.environ.get(ENV):
        text = os.environ[ENV]
    else:
        text = getpass.getpass("Key passphrase: ")
        if confirm and getpass.getpass("Repeat passphrase: ") != text:
            raise CryptoError("the passphrases differ")
    if not text:
        raise CryptoError("the passphrase is empty")
    return text
