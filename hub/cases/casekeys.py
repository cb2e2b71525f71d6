"""Each case's data key: made at referral, wrapped by the KEK, destroyed at retention.

Every encrypted value is bound (AEAD associated data) to its case ref and field name.
Other modules store case-related text through :func:`encrypt_for_case` so that
destroying the case key destroys their text too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.tables import case_keys
from hub.crypto.at_rest import DataKeyRing
from hub.hub_keys import HubKeys
from hub.protocol.errors import CryptoError, HubError

__all__ = [
    "decrypt_for_case",
    "encrypt_for_case",
    "key_ring",
    "new_case_key",
    "store_case_key",
]


def new_case_key(keys: HubKeys, ref: str) -> tuple[DataKeyRing, bytes]:
    """A fresh data key for ``ref``: a ring holding it, and its KEK-wrapped form to store."""
    store: dict[str, bytes] = {}
    ring = DataKeyRing(keys.kek, store)
    ring.create(ref)
    return ring, store[ref]


async def store_case_key(conn: AsyncConnection, ref: str, wrapped: bytes, now: datetime) -> None:
    """Keep the wrapped key of a case just inserted."""
    await conn.execute(case_keys.insert().values(case_ref=ref, wrapped=wrapped, created_at=now))


async def key_ring(conn: AsyncConnection, keys: HubKeys, ref: str) -> DataKeyRing:
    """A ring with ``ref``'s key: ``not-found`` if no such case, ``key-destroyed`` if shredded."""
    row = (
        await conn.execute(select(case_keys.c.wrapped).where(case_keys.c.case_ref == ref))
    ).first()
    if row is None:
        raise HubError("no such case", code="not-found")
    if row.wrapped is None:
        raise CryptoError("the case's data key was destroyed", code="key-destroyed")
    return DataKeyRing(keys.kek, {ref: bytes(row.wrapped)})


async def encrypt_for_case(
    conn: AsyncConnection, keys: HubKeys, ref: str, field: str, plaintext: bytes
) -> bytes:
    """Encrypt ``plaintext`` under the case key, bound to ``ref`` and ``field``."""
    return (await key_ring(conn, keys, ref)).encrypt(ref, field, plaintext)


async def decrypt_for_case(
    conn: AsyncConnection, keys: HubKeys, ref: str, field: str, blob: bytes
) -> bytes:
    """Decrypt a value stored by :func:`encrypt_for_case` (``key-destroyed`` after retention)."""
    return (await key_ring(conn, keys, ref)).decrypt(ref, field, blob)
