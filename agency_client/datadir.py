"""The client's data directory: ``DIR/keys/`` (the key directory) and ``DIR/store.sqlite3``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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

    @contextmanager
    def run_lock(self) -> Iterator[None]:
        """Hold ``DIR/run.lock``: one ``run`` per data directory, or a sink could see a
        message twice (both runners reading it as not yet handed)."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                _lock(fd)
            except OSError:
                raise StoreError(
                    f"another 'agency-client run' is using {self.path}", code="busy"
                ) from None
            yield
        finally:
            os.close(fd)  # releases the lock

    def unlock(self, passphrase: str) -> tuple[IdentityKeyPair, Store]:
        """The identity key and the store opened with its key."""
        identity = self.keys.identity(passphrase)
        return identity, self.open_store(identity)


def _lock(fd: int) -> None:
    """An exclusive, non-blocking lock on an open file; OSError if another process holds it."""
    if sys.platform == "win32":
        import msvcrt  # noqa: PLC0415

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl  # noqa: PLC0415

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
