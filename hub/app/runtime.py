"""What every use-case runs with: the database, the hub's keys, settings, policy, a clock
and the delivery wake-up. Built once by the door's composition root and passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hub.hub_keys import HubKeys
from hub.policy.policy import Policy
from hub.settings import Settings
from hub.storage.database import Database

if TYPE_CHECKING:  # imported where used: a command that only reads need not load them
    from hub.disclosure import DisclosureContext
    from hub.log.store import ProofReader

__all__ = ["Runtime", "utc_now"]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _no_wake(_agency_ids: Iterable[str]) -> None:
    return None


class Runtime:
    """The running hub as the use-cases see it (not the aiohttp application).

    ``keys`` and ``policy`` may be given as loaders, called once on first use (a command
    that reads no case data never asks for the key passphrase). ``wake`` is called after a
    commit with the ids of agencies that have new envelopes (the API wakes their
    long-polls; a command needs nothing: a serving hub polls).
    """

    def __init__(
        self,
        database: Database,
        keys: HubKeys | Callable[[], HubKeys],
        settings: Settings,
        policy: Policy | Callable[[], Policy],
        *,
        wake: Callable[[Iterable[str]], None] = _no_wake,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database = database
        self.engine = database.engine  # what the domain reads and writes through
        self.mailbox = database.mailbox  # the agency-facing hot path's store
        self._proofs: ProofReader | None = None
        self.settings = settings
        self.wake = wake
        self.clock = clock
        self._keys = keys
        self._policy = policy

    @property
    def keys(self) -> HubKeys:
        """The hub's keys (loaded on first use)."""
        if not isinstance(self._keys, HubKeys):
            self._keys = self._keys()
        return self._keys

    @property
    def policy(self) -> Policy:
        """The disclosure policy (loaded on first use)."""
        if not isinstance(self._policy, Policy):
            self._policy = self._policy()
        return self._policy

    @property
    def proofs(self) -> ProofReader:
        """The log's proof reader (opened on first use, kept: it caches what it read)."""
        if self._proofs is None:
            from hub.log.store import ProofReader  # noqa: PLC0415 (see the imports)

            self._proofs = ProofReader(self.engine)
        return self._proofs

    def close(self) -> None:
        """Close what the runtime opened itself (the proof reader; the database is its
        opener's to close)."""
        if self._proofs is not None:
            self._proofs.close()
            self._proofs = None

    def context(self, now: datetime | None = None) -> DisclosureContext:
        """The disclosure context at ``now`` (default: the clock's now)."""
        from hub.disclosure import DisclosureContext  # noqa: PLC0415 (see the imports)

        return DisclosureContext(self.keys, self.settings, self.policy, now or self.clock())
