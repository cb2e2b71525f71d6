"""The hub's data directory: whether ``marac-hub init`` made it, and keeping it private.

A module of its own, light to import: every command checks it before anything else.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from hub.crypto.keyfile import read_public_half
from hub.hub_keys import ENCRYPTION, IDENTITY, load_hub_keys
from hub.protocol.errors import HubError

if TYPE_CHECKING:
    from hub.settings import Settings

__all__ = [
    "PRIVATE_DIRECTORY",
    "hub_fingerprints",
    "is_initialised",
    "narrow",
    "private_data_dir",
    "require_initialised",
]


def is_initialised(settings: Settings) -> bool:
    """True if ``marac-hub init`` made the data directory (the hub's identity key is there)."""
    return (settings.data_dir / IDENTITY).exists()


def require_initialised(settings: Settings) -> None:
    """Refuse to run against a data directory ``marac-hub init`` has not made; narrow one
    an older hub left readable to its owner (0700)."""
    if not is_initialised(settings):
        raise HubError(
            f"{settings.data_dir} is not a hub data directory: run marac-hub init", code="not-found"
        )
    narrow(settings.data_dir)


PRIVATE_DIRECTORY = 0o700


def private_data_dir(settings: Settings) -> None:
    """Make the data directory if it is missing, and leave it the owner's alone (0700),
    whatever the umask (or the mode it was made with: an older hub's, a package's)."""
    directory = settings.data_dir
    directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    narrow(directory)


def narrow(directory: Path) -> None:
    """Leave ``directory`` its owner's alone (0700), if it is not already."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if directory.stat().st_mode & 0o777 != PRIVATE_DIRECTORY:
            directory.chmod(PRIVATE_DIRECTORY)


def hub_fingerprints(settings: Settings, *, check: bool = False) -> tuple[str, str, str]:
    """The identity key's fingerprint, the encryption key's suite and fingerprint, read
    from the key files' public halves (no passphrase, no database). ``check``: open all
    three key files with the passphrase instead, which fails (``CryptoError``) unless
    each holds the private key of the public half it names."""
    if check:
        keys = load_hub_keys(settings)
        return keys.identity.fingerprint, keys.encryption.suite, keys.encryption.fingerprint
    _, identity = read_public_half(settings.data_dir / IDENTITY)
    suite, encryption = read_public_half(settings.data_dir / ENCRYPTION)
    return identity, suite, encryption
