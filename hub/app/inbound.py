"""An agency's sealed message to the hub (a research response, an action update).

Not a staff use-case: the agency is authenticated by its request signature, and the
message's own checks (sender, recipient, type, idempotence) are ``hub.inbound``'s.
"""

from __future__ import annotations

from hub.agencies import Agency
from hub.app.runtime import Runtime
from hub.inbound import InboundContext
from hub.inbound.receive import Received, receive
from hub.protocol.envelope import Envelope

__all__ = ["Received", "receive_message"]


async def receive_message(rt: Runtime, agency: Agency, envelope: Envelope) -> Received:
    """Open ``envelope`` from ``agency`` and hand it to its type's handler (``already``:
    it was handled before, nothing done now)."""
    now = rt.clock()
    return await receive(
        rt.engine,
        InboundContext(rt.keys, rt.settings, now),
        hub_id=rt.settings.hub_id,
        hub_key=rt.keys.encryption,
        agency=agency,
        envelope=envelope,
        now=now,
    )
