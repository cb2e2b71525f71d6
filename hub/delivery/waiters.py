"""Wake long-polls the moment something is queued for their agency."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["Waiters"]


class Waiters:
    """One event per waiting poll, grouped by agency.

    Rows queued by another process (the CLI, another hub) are not seen here; pollers
    therefore also re-check the database at ``recheck`` intervals while they wait.
    """

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, agency_ids: Iterable[str]) -> None:
        """Wake every poll waiting for any of ``agency_ids``."""
        for agency_id in agency_ids:
            for event in self._events.get(agency_id, ()):
                event.set()

    async def wait(self, agency_id: str, timeout: float) -> bool:
        """Wait until notified for ``agency_id`` or ``timeout``; True if notified."""
        event = asyncio.Event()
        self._events[agency_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._events[agency_id].discard(event)
            if not self._events[agency_id]:
                del self._events[agency_id]
