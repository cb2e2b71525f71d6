"""``mailbox`` (the default): the envelope waits in the hub's outbox; the agency client pulls.

Nothing is pushed: ``GET /api/v1/mailbox`` serves the queued envelopes and
``POST /api/v1/receipts`` acknowledges them (see ``docs/api.md``). The class exists so the
mailbox is chosen, listed and checked like every other transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from hub.adapters.transport import Delivered, Outgoing, check_keys, refuse_oversized
from hub.protocol.envelope import MAX_ENVELOPE_BYTES

__all__ = ["MailboxTransport"]


class MailboxTransport:
    """The agency fetches: the hub keeps the envelope queued until a signed receipt comes."""

    name: ClassVar[str] = "mailbox"
    kind: ClassVar[Literal["transport"]] = "transport"
    push: ClassVar[bool] = False
    max_bytes: int = MAX_ENVELOPE_BYTES

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The mailbox takes no settings."""
        check_keys(config, set(), set(), self.name)
        return {}

    async def deliver(self, outgoing: Outgoing, config: Mapping[str, Any]) -> Delivered:
        """Nothing to send: the envelope stays queued for the agency to fetch."""
        refuse_oversized(outgoing, self.max_bytes)
        self.check_config(config)
        return Delivered("queued for the agency to fetch")
