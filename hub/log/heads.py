"""Signed tree heads: sign the log's current size, keep every head, serve the newest.

One signer at a time (a PostgreSQL advisory lock; SQLite's write lock). A head is only
signed when the log has grown past the newest one. ``HeadSigner`` is the serving
process's background task; ``sign_for_cli`` is for commands that append and then exit.

With several hub processes on one PostgreSQL database, one of them leads: its
``HeadSigner`` holds a session advisory lock (``LEADER_LOCK``) on a connection of its
own and is the only one that polls the log and signs in the background; the others try
for the lock every few seconds and take over when the leader's connection goes.
(``head_covering`` may still sign on demand in any process, under ``SIGN_LOCK``.)

With each head the hub signs its C2SP checkpoint (``hub.crypto.checkpoint``: origin
``marac-hub.<hub id>/log``, size, root) and stores the note in ``log_heads.checkpoint``;
``newest_checkpoint`` serves it (signing one for a head from before migration 0016).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.crypto.checkpoint import Checkpoint, checkpoint_origin, sign_checkpoint
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import SignedTreeHead, sign_tree_head
from hub.hub_keys import load_hub_keys
from hub.log.store import root, size
from hub.log.tables import log_heads
from hub.settings import Settings
from hub.storage.sql import release_session_lock, serialise, try_session_lock

__all__ = [
    "HeadSigner",
    "head_covering",
    "head_from_row",
    "checkpoint_note",
    "latest_head",
    "newest_checkpoint",
    "sign_for_cli",
    "sign_head",
]

SIGN_LOCK: Final = 0x6D617261635F6864  # "marac_hd"
LEADER_LOCK: Final = 0x6D617261635F6C64  # "marac_ld": held by the background signer
log = logging.getLogger("hub.log")


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def head_from_row(log_id: str, row: Any) -> SignedTreeHead:
    """A stored head as a ``SignedTreeHead`` of the log named ``log_id``."""
    return SignedTreeHead(
        log_id, int(row.size), bytes(row.root), _aware(row.timestamp), bytes(row.signature)
    )


async def latest_head(conn: AsyncConnection, log_id: str) -> SignedTreeHead | None:
    """The newest signed head, if any."""
    row = (await conn.execute(select(log_heads).order_by(log_heads.c.id.desc()).limit(1))).first()
    return None if row is None else head_from_row(log_id, row)


def checkpoint_note(identity: IdentityKeyPair, log_id: str, size: int, root: bytes) -> str:
    """The checkpoint of the log ``log_id`` at ``size``, signed by the hub, as note text."""
    checkpoint = Checkpoint(checkpoint_origin(log_id), size, root)
    return sign_checkpoint(identity, checkpoint).encode().decode("utf-8")


async def newest_checkpoint(
    engine: AsyncEngine, identity: IdentityKeyPair, log_id: str
) -> tuple[int, SignedTreeHead, str] | None:
    """The newest head (its row id, the head, its checkpoint note), if any; a head signed
    before checkpoints were gets its checkpoint signed and stored now."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(log_heads).order_by(log_heads.c.id.desc()).limit(1))
        ).first()
    if row is None:
        return None
    head = head_from_row(log_id, row)
    if row.checkpoint is not None:
        return int(row.id), head, str(row.checkpoint)
    note = checkpoint_note(identity, log_id, head.size, head.root)
    async with engine.begin() as conn:
        await conn.execute(
            log_heads.update()
            .where(log_heads.c.id == row.id, log_heads.c.checkpoint.is_(None))
            .values(checkpoint=note)
        )
    return int(row.id), head, note


async def sign_head(
    engine: AsyncEngine, identity: IdentityKeyPair, log_id: str, *, now: datetime | None = None
) -> SignedTreeHead:
    """Sign a head for the log's current size (or return the newest if it already covers it)."""
    async with engine.begin() as conn:
        await serialise(conn, SIGN_LOCK)
        newest = await latest_head(conn, log_id)
        current = await size(conn)
        if newest is not None and newest.size >= current:
            return newest
        head = sign_tree_head(
            identity, log_id, current, await root(conn, current), now or datetime.now(UTC)
        )
        await conn.execute(
            log_heads.insert().values(
                size=head.size,
                root=head.root,
                timestamp=head.timestamp,
                signature=head.signature,
                checkpoint=checkpoint_note(identity, log_id, head.size, head.root),
            )
        )
    return head


async def head_covering(
    engine: AsyncEngine,
    identity: IdentityKeyPair | Callable[[], IdentityKeyPair],
    log_id: str,
    tree_size: int = 0,
) -> SignedTreeHead:
    """The newest head, signing one first if none covers ``tree_size`` entries yet
    (``identity`` may be a loader: a command opens the key file only to sign)."""
    async with engine.connect() as conn:
        newest = await latest_head(conn, log_id)
    if newest is not None and newest.size >= tree_size:
        return newest
    key = identity if isinstance(identity, IdentityKeyPair) else identity()
    return await sign_head(engine, key, log_id)


async def sign_for_cli(engine: AsyncEngine, settings: Settings) -> SignedTreeHead:
    """For a command that appended: load the hub identity and sign a head before exiting."""
    keys = load_hub_keys(settings, lazily=True)  # the identity key alone is opened
    return await sign_head(engine, keys.identity, settings.hub_id)


class HeadSigner:
    """Signs a head soon after entries are appended (polls the size cheaply)."""

    def __init__(
        self,
        engine: AsyncEngine,
        identity: IdentityKeyPair,
        log_id: str,
        *,
        interval: float = 0.2,
        shared: bool = False,
    ) -> None:
        self._engine, self._identity, self._log_id = engine, identity, log_id
        self._interval = interval
        self._shared = shared  # other processes serve from the database: one leads
        self._signed = -1

    async def step(self) -> SignedTreeHead | None:
        """Sign if the log grew since the last head this signer saw; return the new head."""
        async with self._engine.connect() as conn:
            current = await size(conn)
            if self._signed < 0:
                newest = await latest_head(conn, self._log_id)
                self._signed = -1 if newest is None else newest.size
        if current <= self._signed:
            return None
        head = await sign_head(self._engine, self._identity, self._log_id)
        self._signed = head.size
        return head

    async def run(self) -> None:
        """Sign every ``interval`` seconds (coalescing appends) until cancelled; on a
        shared database only while this process leads (see the module docstring)."""
        if not self._shared:
            await self._loop()
            return
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the head signer lost its leader connection; trying again")
            await asyncio.sleep(self.follow_interval)

    follow_interval = 2.0
    leading = False

    async def _lead(self) -> None:
        """Sign while holding ``LEADER_LOCK`` on a connection of our own; return if not won."""
        async with self._engine.connect() as conn:
            if not await try_session_lock(conn, LEADER_LOCK):
                return
            self.leading = True
            try:
                while True:
                    await asyncio.sleep(self._interval)
                    await conn.execute(text("SELECT 1"))  # still connected, so still leading
                    await conn.commit()
                    try:
                        await self.step()
                    except Exception:
                        log.exception("signing a tree head failed")
            finally:
                self.leading = False
                with contextlib.suppress(Exception):  # a pooled session would keep the lock
                    await release_session_lock(conn, LEADER_LOCK)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.step()
            except Exception:
                log.exception("signing a tree head failed")
