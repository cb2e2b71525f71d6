"""An agency's keys on disk: its identity and its encryption keys, each passphrase-sealed.

Layout of the key directory::

    identity.key              Ed25519 identity (who the agency is)
    encryption-<fp16>.key     X25519 or hybrid encryption keys, one per rotation

Public halves and fingerprints are readable without the passphrase; private halves
need it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from hub.crypto.keyfile import STRENGTHS, Strength, read_key_file, write_key_file
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.protocol.envelope import SUITE_X25519
from hub.protocol.errors import CryptoError

__all__ = ["STRENGTH_VARIABLE", "KeyDirectory", "PublicKeyInfo", "key_strength"]

IDENTITY_FILE = "identity.key"
STRENGTH_VARIABLE = "AGENCY_CLIENT_KEY_STRENGTH"


def key_strength() -> Strength:
    """How hard new key files make a passphrase to guess (Argon2id's cost, as the hub's
    ``key_file_strength``): ``AGENCY_CLIENT_KEY_STRENGTH``, one of interactive, moderate
    (the default: about half a second to open a key) or sensitive. Keys already written
    keep the cost they were sealed with."""
    value = os.environ.get(STRENGTH_VARIABLE) or "moderate"
    if value not in STRENGTHS:
        raise CryptoError(
            f"{STRENGTH_VARIABLE} must be one of {', '.join(STRENGTHS)}", code="malformed"
        )
    strength: Strength = value  # type: ignore[assignment]
    return strength


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """What a key file says of its public half."""

    path: Path
    kind: str
    fingerprint: str


class KeyDirectory:
    """The folder that holds one agency's key files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        """True if an identity key has been made here."""
        return (self.path / IDENTITY_FILE).is_file()

    def create(
        self, passphrase: str, *, suite: str = SUITE_X25519, strength: Strength | None = None
    ) -> tuple[IdentityKeyPair, EncryptionKeyPair]:
        """Make a new identity and a first encryption key (at ``key_strength()`` unless
        ``strength`` is given); refuse to overwrite."""
        if self.exists():
            raise CryptoError(f"{self.path} already holds an identity key", code="bad-key-file")
        strength = strength or key_strength()
        identity = IdentityKeyPair.generate()
        encryption = EncryptionKeyPair.generate(suite)
        write_key_file(self.path / IDENTITY_FILE, identity, passphrase, strength=strength)
        self.add_encryption_key(encryption, passphrase, strength=strength)
        return identity, encryption

    def add_encryption_key(
        self, key: EncryptionKeyPair, passphrase: str, *, strength: Strength | None = None
    ) -> Path:
        """Store a (rotated) encryption key (at ``key_strength()`` unless given)."""
        path = self.encryption_key_path(key.fingerprint)
        write_key_file(path, key, passphrase, strength=strength or key_strength())
        return path

    def encryption_key_path(self, fingerprint: str) -> Path:
        """Where the encryption key with ``fingerprint`` is (or would be) stored."""
        return self.path / f"encryption-{fingerprint[:16]}.key"

    def destroy_encryption_key(self, fingerprint: str) -> bool:
        """Delete a retired encryption key's file; False if it was already gone.

        The file holds the private key only encrypted, and a deleted file is not
        recoverable through this client; forward secrecy rests on the passphrase and
        the file being gone, not on overwriting blocks a filesystem may have copied.
        """
        path = self.encryption_key_path(fingerprint)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self.path)
        return True

    def identity(self, passphrase: str) -> IdentityKeyPair:
        """Load the identity key."""
        key = read_key_file(self.path / IDENTITY_FILE, passphrase)
        if not isinstance(key, IdentityKeyPair):
            raise CryptoError("identity.key does not hold an identity key", code="bad-key-file")
        return key

    def encryption_key(self, fingerprint: str, passphrase: str) -> EncryptionKeyPair:
        """Load one encryption key by fingerprint."""
        path = self.encryption_key_path(fingerprint)
        key = read_key_file(path, passphrase)
        if not isinstance(key, EncryptionKeyPair) or key.fingerprint != fingerprint:
            raise CryptoError(f"{path.name} does not hold that encryption key", code="bad-key-file")
        return key

    def encryption_keys(self, passphrase: str) -> dict[str, EncryptionKeyPair]:
        """Every stored encryption key, by fingerprint."""
        keys: dict[str, EncryptionKeyPair] = {}
        for path in sorted(self.path.glob("encryption-*.key")):
            key = read_key_file(path, passphrase)
            if not isinstance(key, EncryptionKeyPair):
                raise CryptoError(
                    f"{path.name} does not hold an encryption key", code="bad-key-file"
                )
            keys[key.fingerprint] = key
        return keys

    def public_info(self) -> list[PublicKeyInfo]:
        """Kinds and fingerprints of every key file, without the passphrase."""
        infos = []
        for path in [self.path / IDENTITY_FILE, *sorted(self.path.glob("encryption-*.key"))]:
            try:
                meta = json.loads(path.read_bytes())
                infos.append(PublicKeyInfo(path, str(meta["kind"]), str(meta["fingerprint"])))
            except (OSError, ValueError, KeyError, TypeError):
                raise CryptoError(f"cannot read key file {path}", code="bad-key-file") from None
        return infos


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename or a deletion) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
