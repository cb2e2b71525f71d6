"""Wake long-polls the moment something is queued for their agency.

In one process, :meth:`Waiters.notify` sets the events of the polls waiting for an
agency. On PostgreSQL, :meth:`Waiters.listen` also keeps a ``LISTEN`` connection: a
trigger on ``outbox`` (migration 0010) sends ``NOTIFY marac_mailbox, '<agency ids>'``
when a transaction that queued envelopes commits, whichever process (another hub, the
CLI) queued them, so polls anywhere are woken within a round trip. Pollers still look
again every :attr:`Waiters.recheck` seconds: 1 s without a listener (SQLite: rows the CLI
queues), 10 s with one (a safety net if a notification is ever lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["CHANNEL", "Waiters"]

CHANNEL: Final = "marac_mailbox"
WAKE_ALL: Final = "*"  # the trigger's payload when the ids would not fit in one NOTIFY
log = logging.getLogger("hub.delivery")


class Waiters:
    """One event per waiting poll, grouped by agency."""

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.listening = False

    @property
    def recheck(self) -> float:
        """How long a poll waits before it looks at the database again anyway."""
        return 10.0 if self.listening else 1.0

    def notify(self, agency_ids: Iterable[str]) -> None:
        """Wake every poll waiting for any of ``agency_ids`` (``"*"``: every poll)."""
        for agency_id in agency_ids:
            if agency_id == WAKE_ALL:
                for events in self._events.values():
                    for event in events:
                        event.set()
                continue
            for event in self._events.get(agency_id, ()):
                event.set()

    @contextlib.contextmanager
    def subscription(self, agency_id: str) -> Iterator[asyncio.Event]:
        """An event set by every notification for ``agency_id`` while the block runs.

        Subscribe *before* looking at the database, clear the event before each look:
        a notification that lands between the look and the wait is then not lost.
        """
        event = asyncio.Event()
        self._events[agency_id].add(event)
        try:
            yield event
        finally:
            self._events[agency_id].discard(event)
            if not self._events[agency_id]:
                del self._events[agency_id]

    async def wait(self, agency_id: str, timeout: float) -> bool:
        """Wait until notified for ``agency_id`` or ``timeout``; True if notified."""
        with self.subscription(agency_id) as event:
            return await wait_for_event(event, timeout)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notify(payload.split(","))

    async def listen(self, engine: AsyncEngine, *, retry: float = 1.0) -> None:
        """Relay PostgreSQL notifications to :meth:`notify` until cancelled (reconnects)."""
        while True:
            try:
                async with engine.connect() as conn:
                    raw: Any = (await conn.get_raw_connection()).driver_connection
                    lost = asyncio.Event()
                    raw.add_termination_listener(lambda _c, lost=lost: lost.set())
                    await raw.add_listener(CHANNEL, self._on_notify)
                    self.listening = True
                    self.notify([WAKE_ALL])  # anything queued while not listening
                    try:
                        await lost.wait()
                    finally:
                        self.listening = False
                        if not raw.is_closed():
                            with contextlib.suppress(Exception):
                                await raw.remove_listener(CHANNEL, self._on_notify)
                log.warning("mailbox notifications lost their connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for mailbox notifications failed; retrying")
            await asyncio.sleep(retry)


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
