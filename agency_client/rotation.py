"""Encryption-key rotation: make, announce, and destroy the agency's X25519/hybrid keys.

**Rotation.** When the newest key is ``every`` old (default 7 days), the client makes a
new key of the same suite, records it in the store, writes it (passphrase-sealed) to
the key directory and announces it, signed, to the hub; from then on the hub seals to
it. A key that was recorded but not yet announced (a crash, the hub down) is announced
on the next cycle; one whose file was still not written an hour later is forgotten.

**Destruction.** An older key's private file is deleted once *both*:

1. a newer key has been announced (the hub seals nothing new to the old key), and
2. a mailbox poll that *started* at least ``grace`` (default 5 minutes) after that
   announcement came back *empty*.

The hub's mailbox holds every unacknowledged, unexpired envelope for the agency, so an
empty answer means every envelope ever sealed to the old key has been acknowledged (or
has expired at the hub): the key can open nothing the client still needs, and stored
messages are re-encrypted under the store key. The grace covers a sealing transaction
at the hub that read the old key just before the announcement committed. Only an
*empty* poll counts, not a short batch without the old key, so the rule holds even if
a hub returns fewer envelopes than asked for. An envelope that never opens is never
acknowledged and so holds older keys back until it expires at the hub (the hub alerts
the coordinator then): a delay, never a loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from agency_client.hub_client import Clock, HubClient, HubResponseError, utc_now
from agency_client.keystore import KeyDirectory
from agency_client.store import KeyRecord, Store
from hub.crypto.announce import DEFAULT_VALIDITY
from hub.crypto.keyfile import Strength
from hub.crypto.keys import EncryptionKeyPair
from hub.protocol.errors import CryptoError

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_ROTATION",
    "KeyRotation",
    "current_key",
    "retirable",
    "rotation_due",
]

log = logging.getLogger(__name__)

DEFAULT_ROTATION: Final = timedelta(days=7)
DEFAULT_GRACE: Final = timedelta(minutes=5)
ABANDONED: Final = timedelta(hours=1)


def current_key(keys: Sequence[KeyRecord]) -> KeyRecord | None:
    """The newest announced, undestroyed key: the one the hub seals to."""
    live = [k for k in keys if k.announced_at is not None and k.destroyed_at is None]
    return max(live, key=lambda k: (k.created_at, k.fingerprint), default=None)


def rotation_due(keys: Sequence[KeyRecord], now: datetime, every: timedelta) -> bool:
    """True when the newest live key (announced or not) is at least ``every`` old."""
    live = [k for k in keys if k.destroyed_at is None]
    newest = max((k.created_at for k in live), default=None)
    return newest is not None and now - newest >= every


def retirable(
    keys: Sequence[KeyRecord],
    *,
    poll_started: datetime,
    poll_empty: bool,
    grace: timedelta = DEFAULT_GRACE,
) -> list[str]:
    """Fingerprints of keys that may now be destroyed (see the module's rule)."""
    current = current_key(keys)
    if current is None or current.announced_at is None or not poll_empty:
        return []
    if poll_started < current.announced_at + grace:
        return []
    return [
        k.fingerprint
        for k in keys
        if k.destroyed_at is None
        and (k.created_at, k.fingerprint) < (current.created_at, current.fingerprint)
    ]


class KeyRotation:
    """Applies the rotation rules to one agency's key directory, store and hub."""

    def __init__(
        self,
        client: HubClient,
        store: Store,
        directory: KeyDirectory,
        passphrase: str,
        *,
        every: timedelta = DEFAULT_ROTATION,
        grace: timedelta = DEFAULT_GRACE,
        strength: Strength | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.client = client
        self.store = store
        self.directory = directory
        self.passphrase = passphrase
        self.every = every
        self.grace = grace
        self.strength: Strength | None = strength  # None: the directory's key_strength()
        self.clock = clock
        self.keys: dict[str, EncryptionKeyPair] = {}

    @property
    def valid_for(self) -> timedelta:
        """How long an announcement is valid: two rotations, and at least the default."""
        return max(DEFAULT_VALIDITY, 2 * self.every)

    async def load(self) -> dict[str, EncryptionKeyPair]:
        """Decrypt every private key in the key directory (needed to open envelopes)."""
        self.keys = await asyncio.to_thread(self.directory.encryption_keys, self.passphrase)
        return self.keys

    async def key_for(self, fingerprint: str) -> EncryptionKeyPair | None:
        """The private key with ``fingerprint``, loading it if another process added it
        (``agency-client keys rotate`` while ``run`` is running); None if not held."""
        key = self.keys.get(fingerprint)
        if key is None and self.directory.encryption_key_path(fingerprint).is_file():
            key = await asyncio.to_thread(
                self.directory.encryption_key, fingerprint, self.passphrase
            )
            self.keys[fingerprint] = key
        return key

    async def maintain(self) -> str | None:
        """Announce keys left unannounced; rotate if due. The new key's fingerprint, or None."""
        records = await asyncio.to_thread(self.store.key_records)
        for record in records:
            if record.announced_at is None and record.destroyed_at is None:
                await self._announce_pending(record)
        if rotation_due(records, self.clock(), self.every):
            return await self.rotate()
        return None

    async def rotate(self) -> str:
        """Make, store and announce a new key of the current key's suite."""
        current = current_key(await asyncio.to_thread(self.store.key_records))
        if current is None:
            raise CryptoError("no announced encryption key to rotate from: enrol first")
        key = EncryptionKeyPair.generate(current.suite)
        # Row first, then file: a row without a file is forgotten, never announced.
        await asyncio.to_thread(self.store.add_key, key.fingerprint, key.suite, self.clock(), None)
        await asyncio.to_thread(
            self.directory.add_encryption_key, key, self.passphrase, strength=self.strength
        )
        self.keys[key.fingerprint] = key
        await self._announce(key)
        log.info("rotated to encryption key %s", key.fingerprint[:16])
        return key.fingerprint

    async def retire(self, *, poll_started: datetime, poll_empty: bool) -> list[str]:
        """Destroy the keys :func:`retirable` allows; their fingerprints."""
        records = await asyncio.to_thread(self.store.key_records)
        doomed = retirable(
            records, poll_started=poll_started, poll_empty=poll_empty, grace=self.grace
        )
        for fingerprint in doomed:
            await asyncio.to_thread(self.directory.destroy_encryption_key, fingerprint)
            await asyncio.to_thread(self.store.mark_key_destroyed, fingerprint, self.clock())
            self.keys.pop(fingerprint, None)
            log.info("destroyed retired encryption key %s", fingerprint[:16])
        return doomed

    async def _announce_pending(self, record: KeyRecord) -> None:
        key = await self.key_for(record.fingerprint)
        if key is not None:
            await self._announce(key)
        elif self.clock() - record.created_at > ABANDONED:
            # The process that recorded it died before writing it. (A younger row may be
            # another process's rotation, between recording the key and writing its file.)
            await asyncio.to_thread(self.store.forget_key, record.fingerprint)

    async def _announce(self, key: EncryptionKeyPair) -> None:
        try:
            await self.client.announce_key(key.public, valid_for=self.valid_for)
        except HubResponseError as exc:
            if exc.code != "conflict":  # 409: the hub has it (a crash lost our record of it)
                raise
        await asyncio.to_thread(self.store.mark_key_announced, key.fingerprint, self.clock())
