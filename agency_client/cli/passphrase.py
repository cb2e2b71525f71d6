"""Where the CLI gets the key passphrase: a file, the environment, or a prompt.

A passphrase that protects new keys must be at least ``MIN_LENGTH`` characters with at
least ``MIN_DISTINCT`` different ones (a passphrase unlocking existing keys is taken as it
is). Without a terminal to prompt on, the command says how else to give it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any, Final

from hub.protocol.errors import CryptoError

__all__ = ["ENV", "MIN_DISTINCT", "MIN_LENGTH", "add_argument", "check_new", "read"]

ENV: Final = "AGENCY_CLIENT_PASSPHRASE"
MIN_LENGTH: Final = 12
MIN_DISTINCT: Final = 5
NO_TERMINAL: Final = (
    f"no terminal to ask for the passphrase: set {ENV} or use --passphrase-file FILE"
)


def add_argument(parser: Any) -> None:
    """Add ``--passphrase-file``."""
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"read the key passphrase from FILE (else ${ENV}, else a prompt)",
    )


def check_new(text: str) -> None:
    """Refuse a passphrase too weak to protect new keys."""
    if len(text) < MIN_LENGTH or len(set(text)) < MIN_DISTINCT:
        raise CryptoError(
            f"the passphrase is too weak: use at least {MIN_LENGTH} characters, "
            f"{MIN_DISTINCT} or more of them different (a few unrelated words will do)"
        )


def read(args: argparse.Namespace, *, confirm: bool = False) -> str:
    """The passphrase, from ``--passphrase-file``, ``$AGENCY_CLIENT_PASSPHRASE`` or a prompt.

    ``confirm``: it will protect new keys, so it is asked twice and must be strong.
    """
    if args.passphrase_file is not None:
        try:
            text: str = args.passphrase_file.read_text().rstrip("\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise CryptoError(f"cannot read passphrase file: {reason}") from None
    elif os.environ.get(ENV):
        text = os.environ[ENV]
    else:
        text = _prompt("Key passphrase: ")
        if confirm and _prompt("Repeat passphrase: ") != text:
            raise CryptoError("the passphrases differ")
    if not text:
        raise CryptoError("the passphrase is empty")
    if confirm:
        check_new(text)
    return text


def _prompt(label: str) -> str:
    """Ask on the terminal; a one-line error when there is none."""
    if not _has_terminal():
        raise CryptoError(NO_TERMINAL)
    try:
        return getpass.getpass(label)
    except EOFError:
        raise CryptoError(NO_TERMINAL) from None


def _has_terminal() -> bool:
    """True if getpass can ask without echo (the controlling terminal, or a tty stdin)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin is not None and sys.stdin.isatty()
    os.close(fd)
    return True
