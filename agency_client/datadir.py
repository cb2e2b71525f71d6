"""The client's data directory: ``DIR/keys/`` (the key directory) and ``DIR/store.sqlite3``."""

from __future__ import annotations

from pathlib import Path

from agency_client.keystore import KeyDirectory
from agency_client.store import STORE_FILE, Store, StoreError, derive_store_key
from hub.crypto.keys import IdentityKeyPair

__all__ = ["DataDir"]


class DataDir:
    """One agency's client data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys = KeyDirectory(path / "keys")

    @property
    def store_path(self) -> Path:
        """Where the store lives."""
        return self.path / STORE_FILE

    def open_store(self, identity: IdentityKeyPair | None = None, *, create: bool = False) -> Store:
        """Open the store, with its key if ``identity`` is given (needed for bodies)."""
        if not create and not self.store_path.is_file():
            raise StoreError(f"{self.path} has no store: run 'agency-client enrol' first")
        return Store(self.store_path, derive_store_key(identity) if identity else None)

    def enrolled(self) -> bool:
        """True once enrolment has recorded the agency id."""
        if not self.store_path.is_file():
            return False
        with self.open_store() as store:
            return store.config("agency_id") is not None

    def unlock(self, passphrase: str) -> tuple[IdentityKeyPair, Store]:
        """The identity key and the store opened with its key."""
        identity = self.keys.identity(passphrase)
        return identity, self.open_store(identity)
