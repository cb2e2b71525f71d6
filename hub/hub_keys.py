"""The hub's own keys in its data directory, each sealed under the hub passphrase."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

from hub.crypto.at_rest import KeyEncryptionKey
from hub.crypto.keyfile import read_key_file, write_key_file
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.protocol.envelope import SUITE_X25519
from hub.protocol.errors import CryptoError, HubError
from hub.settings import Settings

__all__ = ["HubKeys", "create_hub_keys", "load_hub_keys", "passphrase_for"]

IDENTITY = "hub-identity.key"
ENCRYPTION = "hub-encryption.key"
KEK = "hub-kek.key"
PASSPHRASE = "hub-passphrase"  # noqa: S105 - a file name


class HubKeys:
    """The hub's identity, encryption key and key-encryption key. Each may be given as a
    loader, called on first use: ``load_hub_keys`` opens a key file (an Argon2id
    derivation: half a second at the default strength) only when a command uses its key,
    so ``marac-hub log head`` opens the identity key alone."""

    __slots__ = ("_loaded", "_loaders")

    def __init__(
        self,
        identity: IdentityKeyPair | Callable[[], IdentityKeyPair],
        encryption: EncryptionKeyPair | Callable[[], EncryptionKeyPair],
        kek: KeyEncryptionKey | Callable[[], KeyEncryptionKey],
    ) -> None:
        self._loaded: dict[str, object] = {}
        self._loaders: dict[str, Callable[[], object]] = {}
        for name, given in (("identity", identity), ("encryption", encryption), ("kek", kek)):
            if isinstance(given, IdentityKeyPair | EncryptionKeyPair | KeyEncryptionKey):
                self._loaded[name] = given
            else:
                self._loaders[name] = given

    def _get(self, name: str) -> object:
        if name not in self._loaded:
            self._loaded[name] = self._loaders.pop(name)()
        return self._loaded[name]

    @property
    def identity(self) -> IdentityKeyPair:
        """The hub's Ed25519 identity key pair."""
        key = self._get("identity")
        assert isinstance(key, IdentityKeyPair)
        return key

    @property
    def encryption(self) -> EncryptionKeyPair:
        """The hub's own encryption key pair (what agencies seal to)."""
        key = self._get("encryption")
        assert isinstance(key, EncryptionKeyPair)
        return key

    @property
    def kek(self) -> KeyEncryptionKey:
        """The key-encryption key of the data keys at rest."""
        key = self._get("kek")
        assert isinstance(key, KeyEncryptionKey)
        return key


def passphrase_for(settings: Settings, *, create: bool = False) -> str:
    """The key passphrase: setting, passphrase file, or (made by ``init``) the data dir file."""
    if settings.key_passphrase:
        return settings.key_passphrase
    path = settings.key_passphrase_file or settings.data_dir / PASSPHRASE
    if create and settings.key_passphrase_file is None and not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        return path.read_text().strip()
    except OSError:
        raise HubError(
            f"no hub key passphrase: set MARAC_HUB_KEY_PASSPHRASE or create {path}",
            code="hub-error",
        ) from None


def create_hub_keys(settings: Settings) -> HubKeys:
    """Make and store new hub keys; refuse if the data directory already has them."""
    directory = settings.data_dir
    if (directory / IDENTITY).exists():
        raise HubError(f"{directory} already holds hub keys", code="hub-error")
    passphrase = passphrase_for(settings, create=True)
    strength = settings.key_file_strength
    keys = HubKeys(
        IdentityKeyPair.generate(), EncryptionKeyPair.generate(), KeyEncryptionKey.generate()
    )
    write_key_file(directory / IDENTITY, keys.identity, passphrase, strength=strength)
    write_key_file(directory / ENCRYPTION, keys.encryption, passphrase, strength=strength)
    # The KEK is 32 random bytes: it travels in an X25519-kind key file (same sealing).
    write_key_file(directory / KEK, _kek_as_key(keys.kek), passphrase, strength=strength)
    return keys


def _kek_as_key(kek: KeyEncryptionKey) -> EncryptionKeyPair:
    return EncryptionKeyPair(SUITE_X25519, kek.raw())


def load_hub_keys(settings: Settings, *, lazily: bool = False) -> HubKeys:
    """The hub keys (``CryptoError`` on a wrong passphrase). ``lazily`` (a command): each
    key file is opened when its key is first used, and a wrong passphrase fails then; the
    passphrase itself is read now. A server opens all three at start, to fail at once."""
    passphrase = passphrase_for(settings)
    directory = settings.data_dir

    def identity() -> IdentityKeyPair:
        key = read_key_file(directory / IDENTITY, passphrase)
        if not isinstance(key, IdentityKeyPair):
            raise CryptoError("hub key files are of the wrong kind", code="bad-key-file")
        return key

    def encryption() -> EncryptionKeyPair:
        return _encryption_kind(read_key_file(directory / ENCRYPTION, passphrase))

    def kek() -> KeyEncryptionKey:
        return KeyEncryptionKey(
            _encryption_kind(read_key_file(directory / KEK, passphrase)).private_bytes()
        )

    return HubKeys(identity, encryption, kek)


def _encryption_kind(key: object) -> EncryptionKeyPair:
    if not isinstance(key, EncryptionKeyPair):
        raise CryptoError("hub key files are of the wrong kind", code="bad-key-file")
    return key
