"""The database as the hub holds it: :class:`Database`, opened once by the composition root
(:func:`open_database`) and passed in.

It holds the engine, on which the domain reads (``connect()``) and writes (``begin()``),
and the mailbox store (:mod:`hub.storage.mailbox`) of the agency-facing hot path, chosen
here once for SQLite or PostgreSQL. What else differs between the two is a capability
the composition root asks for (:attr:`Database.shared`, :meth:`Database.checkpointer`),
never a dialect it checks.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.protocol.errors import HubError
from hub.storage.checkpoints import WalCheckpointer
from hub.storage.engine import SQLiteEngine, create_engine
from hub.storage.mailbox import MailboxStore
from hub.storage.mailbox.sqlite import SQLiteMailbox

__all__ = ["Database", "open_database"]


class Database:
    """One open database: its engine, its mailbox store, and what it can do."""

    def __init__(
        self,
        engine: AsyncEngine,
        mailbox: MailboxStore,
        *,
        shared: bool,
        checkpoints: str | None = None,
    ) -> None:
        self.engine = engine
        self.mailbox = mailbox
        # Several hub processes may serve from it at once (PostgreSQL): they tell each
        # other of new envelopes (LISTEN/NOTIFY) and elect one head signer.
        self.shared = shared
        self._checkpoints = checkpoints  # a SQLite file whose WAL the server checkpoints

    def checkpointer(self) -> WalCheckpointer | None:
        """The WAL checkpointer the server runs beside this database, if it needs one."""
        return None if self._checkpoints is None else WalCheckpointer(self._checkpoints)

    async def dispose(self) -> None:
        """Close the mailbox store's connections and the engine's."""
        self.mailbox.close()
        await self.engine.dispose()


def open_database(url: str, *, background_checkpoints: bool = False) -> Database:
    """Open the database at ``url`` (SQLite file or PostgreSQL on asyncpg) with the mailbox
    store for it. ``background_checkpoints``: SQLite leaves WAL checkpoints to the
    :meth:`Database.checkpointer` the caller runs (the server does)."""
    engine = create_engine(url, background_checkpoints=background_checkpoints)
    if isinstance(engine, SQLiteEngine):
        if engine.file is None:
            raise HubError("the hub keeps its data in a SQLite file or PostgreSQL, not in memory")
        checkpoints = engine.file if background_checkpoints else None
        return Database(engine, SQLiteMailbox(engine), shared=False, checkpoints=checkpoints)
    if engine.dialect.driver != "asyncpg":
        raise HubError("PostgreSQL is reached through asyncpg (postgresql+asyncpg://…)")
    from hub.storage.mailbox.postgres import PostgresMailbox  # noqa: PLC0415 (asyncpg: not on SQLite)

    return Database(engine, PostgresMailbox(engine), shared=True)
